package mcpserve

import (
	"context"
	"net/http"
)

// sessionIDHeader is the SDK's session header.
const sessionIDHeader = "Mcp-Session-Id"

// Endpoint is the MCP side of one listener: its stateless handler and, in
// hybrid mode, its stateful one. Package listen classifies each /mcp
// request (gateway.md §5.4) and calls one of the Serve methods with an
// Exchange in the request context (WithExchange); the methods wrap the
// response writer for keepalives and hand the request to the SDK.
type Endpoint struct {
	g        *Gateway
	listener string
	hybrid   bool

	statelessSrv, statefulSrv *server
	stateless, stateful       http.Handler
}

// newEndpoint builds the servers and handlers of listener.
func (g *Gateway) newEndpoint(listener string) *Endpoint {
	e := &Endpoint{g: g, listener: listener, hybrid: g.opts.Mode == ModeHybrid}
	e.statelessSrv = g.newServer(listener, KindStateless)
	e.stateless = g.newHandler(e.statelessSrv)
	if e.hybrid {
		e.statefulSrv = g.newServer(listener, KindStateful)
		e.stateful = g.newHandler(e.statefulSrv)
	}
	return e
}

// Listener returns the endpoint's listener name.
func (e *Endpoint) Listener() string { return e.listener }

// Hybrid reports whether the endpoint runs in hybrid mode (stateful
// sessions); otherwise every request is served statelessly.
func (e *Endpoint) Hybrid() bool { return e.hybrid }

// ServeStateless serves r with the stateless handler (rows 3 and 5 of
// §5.4, and every request in stateless mode, where the SDK answers GET and
// DELETE 405 with Allow: POST).
func (e *Endpoint) ServeStateless(w http.ResponseWriter, r *http.Request) {
	e.serve(e.stateless, w, r)
}

// ServeListen serves a subscriptions/listen POST statelessly, holding the
// stream open; a caller keeps at most MaxSessionsPerCaller such streams on
// this replica, so opening one more ends its oldest (gateway.md §5.6).
func (e *Endpoint) ServeListen(w http.ResponseWriter, r *http.Request) {
	key := ""
	if ex, ok := ExchangeFrom(r.Context()); ok {
		key = ex.caller.Key
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	id := e.g.streams.open(e.listener, key, cancel)
	defer e.g.streams.close(key, id)
	e.serve(e.stateless, w, r.WithContext(ctx))
}

// ServeInitialize serves an initialize POST (row 2 of §5.4) and returns the
// handler kind that served it. In hybrid mode it creates a session on the
// stateful handler, first closing the caller's least recently used session
// when the caller is at its cap; at the global cap it serves the request
// statelessly (no session id, no push) and counts cap_fallback. The caller
// must already have removed MCP-Protocol-Version and Mcp-Session-Id (§5.2).
func (e *Endpoint) ServeInitialize(w http.ResponseWriter, r *http.Request) Kind {
	if !e.hybrid {
		e.serve(e.stateless, w, r)
		return KindStateless
	}
	key := ""
	if ex, ok := ExchangeFrom(r.Context()); ok {
		key = ex.caller.Key
	}
	ok, victims := e.g.reserveSession(key)
	if !ok {
		e.g.m.sessionEvent(eventCapFallback)
		e.serve(e.stateless, w, r)
		return KindStateless
	}
	for _, v := range victims {
		v.ep.closeSession(v.id)
		e.g.m.sessionEvent(eventEvicted)
	}
	e.serve(e.stateful, w, r)
	id := w.Header().Get(sessionIDHeader)
	if id != "" && e.sessionLive(id) {
		e.g.sessions.commit(e, key, id)
		e.g.m.sessionEvent(eventCreated)
	} else {
		e.g.sessions.release(key)
	}
	return KindStateful
}

// ServeSession serves a request for an existing session on the stateful
// handler (rows 1 and 4 of §5.4: GET, DELETE, POST with Mcp-Session-Id):
// the SDK answers 400 without a session id, 404 for an unknown or expired
// one and 403 for another caller's. A POST refreshes the session's last
// use in the index; a DELETE answered 204 removes it. In stateless mode the
// request goes to the stateless handler.
func (e *Endpoint) ServeSession(w http.ResponseWriter, r *http.Request) {
	if !e.hybrid {
		e.serve(e.stateless, w, r)
		return
	}
	id := r.Header.Get(sessionIDHeader)
	if r.Method == http.MethodPost && id != "" {
		e.g.sessions.touch(id)
	}
	sw := e.serve(e.stateful, w, r)
	if r.Method == http.MethodDelete && sw.Status() == http.StatusNoContent && e.g.sessions.remove(id) {
		e.g.m.sessionEvent(eventClosed)
	}
}

// serve hands r to h through the keepalive writer, with the placeholder
// bearer token the caller verifier needs.
func (e *Endpoint) serve(h http.Handler, w http.ResponseWriter, r *http.Request) *streamWriter {
	sw := newStreamWriter(w, e.g.opts.SSEKeepalive)
	defer sw.close()
	if ex, ok := ExchangeFrom(r.Context()); ok {
		ex.setStream(sw)
	}
	r.Header.Set("Authorization", bearerPlaceholder)
	h.ServeHTTP(sw, r)
	return sw
}

// sessionLive reports whether the stateful server holds session id.
func (e *Endpoint) sessionLive(id string) bool {
	for ss := range e.statefulSrv.sdk.Sessions() {
		if ss.ID() == id {
			return true
		}
	}
	return false
}

// closeSession closes session id of the stateful server, in the
// background: Close waits for the session's calls in flight. Its client
// gets 404 from then on and re-initialises.
func (e *Endpoint) closeSession(id string) {
	for ss := range e.statefulSrv.sdk.Sessions() {
		if ss.ID() == id {
			go func() { _ = ss.Close() }()
			return
		}
	}
}

// liveSessions returns the ids of the stateful server's sessions.
func (e *Endpoint) liveSessions() map[string]bool {
	live := map[string]bool{}
	if e.statefulSrv == nil {
		return live
	}
	for ss := range e.statefulSrv.sdk.Sessions() {
		live[ss.ID()] = true
	}
	return live
}
