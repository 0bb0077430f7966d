package listen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// maxLoggedMethod bounds the JSON-RPC method the access log carries as
// sent; a longer one is logged as its metric label.
const maxLoggedMethod = 64

// pipeline serves /mcp on one listener: the steps of gateway.md §4.
type pipeline struct {
	o Options
	// checked runs steps 3–5 (the listener's caller checks) and then
	// serveChecked.
	checked http.Handler
}

// reqState is what the pipeline learns about one request, for its metrics
// and access log line.
type reqState struct {
	start  time.Time
	rec    *obs.StatusRecorder
	caller *caller.Caller
	msg    Message
	parsed bool
	kind   mcpserve.Kind
	// outcome is set by a gateway refusal.
	outcome mcpserve.Outcome
	ex      *mcpserve.Exchange
}

type stateKey struct{}

func newPipeline(o Options) *pipeline {
	p := &pipeline{o: o}
	next := http.HandlerFunc(p.serveChecked)
	if o.Listener == caller.ListenerLocal {
		p.checked = o.Local.Middleware(next)
	} else {
		p.checked = o.Remote.Middleware(next)
	}
	return p
}

// ServeHTTP runs step 2 (shutting down) and hands the request to the caller
// checks; security headers and the request id (step 1) were set by the
// handlers New wraps around the mux.
func (p *pipeline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &reqState{start: time.Now(), rec: &obs.StatusRecorder{ResponseWriter: w}}
	defer p.finish(r, st)
	if p.o.ShuttingDown != nil && p.o.ShuttingDown() {
		p.refuse(st, rpcerr.ShuttingDown(), nil)
		return
	}
	p.checked.ServeHTTP(st.rec, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
}

// serveChecked runs steps 6–10 for a request whose caller passed the
// listener's checks (it is in the context).
func (p *pipeline) serveChecked(_ http.ResponseWriter, r *http.Request) {
	st, _ := r.Context().Value(stateKey{}).(*reqState)
	c, ok := caller.FromContext(r.Context())
	if st == nil || !ok {
		panic("listen: caller checks passed a request without its state") // AccessLog answers 500
	}
	st.caller = &c
	// Step 6: the remote listener fails closed without a fresh policy.
	var pol proto.Policy
	if p.o.Listener == caller.ListenerRemote {
		var err error
		if pol, err = p.o.Policy(); err != nil {
			p.refuse(st, rpcerr.PolicyUnavailable(), nil)
			return
		}
	}
	// Step 7: one JSON-RPC message per POST, under the body cap.
	if r.Method == http.MethodPost {
		body, ref := readBody(st.rec, r, p.o.MaxBodyBytes)
		if ref != nil {
			p.refuse(st, ref, nil)
			return
		}
		msg, ref := ParseMessage(body)
		if ref != nil {
			p.refuse(st, ref, msg.ID)
			return
		}
		st.msg, st.parsed = msg, true
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	// Step 8: every POST counts one, a GET stream one when opened.
	if r.Method == http.MethodPost || r.Method == http.MethodGet {
		if ref := p.o.Limiter.Allow(c, pol.MCPRateLimitRPM); ref != nil {
			p.refuse(st, ref, st.msg.ID)
			return
		}
	}
	// Step 9: limited callers keep the anonymous methods only.
	if r.Method == http.MethodPost || r.Method == http.MethodGet || r.Method == http.MethodDelete {
		if ref := p.o.Authorizer.Authorize(pol, c, r.Method, st.msg.Method); ref != nil {
			p.refuse(st, ref, st.msg.ID)
			return
		}
	}
	// Step 10.
	st.ex = mcpserve.NewExchange(r, c)
	st.kind = p.dispatch(st.rec, r.WithContext(mcpserve.WithExchange(r.Context(), st.ex)), st.msg)
}

// refuse writes a gateway refusal with the request's id (nil: null).
func (p *pipeline) refuse(st *reqState, ref *rpcerr.Refusal, id []byte) {
	st.outcome = refusalOutcome(ref)
	ref.Write(st.rec, id)
}

// readBody reads r's body under the cap: over it is 413 -32600, also for
// chunked bodies, since the cap is enforced while reading.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *rpcerr.Refusal) {
	if r.Body == nil {
		return nil, rpcerr.ParseError()
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= limit {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, rpcerr.InvalidRequest(http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body exceeds %d bytes", limit))
		}
		return nil, rpcerr.InvalidRequest(http.StatusBadRequest, "Invalid Request: the request body could not be read")
	}
	return buf.Bytes(), nil
}

// finish counts the request and adds the gateway's fields to its access
// log line.
func (p *pipeline) finish(r *http.Request, st *reqState) {
	label := methodLabel(r.Method, st.msg, st.parsed)
	outcome, tool := st.outcome, ""
	if st.ex != nil {
		var reported mcpserve.Outcome
		reported, tool = st.ex.Result()
		if outcome == "" {
			outcome = reported
		}
	}
	if outcome == "" {
		outcome = statusOutcome(st.rec.Status)
	}
	p.o.Requests.observe(label, outcome, time.Since(st.start))

	attrs := []slog.Attr{slog.String(obs.KeyMCPMethod, logMethod(st.msg, label)), slog.String(obs.KeyOutcome, string(outcome))}
	if st.kind != "" {
		attrs = append(attrs, slog.String(obs.KeyHandler, string(st.kind)))
	}
	if c := st.caller; c != nil {
		attrs = append(attrs, slog.String(obs.KeyCallerKind, c.Listener), slog.String(obs.KeyCallerKey, c.Key))
		if c.Email != "" {
			attrs = append(attrs, slog.String(obs.KeyCaller, c.Email))
		}
	}
	if tool != "" {
		attrs = append(attrs, slog.String(obs.KeyTool, tool))
	}
	obs.AddAccessAttrs(r.Context(), attrs...)
}

// logMethod is the MCP method of the access log: as sent when short,
// else the metric label.
func logMethod(msg Message, label string) string {
	if msg.Method != "" && len(msg.Method) <= maxLoggedMethod {
		return msg.Method
	}
	return label
}
