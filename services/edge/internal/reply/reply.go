// Package reply writes the responses the edge produces itself (edge.md §12):
// a small JSON document {"error","error_description"} with a fixed text per
// code, Content-Type application/json, Cache-Control no-store and nosniff.
// Nothing in it echoes request input; the X-Request-Id response header (set
// by the request-id layer) is the support handle.
package reply

import (
	"net/http"
	"strconv"
)

// Error codes of §12.
const (
	InvalidRequest      = "invalid_request"
	Unauthorized        = "unauthorized"
	InvalidToken        = "invalid_token"
	InsufficientScope   = "insufficient_scope"
	AccessDenied        = "access_denied"
	OriginNotAllowed    = "origin_not_allowed"
	NotFound            = "not_found"
	MethodNotAllowed    = "method_not_allowed"
	RequestTimeout      = "request_timeout"
	RequestTooLarge     = "request_too_large"
	RateLimited         = "rate_limited"
	Internal            = "internal"
	UpstreamUnavailable = "upstream_unavailable"
	Unavailable         = "unavailable"
	UpstreamTimeout     = "upstream_timeout"
)

// descriptions are the fixed texts; the token phrases of §6.6 are passed by
// the caller instead (Description).
var descriptions = map[string]string{ //nolint:gochecknoglobals // constant table
	InvalidRequest:      "The request is malformed.",
	Unauthorized:        "A bearer token is required; see the resource metadata in WWW-Authenticate.",
	InvalidToken:        "The bearer token was not accepted.",
	InsufficientScope:   "The token lacks a required scope.",
	AccessDenied:        "This client is not allowed.",
	OriginNotAllowed:    "This origin is not allowed.",
	NotFound:            "Not found.",
	MethodNotAllowed:    "This method is not allowed on this path.",
	RequestTimeout:      "The request body was not received in time.",
	RequestTooLarge:     "The request body is too large.",
	RateLimited:         "Too many requests; retry after the time in Retry-After.",
	Internal:            "Internal error; quote the X-Request-Id header when reporting it.",
	UpstreamUnavailable: "The MCP server is unreachable; try again shortly.",
	Unavailable:         "The service is temporarily unavailable; retry after the time in Retry-After.",
	UpstreamTimeout:     "The MCP server did not answer in time.",
}

// Error writes status with the fixed body of code.
func Error(w http.ResponseWriter, status int, code string) {
	Description(w, status, code, descriptions[code])
}

// Description writes status with code and a caller-chosen fixed phrase
// (the token descriptions of §6.6). description must be a constant.
func Description(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	// Both strings are constants of this package or of tokencheck: plain
	// ASCII without quotes or backslashes, so no JSON encoder is needed.
	_, _ = w.Write([]byte(`{"error":"` + code + `","error_description":"` + description + `"}` + "\n"))
}

// RetryAfter sets the Retry-After header to whole seconds (at least 1).
func RetryAfter(w http.ResponseWriter, seconds int) {
	w.Header().Set("Retry-After", strconv.Itoa(max(seconds, 1)))
}
