package egress

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Source is who made a brokered request: the source label of
// mcpbox_sandbox_broker_requests_total.
type Source string

// Request sources (sandbox.md §15.1).
const (
	// SourceTool is tool code's HTTP through the worker host package.
	SourceTool Source = "tool"
	// SourceMCP is the external MCP client (§13).
	SourceMCP Source = "mcp"
	// SourceFetch is /v1/fetch (§4.7).
	SourceFetch Source = "fetch"
)

// Sources lists every Source.
func Sources() []Source { return []Source{SourceTool, SourceMCP, SourceFetch} }

// metrics are the broker's counters, every label combination created at
// zero.
type metrics struct {
	requests *prometheus.CounterVec
	blocked  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		requests: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "sandbox", Name: "broker_requests_total",
			Help: "Brokered outbound HTTP requests, by source (tool, mcp, fetch) and outcome.",
		}, []string{"source", "outcome"}),
		blocked: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "sandbox", Name: "egress_blocked_total",
			Help: "Outbound requests refused by the SSRF policy, by reason.",
		}, []string{"reason"}),
	}
	for _, s := range Sources() {
		for _, o := range Outcomes() {
			m.requests.WithLabelValues(string(s), string(o))
		}
	}
	for _, r := range Reasons() {
		m.blocked.WithLabelValues(string(r))
	}
	return m
}
