package main

import (
	"context"
	"fmt"
	"io"

	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/gateway/internal/config"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpapi"
)

const service = "gateway"

// run wires the gateway by hand: config → logger → registry → listeners.
// Subcommands: `config-doc`, `healthcheck`.
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	getenv := lifecycle.Getenv(environ)
	if len(args) > 0 {
		switch args[0] {
		case "config-doc":
			_, err := io.WriteString(stdout, config.Doc())
			return err
		case "healthcheck":
			return lifecycle.Healthcheck(ctx, config.HealthAddr(getenv))
		case "serve":
		default:
			return fmt.Errorf("unknown command %q (want serve, config-doc or healthcheck)", args[0])
		}
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := lifecycle.Start(stdout, service, cfg.Common, cfg, environ)
	reg := obs.NewRegistry(service)
	health := httpserve.NewHealth()
	var listeners []httpserve.Listener
	if cfg.LocalListen != config.Off {
		mux := mcpapi.LocalRoutes(health, reg)
		listeners = append(listeners, httpserve.Listener{
			Name: "local", Addr: cfg.LocalListen, Handler: httpserve.Handler(log, "local", obs.KeepValid, mux),
		})
	}
	if cfg.RemoteListen != config.Off {
		tokens := servicetoken.New(reg, service, string(cfg.Token), string(cfg.TokenPrevious))
		mux := mcpapi.RemoteRoutes(health, reg, tokens)
		listeners = append(listeners, httpserve.Listener{
			Name: "remote", Addr: cfg.RemoteListen, Handler: httpserve.Handler(log, "remote", obs.KeepValid, mux),
		})
	}
	return httpserve.Serve(ctx, log, health,
		httpserve.Shutdown{Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout}, listeners...)
}
