package mcpclient

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/proto"
)

// Metric label values (sandbox.md §15.1).
const (
	opDiscover = "discover"
	opCall     = "call"

	outcomeOK           = "ok"
	outcomeHashMismatch = "hash_mismatch"
)

// errorTypes are the §13.4 error types; their snake_case forms are the
// outcome label values besides ok and hash_mismatch.
func errorTypes() []proto.SandboxErrorType {
	return []proto.SandboxErrorType{
		proto.ErrTypeEgressDenied, proto.ErrTypeConnectError, proto.ErrTypeTimeout, proto.ErrTypeAuthRequired,
		proto.ErrTypeHTTPError, proto.ErrTypeRedirect, proto.ErrTypeCloudflareChallenge, proto.ErrTypeProtocolError,
		proto.ErrTypeRPCError, proto.ErrTypeDefinitionChanged, proto.ErrTypeResponseTooLarge,
	}
}

type metrics struct {
	requests *prometheus.CounterVec
	sessions prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpbox_sandbox_mcp_requests_total",
			Help: "External MCP operations by op and outcome (ok or the snake_case error type).",
		}, []string{"op", "outcome"}),
		sessions: f.NewGauge(prometheus.GaugeOpts{
			Name: "mcpbox_sandbox_mcp_sessions",
			Help: "Open sessions in the external MCP session pool.",
		}),
	}
	for _, op := range []string{opDiscover, opCall} {
		m.requests.WithLabelValues(op, outcomeOK)
		for _, t := range errorTypes() {
			m.requests.WithLabelValues(op, t.SnakeCase())
		}
	}
	m.requests.WithLabelValues(opCall, outcomeHashMismatch)
	return m
}

func (m *metrics) record(op string, e *proto.UpstreamError) {
	if e == nil {
		m.requests.WithLabelValues(op, outcomeOK).Inc()
		return
	}
	m.requests.WithLabelValues(op, e.Type.SnakeCase()).Inc()
}
