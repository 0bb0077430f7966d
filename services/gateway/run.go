package main

import (
	"context"
	"io"

	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/gateway/internal/config"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpapi"
)

const service = "gateway"

// run is the gateway's command line: serve (default), config-doc, healthcheck.
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	return lifecycle.Service{ConfigDoc: config.Doc, HealthAddr: config.HealthAddr, Serve: serve}.Run(ctx, args, environ, stdout)
}

// serve wires the gateway by hand: config → logger → registry → listeners.
func serve(ctx context.Context, _, environ []string, stdout io.Writer) error {
	cfg, err := config.Load(lifecycle.Getenv(environ))
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
