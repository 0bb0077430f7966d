package main

import (
	"context"
	"io"

	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/config"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/lockdown"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/sandboxapi"
)

const service = "sandbox"

// command is the sandbox's command line: serve (default), config-doc,
// healthcheck, and the internal __selftest. workerExe is the executable
// re-run as a worker: /proc/self/exe in production; tests pass a non-race
// build (MCPBOX_SANDBOX_TEST_WORKER) or themselves.
func command(workerExe string) lifecycle.RunFunc {
	return lifecycle.Service{
		ConfigDoc: config.Doc, HealthAddr: config.ListenAddr,
		Serve: func(ctx context.Context, _, environ []string, stdout io.Writer) error {
			return serve(ctx, workerExe, environ, stdout)
		},
		Extra: map[string]lifecycle.Command{lockdown.SelfTestArg: selfTestCommand},
	}.Run
}

// serve wires the sandbox by hand: config → logger → registry → isolation
// self-test → API → listener.
func serve(ctx context.Context, workerExe string, environ []string, stdout io.Writer) error {
	cfg, err := config.Load(lifecycle.Getenv(environ))
	if err != nil {
		return err
	}
	log := lifecycle.Start(stdout, service, cfg.Common, cfg, environ)
	reg := obs.NewRegistry(service)
	if _, err := checkIsolation(ctx, log, reg, cfg, workerExe); err != nil {
		return err
	}
	tokens := servicetoken.New(reg, service, string(cfg.Token), string(cfg.TokenPrevious))
	broker, err := egress.New(egress.Config{Deny: cfg.EgressDeny, DNS: cfg.DNS}, reg, log)
	if err != nil {
		return err
	}
	health := httpserve.NewHealth()
	mux := sandboxapi.Routes(sandboxapi.Deps{
		Health: health, Reg: reg, Tokens: tokens, MaxMemoryMB: cfg.MaxMemoryMB, Broker: broker,
		Analyzer: analyze.New(reg, analyze.Options{BuildVersion: buildinfo.Version}),
	})
	return httpserve.Serve(ctx, log, health,
		httpserve.Shutdown{Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout},
		httpserve.Listener{
			Name: "main", Addr: cfg.Listen, Handler: httpserve.Handler(log, "main", obs.KeepValid, mux),
			// 330 s covers the longest execution plus margins (contracts.md §8).
			WriteTimeout: config.WriteTimeout,
		})
}
