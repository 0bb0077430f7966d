package backend

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Values of the result label (gateway.md §13).
const (
	resultOK        = "ok"
	resultHTTPError = "http_error"
	resultTimeout   = "timeout"
	resultTransport = "transport"
)

// metrics is mcpbox_gateway_backend_requests_total{endpoint,result}.
type metrics struct {
	requests *prometheus.CounterVec
}

// newMetrics registers the counter with reg (nil: unregistered) and creates
// every endpoint × result series at zero.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "backend_requests_total",
			Help: "Requests to the backend's internal API by endpoint and result (ok, http_error, timeout, transport).",
		}, []string{"endpoint", "result"}),
	}
	for _, ep := range endpoints() {
		for _, r := range []string{resultOK, resultHTTPError, resultTimeout, resultTransport} {
			m.requests.WithLabelValues(string(ep), r)
		}
	}
	return m
}

// inc counts one request.
func (m *metrics) inc(ep Endpoint, result string) {
	m.requests.WithLabelValues(string(ep), result).Inc()
}

// result maps a request's error to the result label: a *TransportError is
// timeout or transport, every other error (an unexpected status, a body
// that does not decode, a refused plan) http_error.
func result(err error) string {
	var te *TransportError
	switch {
	case err == nil:
		return resultOK
	case errors.As(err, &te) && te.Timeout:
		return resultTimeout
	case errors.As(err, &te):
		return resultTransport
	}
	return resultHTTPError
}
