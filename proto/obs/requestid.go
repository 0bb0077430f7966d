package obs

import (
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

// SetOutgoing copies the request id of r's context onto an outgoing request.
func SetOutgoing(r *http.Request) {
	if id := RequestID(r.Context()); id != "" {
		r.Header.Set(proto.HeaderRequestID, id)
	}
}
