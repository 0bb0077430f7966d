// Package internalapi is the backend's internal listener: /internal/v1 for
// the gateway (service token required, 401 unauthenticated otherwise),
// /metrics for Prometheus, and health; every other path is 404
// (backend.md §3, §9). Built: the event stream (§9.2, served by package
// events) and the policy (§9.7). The catalog, plans, management and
// executions routes answer 501 not_implemented, never a fake success.
package internalapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

// PolicySource reads the current security policy and its revision;
// *policy.Service satisfies it.
type PolicySource interface {
	Current(ctx context.Context) (policy.Policy, int64, error)
}

// Deps is what the internal listener serves from.
type Deps struct {
	Log     *slog.Logger
	Health  *httpserve.Health
	Metrics *prometheus.Registry
	Tokens  *servicetoken.Checker
	// Events streams GET /internal/v1/events (an *events.Hub).
	Events http.Handler
	Policy PolicySource
	// Catalog, Plan, Executions and Manage serve GET /internal/v1/catalog,
	// GET /internal/v1/tools/{id}/plan, POST /internal/v1/executions and
	// POST /internal/v1/manage/{tool}; nil answers 501 until built.
	Catalog, Plan, Executions, Manage http.Handler
}

// Routes lists every route of the internal listener with its guard.
func Routes(d Deps) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, d.Health, d.Metrics)
	h := handlers{log: d.Log, policy: d.Policy}
	mux.Handle("GET "+proto.PathInternalEvents, d.Tokens.Guard(d.Events))
	mux.Handle("GET "+proto.PathInternalPolicy, d.Tokens.Guard(http.HandlerFunc(h.getPolicy)))
	for pattern, handler := range map[string]http.Handler{
		"GET " + proto.PathInternalCatalog:     d.Catalog,
		"GET " + proto.PathInternalPlan:        d.Plan,
		"POST " + proto.PathInternalExecutions: d.Executions,
		"POST " + proto.PathInternalManage:     d.Manage,
	} {
		if handler == nil {
			handler = http.HandlerFunc(httpserve.NotImplemented)
		}
		mux.Handle(pattern, d.Tokens.Guard(handler))
	}
	mux.HandleFunc("/", httpserve.NotFound)
	return mux
}

type handlers struct {
	log    *slog.Logger
	policy PolicySource
}
