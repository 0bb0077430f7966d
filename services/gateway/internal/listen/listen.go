package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
)

// Options configures one listener.
type Options struct {
	// Listener is caller.ListenerLocal or caller.ListenerRemote.
	Listener string
	// MCP is the listener's endpoint (mcpserve.Gateway.Endpoint).
	MCP *mcpserve.Endpoint
	// Local runs the local listener's Host, Origin and service-token checks
	// (required there, unused on the remote listener).
	Local *caller.LocalGuard
	// Remote runs the remote listener's Origin, throttle, service-token and
	// identity checks (required there).
	Remote *caller.RemoteAuth
	// Policy returns the remote-access policy and whether it may be used
	// (catalog.Cache.CheckPolicy): an error answers 503 -32082 (required on
	// the remote listener; the local listener does not depend on it).
	Policy func() (proto.Policy, error)
	// Limiter is the per-caller rate limit; Authorizer refuses limited
	// callers (both shared by the listeners).
	Limiter    *policy.Limiter
	Authorizer *policy.Authorizer
	// MaxBodyBytes is MCPBOX_GATEWAY_MAX_BODY_BYTES.
	MaxBodyBytes int64
	// Draining reports that shutdown began: /readyz answers 503 at once
	// (§12 step 1; httpserve.Health.Draining). Nil: never.
	Draining func() bool
	// ShuttingDown reports that shutdown passed its delay: /mcp answers 503
	// -32082 with Retry-After 1 (§4 step 2, §12 step 3); during the delay
	// requests are still served. Nil: never.
	ShuttingDown func() bool
	// Ready is the readiness of /readyz besides draining (catalog and policy
	// freshness, catalog.Cache.Ready); each error joined in its result is
	// one reason. Nil: always ready.
	Ready func(ctx context.Context) error
	// Metrics serves /metrics (obs.MetricsHandler); nil answers 404.
	Metrics http.Handler
	// Requests counts /mcp requests (NewMetrics, shared by the listeners).
	Requests *Metrics
	// Log takes the access log and the pipeline's lines.
	Log *slog.Logger
}

// validate checks the options.
func (o Options) validate() error {
	var errs []error
	switch o.Listener {
	case caller.ListenerLocal:
		if o.Local == nil {
			errs = append(errs, errors.New("the local listener needs Local"))
		}
	case caller.ListenerRemote:
		if o.Remote == nil || o.Policy == nil {
			errs = append(errs, errors.New("the remote listener needs Remote and Policy"))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown listener %q", o.Listener))
	}
	if o.MCP == nil || o.Limiter == nil || o.Authorizer == nil || o.Requests == nil || o.Log == nil {
		errs = append(errs, errors.New("every one of MCP, Limiter, Authorizer, Requests and Log is required"))
	}
	if o.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("MaxBodyBytes must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("listen options: %w", err)
	}
	return nil
}

// New returns the complete handler of one listener: request ids (kept
// when valid, else a new UUIDv4) and the access log outermost, then the
// security headers of §3.3 on every response, then GET /healthz, /readyz,
// /metrics, the /mcp pipeline, and 404 for every other path. Serve it as
// the listener's handler (httpserve.Listener.Handler).
func New(o Options) (http.Handler, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	p := newPipeline(o)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+proto.PathHealthz, healthz)
	mux.Handle("GET "+proto.PathReadyz, readiness{draining: o.Draining, ready: o.Ready})
	if o.Metrics != nil {
		mux.Handle("GET "+proto.PathMetrics, o.Metrics)
	}
	mux.Handle(proto.PathMCP, p)
	mux.HandleFunc("/", httpserve.NotFound)
	return httpserve.Handler(o.Log, o.Listener, obs.KeepValid, securityHeaders(mux)), nil
}

// securityHeaders sets the headers of §3.3 on every response. SSE
// responses replace Cache-Control with the SDK's "no-cache, no-transform".
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
