// Package internalapi is the backend's internal listener: /internal/v1 for
// the gateway (service token required, 401 unauthenticated otherwise),
// /metrics for Prometheus, and health; every other path is 404
// (backend.md §3, §9). The internal API is not built yet: its routes answer
// 501 not_implemented, never a fake success.
package internalapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
)

// Routes lists every route of the internal listener with its guard.
func Routes(health *httpserve.Health, reg *prometheus.Registry, tokens *servicetoken.Checker) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, health, reg)
	// Not built yet: 501 behind the token guard, so the contract and its guard are in place.
	for _, pattern := range []string{
		"GET " + proto.PathInternalCatalog,
		"GET " + proto.PathInternalPolicy,
		"GET " + proto.PathInternalEvents,
		"GET " + proto.PathInternalPlan,
		"POST " + proto.PathInternalManage,
		"POST " + proto.PathInternalExecutions,
	} {
		mux.Handle(pattern, tokens.Guard(http.HandlerFunc(httpserve.NotImplemented)))
	}
	mux.HandleFunc("/", httpserve.NotFound)
	return mux
}
