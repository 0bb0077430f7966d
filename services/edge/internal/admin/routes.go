// Package admin is the edge's admin listener (edge.md §15): /healthz,
// /readyz and /metrics, never reachable from the public listener.
package admin

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/services/edge/internal/jwks"
	"github.com/mcpbox/mcpbox/services/edge/internal/reply"
)

// Keys is the key set's readiness and status (jwks.Source).
type Keys interface {
	Ready() error
	Status() jwks.Status
}

// Upstream probes the gateway (proxy.Proxy): "ok" or "unreachable".
type Upstream interface {
	Probe(ctx context.Context) string
}

// Ready is the /readyz body (§15). Failing names the first failing
// condition and JWKS.LastError the key set's last problem.
type Ready struct {
	Status   string      `json:"status"`
	Failing  string      `json:"failing,omitempty"`
	JWKS     jwks.Status `json:"jwks"`
	Upstream string      `json:"upstream"`
	Draining bool        `json:"draining"`
}

// NewHealth returns the edge's health: ready when a usable key set is loaded
// and the edge is not draining; the gateway's reachability is informational.
func NewHealth(keys Keys, up Upstream) *httpserve.Health {
	h := httpserve.NewHealth(httpserve.Check{Name: "jwks", Fn: func(context.Context) error { return keys.Ready() }})
	return h.WithBody(func(b httpserve.ReadyBody) any {
		return Ready{
			Status: b.Status, Failing: b.Failing, JWKS: keys.Status(),
			Upstream: up.Probe(context.Background()), Draining: h.Draining(),
		}
	})
}

// Routes lists the admin listener's routes.
func Routes(health *httpserve.Health, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, health, reg)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		reply.Error(w, http.StatusNotFound, reply.NotFound)
	})
	return mux
}
