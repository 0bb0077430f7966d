package caller

import (
	"net/http"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// IdentityError is a malformed identity header: an edge defect, answered
// 400 -32600 and not counted as a failed authentication (§6.2). It names
// the header, never the value.
type IdentityError struct {
	// Header is proto.HeaderUserEmail or proto.HeaderUserSub.
	Header string
}

func (e *IdentityError) Error() string { return "invalid " + e.Header + " header" }

// Refusal returns the 400 -32600 answer, "Invalid <header> header".
func (e *IdentityError) Refusal() *rpcerr.Refusal {
	return rpcerr.InvalidRequest(http.StatusBadRequest, "Invalid "+e.Header+" header")
}

// ParseIdentity returns the remote caller named by the identity headers of
// h (§6.2). X-MCPbox-User-Email must pass the email rule of contracts.md §2
// (proto.ValidEmail: at most 254 characters, one '@', a local part of
// [A-Za-z0-9._%+-], labels of [A-Za-z0-9-], a TLD of two or more letters)
// and is lowercased; X-MCPbox-User-Sub must be 1–255 printable ASCII
// characters (proto.ValidSub) and is kept as sent, subjects being
// case-sensitive. Both headers are optional; an absent or empty header means "not
// given" (the edge omits a header it has no valid value for). A header sent
// more than once is malformed: the edge sets each exactly once. The error is
// an *IdentityError.
func ParseIdentity(h http.Header) (Caller, error) {
	c, err := parseIdentity(h)
	if err != nil {
		return Caller{}, err
	}
	return c, nil
}

// parseIdentity is ParseIdentity with the concrete error type.
func parseIdentity(h http.Header) (Caller, *IdentityError) {
	email, ok := headerValue(h, proto.HeaderUserEmail, proto.ValidEmail)
	if !ok {
		return Caller{}, &IdentityError{Header: proto.HeaderUserEmail}
	}
	sub, ok := headerValue(h, proto.HeaderUserSub, proto.ValidSub)
	if !ok {
		return Caller{}, &IdentityError{Header: proto.HeaderUserSub}
	}
	return Remote(strings.ToLower(email), sub), nil
}

// headerValue returns the single value of the header name, "" when it is
// absent or empty; ok is false when it is sent twice or fails valid.
func headerValue(h http.Header, name string, valid func(string) bool) (string, bool) {
	values := h.Values(name)
	switch {
	case len(values) > 1:
		return "", false
	case len(values) == 0 || values[0] == "":
		return "", true
	}
	return values[0], valid(values[0])
}
