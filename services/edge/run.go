package main

import (
	"context"
	"io"

	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/edge/internal/config"
	"github.com/mcpbox/mcpbox/services/edge/internal/edgeapi"
)

const service = "edge"

// run is the edge's command line: serve (default), config-doc, healthcheck
// (which probes the admin listener, the one that serves /healthz).
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	return lifecycle.Service{ConfigDoc: config.Doc, HealthAddr: config.AdminAddr, Serve: serve}.Run(ctx, args, environ, stdout)
}

// serve wires the edge by hand: config → logger → registry → public and
// admin listeners.
func serve(ctx context.Context, _, environ []string, stdout io.Writer) error {
	cfg, err := config.Load(lifecycle.Getenv(environ))
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
