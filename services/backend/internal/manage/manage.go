// Package manage is the management operations behind the mcpbox_* tools
// (backend.md §10), served on POST /internal/v1/manage/{tool} (§9.5).
//
// The caller's identity comes only from the body (§9.1). Every call passes
// the gate of §10.1 first (a remote caller must be in
// remote_email_allowlist; an editing operation, or mcpbox_test_code, is
// refused to a remote caller while remote_tool_editing is disabled), then
// its arguments are decoded strictly, then the operation runs through the
// domain services. Tool-level outcomes, including the management-only
// codes of §15.1, are 200 bodies; only transport problems get another
// status.
package manage

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// Deps are the services the operations use.
type Deps struct {
	Store     *db.Store
	Policy    *policy.Service
	Servers   *servers.Service
	Tools     *tools.Service
	Secrets   *secrets.Service
	Approvals *approvals.Service
	TestRuns  *testrun.Service
	// Sources serves the external-source operations.
	Sources *sources.Service
	// Executions reads execution records for mcpbox_get_tool_logs.
	Executions *executions.Service
	// Logger receives internal errors (their text never reaches the
	// caller); nil means slog.Default().
	Logger *slog.Logger
}

// Service dispatches management operations.
type Service struct {
	d     Deps
	calls *prometheus.CounterVec
}

// New returns the service. Its metric is registered by Instrument.
func New(d Deps) *Service { return &Service{d: d, calls: newCallsMetric()} }
