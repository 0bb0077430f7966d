// Package caller identifies who sent a request to /mcp (gateway.md §3, §6.1,
// §6.2): the local caller on the local listener, or a remote user named by
// the identity headers the edge sets. It also holds the checks that come
// before identity: Host and Origin, the failed-auth throttle and the service
// token. Refusals are JSON-RPC error bodies (package rpcerr).
package caller

import "context"

// Listener names, also the caller kinds and the label values of the
// listener metrics.
const (
	ListenerLocal  = "local"
	ListenerRemote = "remote"
)

// Fixed caller keys; the others are "sub:<sub>" and "email:<email>".
const (
	KeyLocal     = "local"
	KeyAnonymous = "anonymous"
)

// Caller is who sent a request. Rate limits, session binding, execution
// records and management forwarding use it; Email appears in logs and
// records, never in metric labels.
type Caller struct {
	// Listener is ListenerLocal or ListenerRemote.
	Listener string
	// Email is the validated, lowercased X-MCPbox-User-Email (remote only,
	// may be empty).
	Email string
	// Sub is the validated X-MCPbox-User-Sub (remote only, may be empty).
	Sub string
	// Key identifies the caller for rate limits and sessions: "local",
	// "sub:<sub>", "email:<email>" or "anonymous".
	Key string
}

// Local returns the caller of every request on the local listener.
func Local() Caller { return Caller{Listener: ListenerLocal, Key: KeyLocal} }

// Remote returns the remote caller with these already validated values. The
// key prefers the subject, which is stable when a user's email changes, then
// the email; a caller with neither is "anonymous".
func Remote(email, sub string) Caller {
	c := Caller{Listener: ListenerRemote, Email: email, Sub: sub, Key: KeyAnonymous}
	switch {
	case sub != "":
		c.Key = "sub:" + sub
	case email != "":
		c.Key = "email:" + email
	}
	return c
}

// IsLocal reports whether c came through the local listener.
func (c Caller) IsLocal() bool { return c.Listener == ListenerLocal }

type contextKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// FromContext returns the caller stored by WithCaller.
func FromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(contextKey{}).(Caller)
	return c, ok
}
