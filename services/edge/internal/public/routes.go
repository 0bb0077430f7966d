// Package public is the edge's public listener (edge.md §4, §5): an exact
// route table matched on the raw request target, and the /mcp pipeline
// (request id, route and method, per-IP limit, preflight, Origin, readiness,
// auth-failure lockout, token, per-subject limits, body cap, proxy). Every
// response the edge writes itself goes through the reply package (§12).
//
// Two choices the spec leaves open: the per-IP limit applies to every
// request, 404s included (§13 "every public request"), before the route
// check; and the in-flight slot is taken at the readiness step (§5 step 5)
// and held until the exchange ends, so the cap counts exchanges, not
// verified tokens.
package public

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/edge/internal/cors"
	"github.com/mcpbox/mcpbox/services/edge/internal/headers"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/prm"
	"github.com/mcpbox/mcpbox/services/edge/internal/proxy"
	"github.com/mcpbox/mcpbox/services/edge/internal/ratelimit"
	"github.com/mcpbox/mcpbox/services/edge/internal/reply"
	"github.com/mcpbox/mcpbox/services/edge/internal/tokencheck"
)

// Paths of the public listener (contracts.md §1).
const (
	PathMCP                 = proto.PathMCP
	PathHealth              = proto.PathEdgeHealth
	PathProtectedResource   = proto.PathProtectedResource
	PathProtectedResourceMC = proto.PathProtectedResourceMCP
)

// Allow values of the 405 answers (§4.1).
const (
	allowMCP    = "GET, POST, DELETE, OPTIONS"
	allowPublic = "GET, HEAD, OPTIONS"
)

// Limits are the public listener's limiters (§13).
type Limits struct {
	IP           *ratelimit.Buckets
	Subject      *ratelimit.Buckets
	AuthFailures *ratelimit.Failures
	Streams      *ratelimit.Streams
	Inflight     *ratelimit.Inflight
}

// Readiness reports whether a usable key set is loaded (jwks.Source).
type Readiness interface{ Ready() error }

// Deps are the parts the public listener is built from.
type Deps struct {
	Verifier     *tokencheck.Verifier
	Keys         Readiness
	Metadata     *prm.Metadata
	CORS         *cors.Policy
	Proxies      headers.Proxies
	Proxy        *proxy.Proxy
	Limits       Limits
	Metrics      *metrics.Edge
	Log          *slog.Logger
	ServiceToken string
	// PublicURL is MCPBOX_EDGE_PUBLIC_URL: X-Forwarded-Proto and -Host.
	PublicURL *url.URL
	MaxBody   int64
	// Draining reports that shutdown began: /health answers 503.
	Draining func() bool
	// StopStreams closes when open GET streams must end (the drain).
	StopStreams <-chan struct{}
	// Now is the clock of durations (default time.Now).
	Now func() time.Time
}

// Handler returns the public listener's handler.
func Handler(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &handler{d: d}
}

type handler struct{ d Deps }

// route is the result of matching the raw request target.
type route struct {
	label string // metrics.Route*
	allow string // Allow header of a 405
}

// match compares the path of the request target byte for byte (§4.2): no
// decoding, no dot-segment removal, no slash merging, case-sensitive.
func match(r *http.Request) (route, string) {
	target := r.RequestURI
	if !strings.HasPrefix(target, "/") {
		// Absolute form (http://host/path?q): the path starts at the first
		// "/" after the authority. "*" and anything else has no path.
		scheme, rest, ok := strings.Cut(target, "://")
		if !ok || scheme == "" || strings.ContainsAny(scheme, "/?#") {
			return route{label: metrics.RouteUnknown}, target
		}
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return route{label: metrics.RouteUnknown}, target
		}
		target = rest[i:]
	}
	path, _, _ := strings.Cut(target, "?")
	switch path {
	case PathMCP:
		return route{label: metrics.RouteMCP, allow: allowMCP}, path
	case PathHealth:
		return route{label: metrics.RouteHealth, allow: allowPublic}, path
	case PathProtectedResource, PathProtectedResourceMC:
		return route{label: metrics.RouteMetadata, allow: allowPublic}, path
	}
	return route{label: metrics.RouteUnknown}, path
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := h.begin(w, r)
	defer x.finish()
	r = x.r
	rt, path := match(r)
	x.route, x.path = rt.label, path

	if headers.Tainted(r.Context()) {
		// Content-Length and Transfer-Encoding together: a smuggling
		// attempt (EDGE-73). The connection is closed after the answer.
		w.Header().Set("Connection", "close")
		x.fail(http.StatusBadRequest, metrics.OutcomeUnauthorized, reply.InvalidRequest)
		return
	}
	if ok, retry := h.d.Limits.IP.Allow(x.ipKey); !ok {
		x.limited(metrics.LimiterIP, retry)
		return
	}
	if rt.label == metrics.RouteUnknown {
		x.fail(http.StatusNotFound, metrics.OutcomeNotFound, reply.NotFound)
		return
	}
	if !slices.Contains(strings.Split(rt.allow, ", "), r.Method) {
		w.Header().Set("Allow", rt.allow)
		x.fail(http.StatusMethodNotAllowed, metrics.OutcomeMethodNotAllowed, reply.MethodNotAllowed)
		return
	}
	if r.Method == http.MethodOptions {
		x.route, x.outcome = metrics.RoutePreflight, metrics.OutcomeOK
		if rt.label == metrics.RouteMCP {
			h.d.CORS.Preflight(x.rec, r)
		} else {
			cors.PublicPreflight(x.rec, r, allowPublic)
		}
		return
	}
	switch rt.label {
	case metrics.RouteHealth:
		h.health(x, r)
	case metrics.RouteMetadata:
		x.outcome = metrics.OutcomeOK
		h.d.Metadata.ServeHTTP(x.rec, r)
	default:
		h.mcp(x, r)
	}
}

