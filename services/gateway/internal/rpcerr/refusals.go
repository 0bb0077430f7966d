package rpcerr

import (
	"fmt"
	"net/http"
	"time"
)

// AuthFailed is the 403 -32083 refusal of a missing or wrong service token
// on the remote listener, and of a service token sent to the local listener
// (§3.1, §6.1). Never 401: no client should start an OAuth dance because the
// edge is misconfigured.
func AuthFailed() *Refusal {
	return &Refusal{Status: http.StatusForbidden, Code: CodeAuthFailed, Message: MsgAuthFailed}
}

// AuthThrottled is the 429 -32081 refusal of a peer with too many failed
// service tokens (§6.1); wait is how long until its oldest failure leaves
// the window.
func AuthThrottled(wait time.Duration) *Refusal {
	s := Seconds(wait)
	return &Refusal{
		Status: http.StatusTooManyRequests, Code: CodeRateLimited, RetryAfter: wait,
		Message: fmt.Sprintf("Too many authentication failures from this address; retry after %d s", s),
		Data:    RetryData{RetryAfterS: s},
	}
}

// RateLimited is the 429 -32081 refusal of a caller over its rate limit
// (§6.5); wait is how long until one token is available.
func RateLimited(rpm int, wait time.Duration) *Refusal {
	s := Seconds(wait)
	return &Refusal{
		Status: http.StatusTooManyRequests, Code: CodeRateLimited, RetryAfter: wait,
		Message: fmt.Sprintf("Rate limit exceeded: %d requests per minute per user. Retry after %d s.", rpm, s),
		Data:    RateLimitData{RetryAfterS: s, LimitRPM: rpm},
	}
}

// Unavailable is a 503 -32082 refusal with Retry-After and
// data.retry_after_s.
func Unavailable(message string, wait time.Duration) *Refusal {
	return &Refusal{
		Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: message, RetryAfter: wait,
		Data: RetryData{RetryAfterS: Seconds(wait)},
	}
}

// PolicyUnavailable is the remote listener's answer while the remote-access
// policy has not loaded or is stale (§6.3): fail closed, Retry-After 5.
func PolicyUnavailable() *Refusal { return Unavailable(MsgPolicyUnavailable, PolicyRetryAfter) }

// ShuttingDown answers a request that arrives while draining (§12 step 3).
func ShuttingDown() *Refusal { return Unavailable(MsgShuttingDown, ShutdownRetryAfter) }

// AccessDenied is a -32080 refusal with the given status: 200 for a POST
// by a limited caller (the JSON-RPC error travels in band), 403 for GET and
// DELETE and for refused Host or Origin values.
func AccessDenied(status int, message string) *Refusal {
	return &Refusal{Status: status, Code: CodeAccessDenied, Message: message}
}

// InvalidRequest is a -32600 refusal: 400 for a batch, a non-object, a
// missing method or a malformed identity header; 413 for a body over the
// cap.
func InvalidRequest(status int, message string) *Refusal {
	return &Refusal{Status: status, Code: CodeInvalidRequest, Message: message}
}

// ParseError is the 400 -32700 refusal of a body that is not JSON.
func ParseError() *Refusal {
	return &Refusal{Status: http.StatusBadRequest, Code: CodeParseError, Message: MsgParseError}
}
