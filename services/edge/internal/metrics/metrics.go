// Package metrics holds the edge's collectors (edge.md §15, operations.md
// §3.3). Every label takes its value from a fixed set declared here; no
// label ever holds a subject, email, IP address, token or unknown path.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Route labels.
const (
	RouteMCP       = "mcp"
	RouteHealth    = "health"
	RouteMetadata  = "metadata"
	RoutePreflight = "preflight"
	RouteUnknown   = "unknown"
)

// Outcome labels of a public request.
const (
	OutcomeProxied          = "proxied"
	OutcomeUnauthorized     = "unauthorized"
	OutcomeForbidden        = "forbidden"
	OutcomeRateLimited      = "rate_limited"
	OutcomeNotFound         = "not_found"
	OutcomeMethodNotAllowed = "method_not_allowed"
	OutcomeTooLarge         = "too_large"
	OutcomeTimeout          = "timeout"
	OutcomeUpstreamError    = "upstream_error"
	OutcomeUnavailable      = "unavailable"
	OutcomeOK               = "ok"
)

// The outcome set is closed (§15): a 400 for a duplicate Authorization
// header counts as unauthorized (it is a failed credential), a 408 as
// timeout, and a recovered panic as unavailable (with panics_total).

// JWKS fetch triggers and results.
const (
	TriggerStartup    = "startup"
	TriggerSchedule   = "schedule"
	TriggerUnknownKID = "unknown_kid"
	ResultOK          = "ok"
	ResultError       = "error"
)

// Key-skip reasons (edge.md §7.2).
const (
	SkipKty   = "kty"
	SkipUse   = "use"
	SkipAlg   = "alg"
	SkipSize  = "size"
	SkipNoKID = "no_kid"
)

// Email-withheld reasons (edge.md §6.5).
const (
	EmailAbsent     = "absent"
	EmailInvalid    = "invalid"
	EmailUnverified = "unverified"
)

// Upstream phases and error kinds (edge.md §11).
const (
	PhaseHeaders  = "headers"
	PhaseComplete = "complete"
	KindDial      = "dial"
	KindTimeout   = "timeout"
	KindReset     = "reset"
	KindAborted   = "aborted"
)

// Limiters (edge.md §13).
const (
	LimiterIP           = "ip"
	LimiterAuthFailures = "auth_failures"
	LimiterSubject      = "subject"
	LimiterStreams      = "streams"
	LimiterInflight     = "inflight"
)

// Body directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// Edge is every collector of the edge. Build it with New; a nil *Edge is not
// allowed (tests pass New(prometheus.NewRegistry())).
type Edge struct {
	Requests         *prometheus.CounterVec   // route, method, outcome
	RequestDuration  *prometheus.HistogramVec // route, outcome
	JWTRejections    *prometheus.CounterVec   // reason (tokencheck reasons)
	EmailWithheld    *prometheus.CounterVec   // reason
	JWKSFetches      *prometheus.CounterVec   // trigger, result
	JWKSAge          prometheus.Gauge
	JWKSLastSuccess  prometheus.Gauge
	JWKSKeys         prometheus.Gauge
	JWKSKeysSkipped  *prometheus.CounterVec // reason
	RefetchSuppress  prometheus.Counter
	UpstreamDuration *prometheus.HistogramVec // method, phase
	UpstreamErrors   *prometheus.CounterVec   // kind
	RateLimited      *prometheus.CounterVec   // limiter
	Inflight         prometheus.Gauge
	OpenStreams      prometheus.Gauge
	UpstreamUp       prometheus.Gauge
	BodyBytes        *prometheus.CounterVec // direction
	TLSCertExpiry    prometheus.Gauge
	Panics           prometheus.Counter
}

// Buckets are the histogram buckets: 5 ms … 300 s, exponential (§15).
func Buckets() []float64 { return prometheus.ExponentialBucketsRange(0.005, 300, 16) }

// New registers the edge's collectors on reg (mcpbox_edge_build_info is
// registered by obs.NewRegistry).
func New(reg prometheus.Registerer) *Edge {
	f := promauto.With(reg)
	const ns, sub = "mcpbox", "edge"
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string) prometheus.Gauge {
		return f.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	m := &Edge{
		Requests: counter("requests_total", "Public requests by route, method and outcome.", "route", "method", "outcome"),
		RequestDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help: "Time from request to the end of the response, by route and outcome.", Buckets: Buckets(),
		}, []string{"route", "outcome"}),
		JWTRejections:   counter("jwt_rejections_total", "Requests refused at token verification, by reason.", "reason"),
		EmailWithheld:   counter("email_withheld_total", "Verified tokens whose email was not forwarded, by reason.", "reason"),
		JWKSFetches:     counter("jwks_fetches_total", "Key-set fetches by trigger and result.", "trigger", "result"),
		JWKSAge:         gauge("jwks_age_seconds", "Age of the key set in use."),
		JWKSLastSuccess: gauge("jwks_last_success_timestamp_seconds", "Unix time of the last successful key-set fetch."),
		JWKSKeys:        gauge("jwks_keys", "Usable keys in the key set in use."),
		JWKSKeysSkipped: counter("jwks_keys_skipped_total", "Key-set entries never used, by reason.", "reason"),
		RefetchSuppress: f.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "jwks_refetch_suppressed_total",
			Help: "Unknown-kid refetches refused because the last fetch was too recent.",
		}),
		UpstreamDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "upstream_duration_seconds",
			Help: "Time to the gateway's response headers and to the end of the exchange.", Buckets: Buckets(),
		}, []string{"method", "phase"}),
		UpstreamErrors: counter("upstream_errors_total", "Failed exchanges with the gateway, by kind.", "kind"),
		RateLimited:    counter("rate_limited_total", "Requests refused by a limiter.", "limiter"),
		Inflight:       gauge("inflight", "Proxied exchanges in flight."),
		OpenStreams:    gauge("open_streams", "Open GET /mcp streams."),
		UpstreamUp:     gauge("upstream_up", "1 when the last dial to the gateway succeeded."),
		BodyBytes:      counter("body_bytes_total", "Proxied body bytes by direction.", "direction"),
		TLSCertExpiry:  gauge("tls_cert_expiry_timestamp_seconds", "Unix time the served certificate expires."),
		Panics: f.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "panics_total", Help: "Recovered panics in request handling.",
		}),
	}
	// Series of closed label sets start at zero (operations.md §3.3); the
	// JWT rejection reasons are tokencheck's, set by the caller.
	zero := func(v *prometheus.CounterVec, values ...string) {
		for _, x := range values {
			v.WithLabelValues(x)
		}
	}
	zero(m.EmailWithheld, EmailAbsent, EmailInvalid, EmailUnverified)
	zero(m.JWKSKeysSkipped, SkipKty, SkipUse, SkipAlg, SkipSize, SkipNoKID)
	zero(m.UpstreamErrors, KindDial, KindTimeout, KindReset, KindAborted)
	zero(m.RateLimited, LimiterIP, LimiterAuthFailures, LimiterSubject, LimiterStreams, LimiterInflight)
	zero(m.BodyBytes, DirectionIn, DirectionOut)
	for _, trigger := range []string{TriggerStartup, TriggerSchedule, TriggerUnknownKID} {
		m.JWKSFetches.WithLabelValues(trigger, ResultOK)
		m.JWKSFetches.WithLabelValues(trigger, ResultError)
	}
	return m
}
