package main

import (
	"context"
	"fmt"
	"io"

	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/config"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/sandboxapi"
)

const service = "sandbox"

// run wires the sandbox by hand: config → logger → registry → API → listener.
// Subcommands: `config-doc` prints the configuration table, `healthcheck`
// probes the running service's /healthz.
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	getenv := lifecycle.Getenv(environ)
	if len(args) > 0 {
		switch args[0] {
		case "config-doc":
			_, err := io.WriteString(stdout, config.Doc())
			return err
		case "healthcheck":
			return lifecycle.Healthcheck(ctx, config.ListenAddr(getenv))
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
	tokens := servicetoken.New(reg, service, string(cfg.Token), string(cfg.TokenPrevious))
	health := httpserve.NewHealth()
	mux := sandboxapi.Routes(health, reg, tokens)
	return httpserve.Serve(ctx, log, health,
		httpserve.Shutdown{Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout},
		httpserve.Listener{
			Name: "main", Addr: cfg.Listen, Handler: httpserve.Handler(log, "main", obs.KeepValid, mux),
			// 330 s covers the longest execution plus margins (contracts.md §8).
			WriteTimeout: config.WriteTimeout,
		})
}
