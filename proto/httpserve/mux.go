package httpserve

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// Ops registers GET /healthz and /readyz on mux, and /metrics when reg is
// not nil (the backend and the edge serve metrics on one listener only).
func Ops(mux *http.ServeMux, health *Health, reg *prometheus.Registry) {
	mux.HandleFunc("GET "+proto.PathHealthz, health.Healthz)
	mux.HandleFunc("GET "+proto.PathReadyz, health.Readyz)
	if reg != nil {
		mux.Handle("GET "+proto.PathMetrics, obs.MetricsHandler(reg))
	}
}

// Route returns the pattern that served r, or "unmatched" (a catch-all
// "/" included): the only route label a log line or metric may carry
// (never the raw path), the same as the HTTP metrics' (obs.RouteLabel).
func Route(r *http.Request) string { return obs.RouteLabel(r.Pattern) }

// Handler wraps a listener's mux with request ids (by policy) and the access
// log with panic recovery: the outermost layers of every listener.
func Handler(log *slog.Logger, listener string, policy obs.RequestIDPolicy, mux http.Handler) http.Handler {
	return obs.RequestIDMiddleware(policy, obs.AccessLog(log, listener, Route, mux))
}
