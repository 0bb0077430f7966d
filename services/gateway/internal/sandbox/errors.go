package sandbox

import (
	"fmt"
	"strconv"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// Endpoint names a sandbox route; it is the endpoint label of
// mcpbox_gateway_sandbox_requests_total.
type Endpoint string

// The sandbox routes the gateway calls.
const (
	EndpointExecute Endpoint = "execute"
	EndpointMCPCall Endpoint = "mcp_call"
)

// endpoints lists every Endpoint, for metric pre-registration.
func endpoints() []Endpoint { return []Endpoint{EndpointExecute, EndpointMCPCall} }

// path is the endpoint's route under the base URL.
func (e Endpoint) path() string {
	if e == EndpointMCPCall {
		return "/v1/mcp/call"
	}
	return "/v1/execute"
}

// Kind classifies a failed call (see the package comment).
type Kind int

// The kinds of failure.
const (
	// CircuitOpen: the breaker is open (or a probe is in flight); nothing
	// was sent. RetryAfter and Failures are set.
	CircuitOpen Kind = iota + 1
	// Saturated: 429 saturated; RetryAfter is the sandbox's Retry-After.
	Saturated
	// HashMismatch: 409 hash_mismatch; Remote holds both hashes.
	HashMismatch
	// Unreachable: the request was not sent (connection refused, dial
	// timeout, DNS): the tool did not run.
	Unreachable
	// NoResult: the request was sent but no usable answer came back; Cause
	// says why. The tool may have run.
	NoResult
	// Rejected: a 4xx other than 409 and 429; Remote holds the sandbox's
	// error body when it decoded.
	Rejected
	// Cancelled: the caller's context ended before the answer; Err wraps
	// the context's error.
	Cancelled
)

// String returns the kind's name in snake_case.
func (k Kind) String() string {
	switch k {
	case CircuitOpen:
		return "circuit_open"
	case Saturated:
		return "saturated"
	case HashMismatch:
		return "hash_mismatch"
	case Unreachable:
		return "unreachable"
	case NoResult:
		return "no_result"
	case Rejected:
		return "rejected"
	case Cancelled:
		return "cancelled"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Causes of a NoResult error, used verbatim in the text of gateway.md §8.5
// ("did not return a result for <name> (<cause>)"). A timeout's cause is
// built by timeoutCause and a 5xx's by statusCause.
const (
	CauseConnectionLost = "connection lost"
	// CauseInvalidAnswer: a 200 (or other unexpected status) whose body did
	// not decode or broke the contract of sandbox.md §4.2.4 / §4.6.
	CauseInvalidAnswer = "invalid answer"
)

// Error is a failed sandbox call. Its text never holds the service token,
// the request body (code, arguments, secrets) or the answer's result: only
// the endpoint, the kind, the status, the sandbox's error code and message
// (which sandbox.md §4.1 keeps free of those) and transport errors.
type Error struct {
	// Endpoint is the route that was called.
	Endpoint Endpoint
	// Kind classifies the failure.
	Kind Kind
	// Status is the HTTP status of the answer, 0 when none arrived.
	Status int
	// Remote is the sandbox's decoded error body of a non-200 answer, when
	// it decoded.
	Remote *proto.Error
	// RetryAfter is set for Saturated (the sandbox's Retry-After, 1 s by
	// default) and CircuitOpen (time until the breaker lets a probe
	// through, at least 1 s).
	RetryAfter time.Duration
	// Failures is the number of consecutive failures that keep the breaker
	// open (CircuitOpen only).
	Failures int
	// Cause is the short reason of a NoResult: "timeout after N s",
	// "connection lost", "HTTP 502" or "invalid answer".
	Cause string
	// Err is the underlying error, for logs; may be nil.
	Err error
}

// Error describes the failure for the logs.
func (e *Error) Error() string {
	msg := "sandbox " + string(e.Endpoint) + ": " + e.Kind.String()
	if e.Cause != "" {
		msg += " (" + e.Cause + ")"
	} else if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Remote != nil && e.Remote.Code != "" {
		msg += ": " + e.Remote.Code + ": " + e.Remote.Message
	}
	if e.Kind == CircuitOpen {
		msg += fmt.Sprintf(": %d consecutive failures, retry in %s", e.Failures, e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error, so errors.Is(err, context.Canceled)
// holds for a Cancelled error.
func (e *Error) Unwrap() error { return e.Err }

// timeoutCause is the cause of a call ended by its own timeout: "timeout
// after 45 s", "timeout after 1.2 s".
func timeoutCause(d time.Duration) string {
	return "timeout after " + Seconds(d) + " s"
}

// statusCause is the cause of a 5xx or other unexpected status: "HTTP 502".
func statusCause(status int) string { return "HTTP " + strconv.Itoa(status) }

// Seconds formats d in seconds with at most one decimal and no trailing
// ".0" ("45", "1.2", "0.1"), the form of the texts of gateway.md §8.5.
func Seconds(d time.Duration) string {
	tenths := (d + 50*time.Millisecond) / (100 * time.Millisecond)
	s := strconv.FormatInt(int64(tenths/10), 10)
	if r := tenths % 10; r != 0 {
		s += "." + strconv.FormatInt(int64(r), 10)
	}
	return s
}
