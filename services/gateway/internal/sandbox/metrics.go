package sandbox

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Values of the result label of mcpbox_gateway_sandbox_requests_total
// (gateway.md §13).
const (
	resultOK           = "ok"
	resultSaturated    = "saturated"
	resultHTTPError    = "http_error"
	resultTimeout      = "timeout"
	resultTransport    = "transport"
	resultHashMismatch = "hash_mismatch"
	resultCircuitOpen  = "circuit_open"
)

// results lists every result label value.
func results() []string {
	return []string{
		resultOK, resultSaturated, resultHTTPError, resultTimeout, resultTransport, resultHashMismatch,
		resultCircuitOpen,
	}
}

// metrics are mcpbox_gateway_sandbox_requests_total{endpoint,result} and
// mcpbox_gateway_sandbox_circuit_state.
type metrics struct {
	requests *prometheus.CounterVec
}

// newMetrics registers the metrics with reg, every series at zero; the
// circuit gauge reads the breaker when scraped.
func newMetrics(reg prometheus.Registerer, b *breaker) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "sandbox_requests_total",
			Help: "Calls to the sandbox by endpoint (execute, mcp_call) and result " +
				"(ok, saturated, http_error, timeout, transport, hash_mismatch, circuit_open); calls the caller cancelled are not counted.",
		}, []string{"endpoint", "result"}),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "mcpbox", Subsystem: "gateway", Name: "sandbox_circuit_state",
		Help: "State of the sandbox circuit breaker: 0 closed, 1 half-open, 2 open.",
	}, func() float64 { return float64(b.state()) })
	for _, ep := range endpoints() {
		for _, r := range results() {
			m.requests.WithLabelValues(string(ep), r)
		}
	}
	return m
}

// count records one call; an empty result (a cancelled call) is not
// counted, because no label of the closed set describes it and counting it
// as a transport error would blame the sandbox for clients hanging up.
func (m *metrics) count(ep Endpoint, result string) {
	if result != "" {
		m.requests.WithLabelValues(string(ep), result).Inc()
	}
}
