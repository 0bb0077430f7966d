package main

import (
	"context"
	"fmt"
	"io"

	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/edge/internal/config"
	"github.com/mcpbox/mcpbox/services/edge/internal/edgeapi"
)

const service = "edge"

// run wires the edge by hand: config → logger → registry → public and admin
// listeners. Subcommands: `config-doc`, `healthcheck` (probes the admin
// listener, which serves /healthz).
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	getenv := lifecycle.Getenv(environ)
	if len(args) > 0 {
		switch args[0] {
		case "config-doc":
			_, err := io.WriteString(stdout, config.Doc())
			return err
		case "healthcheck":
			return lifecycle.Healthcheck(ctx, config.AdminAddr(getenv))
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
	return httpserve.Serve(ctx, log, health,
		httpserve.Shutdown{Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout},
		httpserve.Listener{
			Name: "public", Addr: cfg.Listen,
			// The edge is the first hop: it always mints the request id.
			Handler: httpserve.Handler(log, "public", obs.AlwaysNew, edgeapi.PublicRoutes(health)),
		},
		httpserve.Listener{
			Name: "admin", Addr: cfg.AdminListen,
			Handler: httpserve.Handler(log, "admin", obs.AlwaysNew, edgeapi.AdminRoutes(health, reg)),
		})
}
