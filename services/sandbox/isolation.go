package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/config"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/lockdown"
)

// selfTestCommand is the `__selftest` subcommand: the child side of the
// startup self-test, run by the parent's own binary.
func selfTestCommand(_ context.Context, args, _ []string, stdout io.Writer) error {
	if code := lockdown.SelfTestMain(args, stdout); code != 0 {
		return fmt.Errorf("self-test probe exited %d", code)
	}
	return nil
}

// checkIsolation hardens the parent and runs the isolation self-test before
// the sandbox listens (sandbox.md §8.6, invariant I7: fail closed). A failure
// stops the start, except in dev mode with MCPBOX_SANDBOX_INSECURE_DEV on a
// loopback listener, where the sandbox runs degraded and says so. It returns
// the isolation status for /readyz: full or degraded.
func checkIsolation(ctx context.Context, log *slog.Logger, reg prometheus.Registerer, cfg config.Config, workerExe string) (proto.Isolation, error) {
	layers := promauto.With(reg).NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "mcpbox", Subsystem: "sandbox", Name: "isolation",
		Help: "1 when the isolation layer is in force, 0 otherwise.",
	}, []string{"layer"})
	for _, l := range []string{"seccomp", "rlimits", "cgroup", "namespaces"} {
		layers.WithLabelValues(l).Set(0)
	}
	err := lockdown.HardenParent()
	if err == nil {
		var rep lockdown.Report
		rep, err = lockdown.SelfTest(ctx, workerExe)
		for _, p := range rep.Failed() {
			log.Error("isolation self-test probe failed", obs.KeyReason, p.Probe, obs.KeyResult, p.Got)
		}
	}
	switch {
	case err == nil:
		layers.WithLabelValues("seccomp").Set(1)
		layers.WithLabelValues("rlimits").Set(1)
		log.Info("isolation self-test passed", obs.KeyPath, workerExe)
		return proto.IsolationFull, nil
	case cfg.InsecureDev: // config.Load allows it only in dev mode on loopback
		log.Warn("isolation self-test failed; running DEGRADED because MCPBOX_SANDBOX_INSECURE_DEV=true", obs.KeyError, err.Error())
		return proto.IsolationDegraded, nil
	case errors.Is(err, lockdown.ErrSelfTestFailed):
		return proto.IsolationDegraded, fmt.Errorf("%w; the sandbox refuses to run tool code without its isolation layers "+
			"(run it with seccomp allowed and no-new-privileges; see README)", err)
	}
	return proto.IsolationDegraded, fmt.Errorf("isolation self-test: %w", err)
}