// health answers /health: 200 while serving, 503 once draining (§16).
func (h *handler) health(x *exchange, r *http.Request) {
	hd := x.rec.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Access-Control-Allow-Origin", "*")
	body, status := `{"status":"ok"}`+"\n", http.StatusOK
	x.outcome = metrics.OutcomeOK
	if h.d.Draining != nil && h.d.Draining() {
		body, status, x.outcome = `{"status":"draining"}`+"\n", http.StatusServiceUnavailable, metrics.OutcomeUnavailable
	}
	x.rec.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = x.rec.Write([]byte(body))
	}
}

// mcp runs §5 steps 4–10.
func (h *handler) mcp(x *exchange, r *http.Request) {
	origin := r.Header.Get("Origin")
	x.decorate = func(hd http.Header) {
		h.d.CORS.Decorate(hd, origin)
		hd.Set(proto.HeaderRequestID, x.id)
	}
	if _, sent := r.Header["Origin"]; sent && !h.d.CORS.Allowed(origin) {
		x.fail(http.StatusForbidden, metrics.OutcomeForbidden, reply.OriginNotAllowed)
		return
	}
	if h.d.Keys.Ready() != nil {
		x.reason = string(tokencheck.KeysUnavailable)
		h.d.Metrics.JWTRejections.WithLabelValues(x.reason).Inc()
		x.unavailable()
		return
	}
	release, ok := h.d.Limits.Inflight.Acquire()
	if !ok {
		h.d.Metrics.RateLimited.WithLabelValues(metrics.LimiterInflight).Inc()
		x.unavailable()
		return
	}
	defer release()
	if locked, retry := h.d.Limits.AuthFailures.Locked(x.ipKey); locked {
		x.limited(metrics.LimiterAuthFailures, retry)
		return
	}
	id, rej := h.d.Verifier.Check(r.Context(), r.Header)
	if rej != nil {
		h.reject(x, rej)
		return
	}
	x.subject = subjectHash(id.Issuer, id.Subject)
	subjectKey := id.Issuer + "\x00" + id.Subject
	if ok, retry := h.d.Limits.Subject.Allow(subjectKey); !ok {
		x.limited(metrics.LimiterSubject, retry)
		return
	}
	var stop <-chan struct{}
	if r.Method == http.MethodGet {
		end, ok := h.d.Limits.Streams.Acquire(subjectKey)
		if !ok {
			x.limited(metrics.LimiterStreams, 1)
			return
		}
		defer end()
		h.d.Metrics.OpenStreams.Inc()
		defer h.d.Metrics.OpenStreams.Dec()
		stop = h.d.StopStreams
	}
	if r.ContentLength > h.d.MaxBody {
		x.fail(http.StatusRequestEntityTooLarge, metrics.OutcomeTooLarge, reply.RequestTooLarge)
		return
	}
	up := headers.Upstream(r.Header, headers.Trusted{
		ServiceToken: h.d.ServiceToken,
		Subject:      id.Subject,
		Email:        id.Email,
		RequestID:    x.id,
		ClientIP:     x.clientIP,
		Proto:        h.d.PublicURL.Scheme,
		Host:         h.d.PublicURL.Host,
	})
	h.d.Metrics.Inflight.Inc()
	defer h.d.Metrics.Inflight.Dec()
	x.proxied = true
	res := h.d.Proxy.Serve(x.rec, r, proxy.Exchange{Header: up, Decorate: x.decorate, Stop: stop})
	x.outcome, x.upstreamStatus, x.upstream = res.Outcome, res.UpstreamStatus, res.UpstreamHeaders
	x.bytesIn = res.BytesIn
	if x.rec.Status == 0 && res.Status == proxy.StatusClientClosed {
		x.logStatus = proxy.StatusClientClosed // the client left before any answer
	}
}

// reject answers a refused token (§6.6) and feeds the lockout.
func (h *handler) reject(x *exchange, rej *tokencheck.Rejection) {
	reason := rej.Reason
	if reason == tokencheck.DuplicateHeader {
		reason = tokencheck.Malformed
	}
	x.reason = string(reason)
	h.d.Metrics.JWTRejections.WithLabelValues(x.reason).Inc()
	switch rej.Reason {
	case tokencheck.NoToken:
		x.rec.Header().Set("WWW-Authenticate", h.d.Metadata.Challenge("", ""))
		x.fail(http.StatusUnauthorized, metrics.OutcomeUnauthorized, reply.Unauthorized)
		return
	case tokencheck.KeysUnavailable:
		x.unavailable()
		return
	}
	h.d.Limits.AuthFailures.Record(x.ipKey)
	switch rej.Error {
	case reply.AccessDenied:
		x.fail(http.StatusForbidden, metrics.OutcomeForbidden, reply.AccessDenied)
	case reply.InsufficientScope:
		x.rec.Header().Set("WWW-Authenticate", h.d.Metadata.Challenge(reply.InsufficientScope, ""))
		x.fail(http.StatusForbidden, metrics.OutcomeForbidden, reply.InsufficientScope)
	case reply.InvalidRequest:
		x.rec.Header().Set("WWW-Authenticate", h.d.Metadata.Challenge(reply.InvalidRequest, ""))
		x.fail(http.StatusBadRequest, metrics.OutcomeUnauthorized, reply.InvalidRequest)
	default:
		x.rec.Header().Set("WWW-Authenticate", h.d.Metadata.Challenge(reply.InvalidToken, rej.Description))
		x.failDescribed(http.StatusUnauthorized, metrics.OutcomeUnauthorized, reply.InvalidToken, rej.Description)
	}
}
