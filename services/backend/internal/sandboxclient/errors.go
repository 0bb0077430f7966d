package sandboxclient

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// Op names one call of the client; it is the op label of the metrics and is
// carried by every *Error.
type Op string

// The operations of backend.md §11.1 (the op label values of
// mcpbox_backend_sandbox_requests_total).
const (
	OpAnalyze  Op = "analyze"
	OpExecute  Op = "execute"
	OpDiscover Op = "discover"
	OpFetch    Op = "fetch"
	OpPackages Op = "packages"
	OpReadyz   Op = "readyz"
)

// ops lists every Op, in the order of the table.
func ops() []Op { return []Op{OpAnalyze, OpExecute, OpDiscover, OpFetch, OpPackages, OpReadyz} }

// Kind classifies a failed call (backend.md §11.1).
type Kind int

// The kinds of failure.
const (
	// Unavailable: no answer (connect error, the call's deadline, a body cut
	// off) or a 5xx answer. Maps to 503 sandbox_unavailable.
	Unavailable Kind = iota + 1
	// Busy: 429 saturated; RetryAfter says when to retry. Maps to 503 busy.
	Busy
	// Malformed: an answer that does not decode or breaks the contract of
	// sandbox.md §4. Maps to 502 sandbox_error.
	Malformed
	// Refused: a 4xx other than 429, with its decoded proto.Error in Remote
	// (409 hash_mismatch, 400 naming a field, 401 for a wrong token). The
	// caller maps the codes it expects; the rest map to 502 sandbox_error.
	Refused
)

// String returns the kind's name in lower case.
func (k Kind) String() string {
	switch k {
	case Unavailable:
		return "unavailable"
	case Busy:
		return "busy"
	case Malformed:
		return "malformed"
	case Refused:
		return "refused"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Sentinels for errors.Is: errors.Is(err, ErrUnavailable) is true when err
// is, or wraps, an *Error of Kind Unavailable; likewise for the others.
var (
	ErrUnavailable = errors.New("sandbox unavailable")
	ErrBusy        = errors.New("sandbox busy")
	ErrMalformed   = errors.New("malformed sandbox answer")
	ErrRefused     = errors.New("sandbox refused the request")
)

// defaultBusyRetryAfter is the Retry-After of a 429 without a usable header
// (the sandbox sends 1, sandbox.md §9).
const defaultBusyRetryAfter = time.Second

// defaultUnavailableRetryAfter is the Retry-After the backend suggests for a
// 503 sandbox_unavailable when the sandbox sent none (backend.md §15.1 wants
// one on every 503).
const defaultUnavailableRetryAfter = 5 * time.Second

// maxRetryAfter caps a Retry-After taken from the sandbox's header.
const maxRetryAfter = time.Minute

// Error is a failed sandbox call. Its messages never contain the service
// token, the request body (tool code, arguments) or secret values: they hold
// the op, the status, the sandbox's error code and message (which
// sandbox.md §4.1 keeps free of those) and transport errors.
type Error struct {
	// Op is the call that failed.
	Op Op
	// Kind classifies the failure.
	Kind Kind
	// HTTPStatus is the status of the sandbox's answer, 0 when none arrived.
	HTTPStatus int
	// Attempts is how many times the request was sent (retries on connect
	// errors included).
	Attempts int
	// RetryAfter is the delay the sandbox asked for: set for Busy (default
	// 1 s) and for a 5xx that sent a Retry-After header; zero otherwise.
	RetryAfter time.Duration
	// Remote is the sandbox's decoded error body: always set for Refused,
	// and for other statuses when the body decoded (a 503 not_ready).
	Remote *proto.Error
	// Timeout reports that the call's deadline (or the caller's) ended it.
	Timeout bool
	// Err is the cause (transport or decoding error), for logs; may be nil.
	Err error
}

// Error describes the failure for the logs.
func (e *Error) Error() string {
	msg := "sandbox " + string(e.Op) + ": " + e.Kind.String()
	switch {
	case e.HTTPStatus != 0:
		msg += fmt.Sprintf(" (HTTP %d", e.HTTPStatus)
		if e.Remote != nil && e.Remote.Code != "" {
			msg += " " + e.Remote.Code
		}
		msg += ")"
	case e.Timeout:
		msg += " (no answer before the deadline)"
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if e.Remote != nil && e.Remote.Message != "" {
		msg += ": " + e.Remote.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause, so errors.Is(err, context.DeadlineExceeded) and
// errors.As(err, &netErr) see through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's Kind.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnavailable:
		return e.Kind == Unavailable
	case ErrBusy:
		return e.Kind == Busy
	case ErrMalformed:
		return e.Kind == Malformed
	case ErrRefused:
		return e.Kind == Refused
	}
	return false
}

// Status returns the HTTP status the backend answers with (backend.md
// §11.1, §15.1): 503 for Unavailable and Busy, 502 for Malformed and for a
// Refused the caller did not map itself.
func (e *Error) Status() int {
	switch e.Kind {
	case Unavailable, Busy:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}

// Code returns the backend's error code for Status: sandbox_unavailable,
// busy or sandbox_error.
func (e *Error) Code() string {
	switch e.Kind {
	case Unavailable:
		return proto.CodeSandboxUnavailable
	case Busy:
		return proto.CodeBusy
	}
	return proto.CodeSandboxError
}

// RetryAfterSeconds returns the value of the Retry-After header the backend
// sends with Status: whole seconds, at least 1, for the 503s (Busy: the
// sandbox's delay; Unavailable: the sandbox's delay when a 5xx gave one,
// else 5 s), and 0 for the 502s, which carry none.
func (e *Error) RetryAfterSeconds() int {
	d := e.RetryAfter
	switch e.Kind {
	case Busy:
		if d <= 0 {
			d = defaultBusyRetryAfter
		}
	case Unavailable:
		if d <= 0 {
			d = defaultUnavailableRetryAfter
		}
	default:
		return 0
	}
	return max(1, int((d+time.Second-1)/time.Second))
}

// Message returns a client-facing message for the backend's error body: it
// says what happened and what to do, and holds no internal text (addresses,
// transport errors) and never the sandbox's own message for a refusal,
// which describes the backend's request rather than the caller's.
func (e *Error) Message() string {
	switch e.Kind {
	case Unavailable:
		if e.Timeout {
			return fmt.Sprintf("The sandbox did not answer the %s request in time; retry in a few seconds, "+
				"and if it keeps failing check the sandbox in GET /api/v1/system/status.", e.Op)
		}
		return fmt.Sprintf("The sandbox is unavailable (%s); retry in a few seconds, "+
			"and if it keeps failing check the sandbox in GET /api/v1/system/status.", e.Op)
	case Busy:
		return fmt.Sprintf("The sandbox is saturated (every worker is busy); retry after %d s.", e.RetryAfterSeconds())
	case Malformed:
		return fmt.Sprintf("The sandbox sent an answer to the %s request that the backend could not use; "+
			"retry, and if it persists report the request_id (the backend and sandbox versions may not match).", e.Op)
	case Refused:
		code := "an error"
		if e.Remote != nil && e.Remote.Code != "" {
			code = e.Remote.Code
		}
		if e.HTTPStatus == http.StatusUnauthorized {
			return fmt.Sprintf("The sandbox refused the backend's %s request (%s): MCPBOX_SANDBOX_TOKEN does not "+
				"match the sandbox's token; an operator must fix the configuration.", e.Op, code)
		}
		return fmt.Sprintf("The sandbox refused the backend's %s request (%s); this is a backend defect: "+
			"report the request_id.", e.Op, code)
	}
	return "The sandbox call failed; report the request_id."
}
