package public

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/edge/internal/headers"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/reply"
)

// exchange is the state of one public request: what the access line and the
// metrics report when it ends (§15).
type exchange struct {
	h     *handler
	w     http.ResponseWriter
	rec   *obs.StatusRecorder
	r     *http.Request
	start time.Time

	id              string
	clientRequestID string
	clientIP        netip.Addr
	ipKey           string

	route, path, outcome, reason string
	subject                      string
	upstreamStatus               int
	upstream                     time.Duration
	bytesIn                      int64
	proxied                      bool
	logStatus                    int // overrides the recorded status in the log
	// decorate sets the /mcp client-facing headers (CORS, request id) on
	// the edge's own answers as on proxied ones.
	decorate func(http.Header)
}

// begin assigns the request id (§9.2: always fresh; the client's only for
// the log) and the client IP.
func (h *handler) begin(w http.ResponseWriter, r *http.Request) *exchange {
	x := &exchange{h: h, w: w, r: r, start: h.d.Now(), outcome: metrics.OutcomeOK}
	x.id = obs.NewRequestID()
	x.clientRequestID = headers.ClientRequestID(r.Header)
	x.clientIP = h.d.Proxies.ClientIP(r)
	x.ipKey = headers.LimitKey(x.clientIP)
	w.Header().Set(proto.HeaderRequestID, x.id)
	x.r = r.WithContext(obs.WithRequestID(r.Context(), x.id))
	x.rec = &obs.StatusRecorder{ResponseWriter: w}
	return x
}

// fail writes the edge's own error.
func (x *exchange) fail(status int, outcome, code string) {
	x.failDescribed(status, outcome, code, "")
}

func (x *exchange) failDescribed(status int, outcome, code, description string) {
	x.outcome = outcome
	if x.decorate != nil {
		x.decorate(x.rec.Header())
	}
	if description != "" {
		reply.Description(x.rec, status, code, description)
		return
	}
	reply.Error(x.rec, status, code)
}

// limited answers 429 with Retry-After and counts the limiter.
func (x *exchange) limited(limiter string, retryAfter int) {
	x.h.d.Metrics.RateLimited.WithLabelValues(limiter).Inc()
	x.reason = limiter
	reply.RetryAfter(x.rec, retryAfter)
	x.fail(http.StatusTooManyRequests, metrics.OutcomeRateLimited, reply.RateLimited)
}

// unavailable answers 503 with Retry-After: 5 (§5 step 5; never 401).
func (x *exchange) unavailable() {
	reply.RetryAfter(x.rec, 5)
	x.fail(http.StatusServiceUnavailable, metrics.OutcomeUnavailable, reply.Unavailable)
}

// finish recovers a panic (500 internal, counted; http.ErrAbortHandler, the
// proxy's deliberate abort of a broken stream, passes through after the
// access line), then writes the access line and the request metrics.
func (x *exchange) finish() {
	p := recover()
	if p != nil && p != http.ErrAbortHandler { //nolint:errorlint // sentinel panic value, compared as net/http does
		x.h.d.Metrics.Panics.Inc()
		x.h.d.Log.ErrorContext(x.r.Context(), "panic", obs.KeyPanic, p, obs.KeyStack, string(debug.Stack()))
		if x.rec.Status == 0 {
			x.fail(http.StatusInternalServerError, metrics.OutcomeUnavailable, reply.Internal)
		}
		x.outcome = metrics.OutcomeUnavailable
		p = nil
	}
	d := x.h.d.Now().Sub(x.start)
	m := x.h.d.Metrics
	m.Requests.WithLabelValues(x.route, obs.MethodLabel(x.r.Method), x.outcome).Inc()
	m.RequestDuration.WithLabelValues(x.route, x.outcome).Observe(d.Seconds())
	x.log(d)
	if p != nil {
		panic(p)
	}
}

// log writes the access line (§15): never the token, Authorization, Cookie,
// the query string, the email or a body.
func (x *exchange) log(d time.Duration) {
	status := x.rec.Status
	switch {
	case x.logStatus != 0:
		status = x.logStatus
	case status == 0:
		status = http.StatusOK
	}
	bytesIn := x.bytesIn
	if !x.proxied {
		bytesIn = 0
	}
	attrs := []slog.Attr{
		slog.String(obs.KeyListener, "public"),
		slog.String(obs.KeyMethod, obs.MethodLabel(x.r.Method)),
		slog.String(obs.KeyRoute, x.route),
		slog.String(obs.KeyPath, logPath(x.route, x.path)),
		slog.Int(obs.KeyStatus, status),
		slog.String(obs.KeyOutcome, x.outcome),
		slog.Int64(obs.KeyBytesIn, bytesIn),
		slog.Int64(obs.KeyBytesOut, x.rec.Bytes),
		slog.Int64(obs.KeyDurationMS, d.Milliseconds()),
		slog.String(obs.KeyClientIP, x.clientIP.String()),
	}
	if x.reason != "" {
		attrs = append(attrs, slog.String(obs.KeyReason, x.reason))
	}
	if x.clientRequestID != "" {
		attrs = append(attrs, slog.String(obs.KeyClientRequestID, x.clientRequestID))
	}
	if x.subject != "" {
		attrs = append(attrs, slog.String(obs.KeySubject, x.subject))
	}
	if x.proxied {
		attrs = append(attrs, slog.Int(obs.KeyUpstreamStatus, x.upstreamStatus),
			slog.Int64(obs.KeyUpstreamMS, x.upstream.Milliseconds()))
	}
	x.h.d.Log.LogAttrs(x.r.Context(), slog.LevelInfo, "request", attrs...)
}

// logPath is the path of a known route, or the first 64 bytes of an
// unknown one, escaped (the query string is never part of it).
func logPath(route, path string) string {
	if route != metrics.RouteUnknown {
		return path
	}
	if len(path) > 64 {
		path = path[:64]
	}
	q := strconv.QuoteToASCII(path)
	return q[1 : len(q)-1]
}

// subjectHash is the log's subject: the first 16 hex characters of
// SHA-256(iss ‖ sub) (§15), never the subject itself.
func subjectHash(iss, sub string) string {
	sum := sha256.Sum256([]byte(iss + sub))
	return hex.EncodeToString(sum[:8])
}
