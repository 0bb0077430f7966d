package dashboard

import (
	"context"
	"errors"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// Status is GET /system/status (backend.md §8.2).
type Status struct {
	// Version is the build's version (buildinfo.Version).
	Version string
	// DB reports that the database answered; Revisions is nil when it did
	// not.
	DB bool
	// Listen reports that the replica's LISTEN connection is up.
	Listen  bool
	Sandbox SandboxStatus
	// EventSubscribers counts the gateways' /internal/v1/events streams on
	// this replica.
	EventSubscribers int
	Revisions        *Revisions
}

// Revisions are the catalog and policy revisions (backend.md §9.2).
type Revisions struct {
	Catalog, Policy int64
}

// SandboxStatus is the sandbox's GET /readyz answer (sandbox.md §4.8).
type SandboxStatus struct {
	// Reachable reports that /readyz answered with a readiness body (200
	// ready, or 503 starting, draining or not ready); the other fields are
	// zero when it did not.
	Reachable bool
	// Latency is how long /readyz took to answer.
	Latency time.Duration
	// Ready is the sandbox's status "ready".
	Ready                        bool
	Warm, Busy, Starting, Queued int
	Isolation                    proto.Isolation
	// Problem says why the sandbox was not reached, for the admin (no
	// internal text); empty when Reachable.
	Problem string
}

// Status returns the system status. It never fails: a database or sandbox
// that does not answer is reported in the result. The two are asked at
// the same time, so the answer takes at most the sandbox's 2 s deadline.
func (s *Service) Status(ctx context.Context) Status {
	out := Status{Version: buildinfo.Version}
	if s.listenUp != nil {
		out.Listen = s.listenUp()
	}
	if s.subscribers != nil {
		out.EventSubscribers = s.subscribers()
	}
	sandbox := make(chan SandboxStatus, 1)
	go func() { sandbox <- s.sandboxStatus(ctx) }()
	if r, err := s.store.GetRevisions(ctx); err == nil {
		out.DB = true
		out.Revisions = &Revisions{Catalog: r.Catalog, Policy: r.Policy}
	}
	out.Sandbox = <-sandbox
	return out
}

// sandboxStatus asks the sandbox's /readyz.
func (s *Service) sandboxStatus(ctx context.Context) SandboxStatus {
	start := time.Now()
	r, err := s.sandbox.Ready(ctx)
	if err != nil {
		return SandboxStatus{Problem: sandboxProblem(err)}
	}
	return SandboxStatus{
		Reachable: true, Latency: time.Since(start), Ready: r.Status == proto.ReadinessReady,
		Warm: r.Warm, Busy: r.Busy, Starting: r.Starting, Queued: r.Queued, Isolation: r.Isolation,
	}
}

// sandboxProblem is the client-facing message of a failed sandbox call.
func sandboxProblem(err error) string {
	var se *sandboxclient.Error
	if errors.As(err, &se) {
		return se.Message()
	}
	return "The sandbox could not be asked; retry in a few seconds."
}
