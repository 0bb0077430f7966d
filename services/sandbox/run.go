package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/config"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/lockdown"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/mcpclient"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/pool"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/sandboxapi"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/worker"
)

const service = "sandbox"

// command is the sandbox's command line: serve (default), config-doc,
// healthcheck, and the internal __worker and __selftest. workerExe is the
// worker executable (workerExecutable in production); tests pass a non-race
// build (MCPBOX_SANDBOX_TEST_WORKER) or themselves.
func command(workerExe string) lifecycle.RunFunc {
	return lifecycle.Service{
		ConfigDoc: config.Doc, HealthAddr: config.ListenAddr,
		Serve: func(ctx context.Context, _, environ []string, stdout io.Writer) error {
			return serve(ctx, workerExe, environ, stdout)
		},
		Extra: map[string]lifecycle.Command{lockdown.SelfTestArg: selfTestCommand, worker.ProcessArg: workerCommand},
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
	isolation, err := checkIsolation(ctx, log, reg, cfg, workerExe)
	if err != nil {
		return err
	}
	tokens := servicetoken.New(reg, service, string(cfg.Token), string(cfg.TokenPrevious))
	e2eOpts, err := e2eEgressOptions(cfg, lifecycle.Getenv(environ))
	if err != nil {
		return err
	}
	broker, err := egress.New(egress.Config{Deny: cfg.EgressDeny, DNS: cfg.DNS}, reg, log, e2eOpts...)
	if err != nil {
		return err
	}
	mcp := mcpclient.New(log, reg, mcpHTTPClient(broker), mcpclient.Options{
		Version: buildinfo.Version, IsEgressDenied: isBlocked,
	})
	defer mcp.Close()
	workers, err := pool.New(pool.Config{
		WorkerExe: workerExe, CatalogueVersion: catalogue.Version(), WorkerProcs: cfg.WorkerProcs, Warm: cfg.WarmWorkers, MaxConcurrent: cfg.MaxConcurrent,
		SpawnConcurrency: cfg.SpawnConc, MemoryBudgetMB: cfg.MemoryBudgetMB, MaxMemoryMB: cfg.MaxMemoryMB,
		QueueMax: cfg.QueueMax, QueueWait: time.Duration(cfg.QueueWaitMS) * time.Millisecond, MaxIdle: cfg.WorkerMaxIdle,
	}, reg, log)
	if err != nil {
		return err
	}
	workers.Start(ctx)
	defer workers.Close() // after the listener has drained
	health := httpserve.NewHealth(httpserve.Check{Name: "pool", Fn: func(context.Context) error {
		if !workers.Ready() {
			return errors.New("worker pool not warm yet, or spawning fails")
		}
		return nil
	}}).WithBody(func(rb httpserve.ReadyBody) any {
		return readiness(rb, workers.Stats(), isolation)
	})
	mux := sandboxapi.Routes(sandboxapi.Deps{
		Health: health, Reg: reg, Tokens: tokens, MaxMemoryMB: cfg.MaxMemoryMB, Broker: broker, MCP: mcp, Pool: workers,
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

// mcpHTTPClient gives the external MCP client an HTTP client per policy,
// each going through the broker's SSRF guard (sandbox.md §13.1).
func mcpHTTPClient(b *egress.Broker) mcpclient.HTTPClientFunc {
	return func(allowed proto.AllowedHosts) (*http.Client, error) {
		allow, err := egress.ParseAllowedHosts(allowed)
		if err != nil {
			return nil, err
		}
		return b.NewSession(allow, egress.SourceMCP, egress.Limits{RequestTimeout: proto.MaxMCPCallTimeoutMS * time.Millisecond}).Client(), nil
	}
}

// isBlocked reports an SSRF refusal of the broker (→ EgressDenied).
func isBlocked(err error) bool {
	var b *egress.BlockedError
	return errors.As(err, &b)
}

// workerCommand is the `__worker` subcommand: one locked-down job process
// (sandbox.md §7, §8), talking to the parent over fds 3 and 4.
func workerCommand(_ context.Context, args, environ []string, _ io.Writer) error {
	if code := worker.ProcessMain(args, environ, os.Stderr); code != 0 {
		return fmt.Errorf("worker exited %d", code)
	}
	return nil
}

// readiness is the sandbox's /readyz body (proto.SandboxReadiness), which
// the backend's system status shows (sandbox.md §4.8).
func readiness(rb httpserve.ReadyBody, st pool.Stats, isolation proto.Isolation) proto.SandboxReadiness {
	status := proto.ReadinessReady
	switch rb.Failing {
	case "":
	case "draining":
		status = proto.ReadinessDraining
	case "pool":
		status = proto.ReadinessStarting
	default:
		status = proto.ReadinessNotReady
	}
	return proto.SandboxReadiness{
		Status: status, Warm: st.Warm, Busy: st.Busy, Starting: st.Starting, Queued: st.Queued, Isolation: isolation,
	}
}
