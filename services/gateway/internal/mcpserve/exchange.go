package mcpserve

import (
	"context"
	"net/http"
	"sync"

	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// Kind is the handler kind that served a request: the access log's handler
// field (gateway.md §13, GW-18).
type Kind string

// Handler kinds.
const (
	KindStateless Kind = "stateless"
	KindStateful  Kind = "stateful"
)

// Outcome is the outcome label of mcpbox_gateway_requests_total (gateway.md
// §13), a closed set.
type Outcome string

// Request outcomes.
const (
	OutcomeOK          Outcome = "ok"
	OutcomeError       Outcome = "error"
	OutcomeDenied      Outcome = "denied"
	OutcomeRateLimited Outcome = "rate_limited"
	OutcomeInvalid     Outcome = "invalid"
	OutcomeUnavailable Outcome = "unavailable"
)

// Outcomes returns the closed set of outcomes.
func Outcomes() []Outcome {
	return []Outcome{OutcomeOK, OutcomeError, OutcomeDenied, OutcomeRateLimited, OutcomeInvalid, OutcomeUnavailable}
}

// maxLoggedToolName bounds the tool name an Exchange keeps for the access
// log: a requested name is client input of any length.
const maxLoggedToolName = 128

// Exchange is one /mcp request as the listener hands it to an Endpoint:
// who sent it, its request id and HTTP context, and what the SDK side
// reports back (the JSON-RPC outcome and the tool called) for the access
// log and the request metrics. It reaches the SDK handlers inside the
// request's auth.TokenInfo, because a hybrid session's handlers run under
// the context of the request that created the session, not the current
// one.
type Exchange struct {
	caller    caller.Caller
	requestID string
	// httpCtx is the HTTP request's context: its end (client gone) cancels
	// the tool call it carries (gateway.md §5.6). Kept because the SDK's
	// handler context does not follow it outside the modern era.
	httpCtx context.Context

	mu      sync.Mutex
	outcome Outcome
	tool    string
	stream  *streamWriter
}

// NewExchange returns the exchange of r, sent by c.
func NewExchange(r *http.Request, c caller.Caller) *Exchange {
	return &Exchange{caller: c, requestID: obs.RequestID(r.Context()), httpCtx: r.Context()}
}

// Caller is who sent the request.
func (e *Exchange) Caller() caller.Caller { return e.caller }

// Result returns the outcome the SDK side reported ("" when the request
// never reached the receiving middleware: the listener derives one from the
// HTTP status) and the tool a tools/call named ("" otherwise).
func (e *Exchange) Result() (Outcome, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.outcome, e.tool
}

// report records the JSON-RPC outcome and tool name.
func (e *Exchange) report(o Outcome, tool string) {
	if len(tool) > maxLoggedToolName {
		tool = tool[:maxLoggedToolName]
	}
	e.mu.Lock()
	e.outcome, e.tool = o, tool
	e.mu.Unlock()
}

// setStream attaches the response writer wrapper of the request.
func (e *Exchange) setStream(s *streamWriter) {
	e.mu.Lock()
	e.stream = s
	e.mu.Unlock()
}

// dispatched tells the response writer that the SDK handed the request to
// a handler: its SSE headers are set, so a keepalive may start the stream.
func (e *Exchange) dispatched() {
	e.mu.Lock()
	s := e.stream
	e.mu.Unlock()
	if s != nil {
		s.markDispatched()
	}
}

type exchangeKey struct{}

// WithExchange returns ctx carrying ex.
func WithExchange(ctx context.Context, ex *Exchange) context.Context {
	return context.WithValue(ctx, exchangeKey{}, ex)
}

// ExchangeFrom returns the exchange stored by WithExchange.
func ExchangeFrom(ctx context.Context) (*Exchange, bool) {
	ex, ok := ctx.Value(exchangeKey{}).(*Exchange)
	return ex, ok && ex != nil
}
