package listen

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// Method labels of the request metrics (gateway.md §13), a closed set: a
// client string never becomes a label value.
const (
	labelInitialize    = "initialize"
	labelDiscover      = "server/discover"
	labelPing          = "ping"
	labelToolsList     = "tools/list"
	labelToolsCall     = "tools/call"
	labelListen        = "subscriptions/listen"
	labelNotification  = "notification"
	labelStreamGet     = "stream_get"
	labelSessionDelete = "session_delete"
	labelOther         = "other"
)

// MethodLabels returns the closed set of method labels.
func MethodLabels() []string {
	return []string{
		labelInitialize, labelDiscover, labelPing, labelToolsList, labelToolsCall, labelListen,
		labelNotification, labelStreamGet, labelSessionDelete, labelOther,
	}
}

// durationBuckets are the latency buckets of §13, in seconds.
func durationBuckets() []float64 {
	return []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
}

// Metrics counts /mcp requests: mcpbox_gateway_requests_total{method,
// outcome} and mcpbox_gateway_request_duration_seconds{method}. Every /mcp
// request is counted once, at the listener, refusals included (the
// outcomes denied, rate_limited, unavailable and most invalid ones never
// reach the SDK); what the SDK answered comes from the Exchange. Streams
// (GET, subscriptions/listen) are observed when they end.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the request metrics on reg with every label
// combination at zero. Create one for the process and pass it to both
// listeners.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "requests_total",
			Help: "MCP requests on /mcp by method and outcome.",
		}, []string{"method", "outcome"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "request_duration_seconds",
			Help:    "Duration of MCP requests on /mcp by method (streams: their lifetime).",
			Buckets: durationBuckets(),
		}, []string{"method"}),
	}
	for _, method := range MethodLabels() {
		m.duration.WithLabelValues(method)
		for _, o := range mcpserve.Outcomes() {
			m.requests.WithLabelValues(method, string(o))
		}
	}
	return m
}

// observe counts one request.
func (m *Metrics) observe(method string, o mcpserve.Outcome, d time.Duration) {
	m.requests.WithLabelValues(method, string(o)).Inc()
	m.duration.WithLabelValues(method).Observe(d.Seconds())
}

// methodLabel maps a request to its label: the HTTP method for GET and
// DELETE, the JSON-RPC method for POST (every notification and client
// response is "notification": one-way messages answered 202).
func methodLabel(httpMethod string, msg Message, parsed bool) string {
	switch httpMethod {
	case http.MethodGet:
		return labelStreamGet
	case http.MethodDelete:
		return labelSessionDelete
	case http.MethodPost:
	default:
		return labelOther
	}
	if !parsed {
		return labelOther
	}
	switch msg.Method {
	case labelInitialize, labelDiscover, labelPing, labelToolsList, labelToolsCall, labelListen:
		return msg.Method
	case "":
		return labelNotification
	}
	if strings.HasPrefix(msg.Method, "notifications/") {
		return labelNotification
	}
	return labelOther
}

// refusalOutcome maps a gateway refusal to its outcome.
func refusalOutcome(ref *rpcerr.Refusal) mcpserve.Outcome {
	switch ref.Code {
	case rpcerr.CodeAccessDenied, rpcerr.CodeAuthFailed:
		return mcpserve.OutcomeDenied
	case rpcerr.CodeRateLimited:
		return mcpserve.OutcomeRateLimited
	case rpcerr.CodeUnavailable:
		return mcpserve.OutcomeUnavailable
	}
	return mcpserve.OutcomeInvalid
}

// statusOutcome maps an HTTP status to an outcome, for answers whose
// JSON-RPC outcome nobody reported (refusals written by the caller checks,
// HTTP-level answers of the SDK, accepted notifications).
func statusOutcome(status int) mcpserve.Outcome {
	switch {
	case status == 0 || status < 400:
		return mcpserve.OutcomeOK
	case status == http.StatusForbidden:
		return mcpserve.OutcomeDenied
	case status == http.StatusTooManyRequests:
		return mcpserve.OutcomeRateLimited
	case status == http.StatusServiceUnavailable:
		return mcpserve.OutcomeUnavailable
	case status >= 500:
		return mcpserve.OutcomeError
	}
	return mcpserve.OutcomeInvalid
}
