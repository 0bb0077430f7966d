package sandboxclient

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto/obs"
)

// Values of the result label (backend.md §3).
const (
	resultOK          = "ok"
	resultError       = "error"
	resultUnavailable = "unavailable"
)

// metrics are mcpbox_backend_sandbox_requests_total{op,result} and
// mcpbox_backend_sandbox_request_duration_seconds{op}.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newMetrics creates the metrics, every op and result at zero, and
// registers them with reg (nil: not registered).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "backend", Name: "sandbox_requests_total",
			Help: "Calls to the sandbox, one per logical call (retries included), by op and result (ok, error, unavailable).",
		}, []string{"op", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "mcpbox", Subsystem: "backend", Name: "sandbox_request_duration_seconds",
			Help:    "Duration of calls to the sandbox, retries and backoff included, by op.",
			Buckets: obs.LATBuckets(),
		}, []string{"op"}),
	}
	for _, op := range ops() {
		for _, r := range []string{resultOK, resultError, resultUnavailable} {
			m.requests.WithLabelValues(string(op), r)
		}
		m.duration.WithLabelValues(string(op))
	}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.requests); err != nil {
		return nil, fmt.Errorf("register the sandbox client metrics (one Client per registry): %w", err)
	}
	if err := reg.Register(m.duration); err != nil {
		reg.Unregister(m.requests)
		return nil, fmt.Errorf("register the sandbox client metrics (one Client per registry): %w", err)
	}
	return m, nil
}

// observe records one logical call.
func (m *metrics) observe(op Op, result string, d time.Duration) {
	m.requests.WithLabelValues(string(op), result).Inc()
	m.duration.WithLabelValues(string(op)).Observe(d.Seconds())
}
