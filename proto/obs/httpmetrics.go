package obs

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// LATBuckets returns the LAT histogram buckets of operations.md §3.3, in
// seconds, as a fresh slice: every backend histogram uses them.
func LATBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
}

// RouteUnmatched is the route label of a request no registered route served
// (operations.md §3.3): client-supplied paths never become label values.
const RouteUnmatched = "unmatched"

// MethodOther is the method label of every HTTP method outside HTTPMethods.
const MethodOther = "other"

// HTTPMethods returns the closed set of method label values besides
// MethodOther.
func HTTPMethods() []string {
	return []string{
		http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions,
	}
}

// MethodLabel maps a request method to its label: one of HTTPMethods, or
// MethodOther.
func MethodLabel(method string) string {
	if slices.Contains(HTTPMethods(), method) {
		return method
	}
	return MethodOther
}

// RouteLabel maps a request's pattern (http.Request.Pattern, set by the
// ServeMux that routed it, or by a router underneath that names its own
// route) to its route label. No pattern, and the catch-all "/" that only
// answers paths no route claims, are RouteUnmatched.
func RouteLabel(pattern string) string {
	path := pattern
	if _, p, ok := strings.Cut(pattern, " "); ok {
		path = strings.TrimLeft(p, " \t")
	}
	if path == "" || path == "/" {
		return RouteUnmatched
	}
	return pattern
}

// HTTPMetrics is the HTTP metrics middleware shared by the services
// (operations.md §3.1): mcpbox_<service>_http_requests_total{route, method,
// code} and mcpbox_<service>_http_request_duration_seconds{route, method}.
// One HTTPMetrics may wrap several listeners of a process.
type HTTPMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTPMetrics creates the two metrics of service with the given histogram
// buckets and registers them with reg; it panics when they are registered
// already (one HTTPMetrics per registry).
func NewHTTPMetrics(reg prometheus.Registerer, service string, buckets []float64) *HTTPMetrics {
	f := promauto.With(reg)
	return &HTTPMetrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: service, Name: "http_requests_total",
			Help: "HTTP requests answered, by route (the registered pattern, or unmatched), method and status code.",
		}, []string{"route", "method", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "mcpbox", Subsystem: service, Name: "http_request_duration_seconds",
			Help:    "Time from receiving a request to the end of its response, by route and method.",
			Buckets: buckets,
		}, []string{"route", "method"}),
	}
}

// Wrap counts and times every request next serves. The route label is read
// from the request's Pattern once next has returned, so Wrap must hold the
// same *http.Request the ServeMux routes: place it directly around the mux,
// inside RequestIDMiddleware and AccessLog. A handler that panics before
// writing counts as 500, the answer AccessLog then gives.
func (m *HTTPMetrics) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &StatusRecorder{ResponseWriter: w}
		returned := false
		defer func() {
			code := rec.Status
			if code == 0 {
				code = http.StatusOK // net/http's answer to a handler that wrote nothing
				if !returned {
					code = http.StatusInternalServerError
				}
			}
			route, method := RouteLabel(r.Pattern), MethodLabel(r.Method)
			m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
			m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
		returned = true
	})
}
