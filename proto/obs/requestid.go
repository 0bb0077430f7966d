package obs

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

// RequestIDPolicy says what a listener does with a caller's X-Request-Id.
type RequestIDPolicy int

const (
	// KeepValid keeps a caller's id when it matches the request-id rule and
	// generates one otherwise (gateway listeners, backend, sandbox).
	KeepValid RequestIDPolicy = iota
	// AlwaysNew ignores the caller's id (the edge, the first hop).
	AlwaysNew
)

// NewRequestID returns a fresh UUIDv4 request id.
func NewRequestID() string { return uuid.NewString() }

// RequestIDMiddleware assigns every request its id according to policy,
// stores it in the request context (WithRequestID) and echoes it on the
// response. Typed clients copy it from the context onto outgoing calls.
func RequestIDMiddleware(policy RequestIDPolicy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(proto.HeaderRequestID)
		if policy == AlwaysNew || !proto.ValidRequestID(id) {
			id = NewRequestID()
		}
		r.Header.Set(proto.HeaderRequestID, id)
		w.Header().Set(proto.HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}

// AdoptRequestID makes id the request id of the request whose context is
// ctx: its later log lines, its access log line and the X-Request-Id header
// of w. It does nothing and reports false when ctx has no request id (the
// request did not pass RequestIDMiddleware) or id breaks the request-id
// rule. The sandbox adopts a request_id sent in the body (sandbox.md §4.1).
func AdoptRequestID(ctx context.Context, w http.ResponseWriter, id string) bool {
	h, _ := ctx.Value(requestIDKey).(*requestIDHolder)
	if h == nil || !proto.ValidRequestID(id) {
		return false
	}
	h.id.Store(&id)
	w.Header().Set(proto.HeaderRequestID, id)
	return true
}

// SetOutgoing copies the request id of r's context onto an outgoing request.
func SetOutgoing(r *http.Request) {
	if id := RequestID(r.Context()); id != "" {
		r.Header.Set(proto.HeaderRequestID, id)
	}
}
