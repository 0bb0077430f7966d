package backend

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

// Endpoint names one endpoint of the internal API; the values are the
// endpoint label of mcpbox_gateway_backend_requests_total.
type Endpoint string

// The endpoints of gateway.md §13.
const (
	EndpointCatalog    Endpoint = "catalog"
	EndpointPolicy     Endpoint = "policy"
	EndpointPlan       Endpoint = "plan"
	EndpointManage     Endpoint = "manage"
	EndpointExecutions Endpoint = "executions"
	EndpointEvents     Endpoint = "events"
)

// endpoints lists every Endpoint, for metric pre-registration.
func endpoints() []Endpoint {
	return []Endpoint{
		EndpointCatalog, EndpointPolicy, EndpointPlan, EndpointManage, EndpointExecutions, EndpointEvents,
	}
}

// ErrEventStreamIdle is the cause of an event stream ended by the client
// because no byte arrived for the idle limit (45 s, gateway.md §7.2).
var ErrEventStreamIdle = errors.New("no byte from the backend's event stream within the idle limit")

// TransportError is a request that got no complete answer: the connection
// could not be made, was lost, or a deadline passed. It is retryable.
type TransportError struct {
	Endpoint Endpoint
	// Sent reports whether any of the request was written. False means the
	// backend cannot have seen it (connection refused, DNS failure, dial
	// timeout); true means it may have been processed.
	Sent bool
	// Timeout reports that a deadline ended the request: the call's own, the
	// caller's, or the event stream's idle limit.
	Timeout bool
	// Err is the cause, for logs.
	Err error
}

// Error describes the failure for logs.
func (e *TransportError) Error() string {
	what := "no answer"
	switch {
	case !e.Sent:
		what = "not sent"
	case e.Timeout:
		what = "no answer before the deadline"
	}
	return fmt.Sprintf("backend %s: %s: %v", e.Endpoint, what, e.Err)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// Permanent is false: a request without an answer may be sent again (the
// record sender retries it).
func (e *TransportError) Permanent() bool { return false }

// HTTPStatus is 0: no answer arrived.
func (e *TransportError) HTTPStatus() int { return 0 }

// RequestError is a request the client could not build (a value that does
// not encode as JSON, such as an invalid json.RawMessage): a defect of the
// caller's data, never sent, and permanent.
type RequestError struct {
	Endpoint Endpoint
	Err      error
}

// Error describes the failure for logs.
func (e *RequestError) Error() string {
	return fmt.Sprintf("backend %s: build the request: %v", e.Endpoint, e.Err)
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// Permanent is true: the same data cannot encode on a second try.
func (e *RequestError) Permanent() bool { return true }

// HTTPStatus is 0: nothing was sent.
func (e *RequestError) HTTPStatus() int { return 0 }

// HTTPError is an answer with a status the endpoint does not expect. Code,
// Message and RequestID come from the backend's error envelope (backend.md
// §15.1) and are empty when the body was not one.
type HTTPError struct {
	Endpoint  Endpoint
	Status    int
	Code      string
	Message   string
	RequestID string
}

// newHTTPError builds the error of a non-success answer from its body.
func newHTTPError(ep Endpoint, status int, body []byte) *HTTPError {
	e := &HTTPError{Endpoint: ep, Status: status}
	if env, ok := decodeEnvelope(body); ok {
		e.Code, e.Message, e.RequestID = env.Code, env.Message, env.RequestID
	}
	return e
}

// Error describes the answer for logs.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("backend %s: HTTP %d", e.Endpoint, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RequestID != "" {
		msg += " (backend request " + e.RequestID + ")"
	}
	return msg
}

// HTTPStatus returns the answer's status.
func (e *HTTPError) HTTPStatus() int { return e.Status }

// Permanent reports a 4xx: the backend refused the request itself, so
// sending it again cannot succeed (the record sender drops the batch, §9).
// A 5xx or any other status is retryable.
func (e *HTTPError) Permanent() bool {
	return e.Status >= http.StatusBadRequest && e.Status < http.StatusInternalServerError
}

// MalformedError is a success answer that breaks the contract: a body that
// does not decode, a wrong content type, a plan for another tool, an event
// whose data does not decode. The backend processed the request.
type MalformedError struct {
	Endpoint Endpoint
	Status   int
	// Err says what is wrong.
	Err error
}

// Error describes the answer for logs.
func (e *MalformedError) Error() string {
	return fmt.Sprintf("backend %s: malformed answer (HTTP %d): %v", e.Endpoint, e.Status, e.Err)
}

// Unwrap returns the cause.
func (e *MalformedError) Unwrap() error { return e.Err }

// NotCallableError is a plan request answered 404: the tool does not exist
// (gateway.md §8.3 "404 → not callable").
type NotCallableError struct {
	ToolID  uuid.UUID
	Version int
	// Message is the backend's message ("Tool <id> not found."), safe to
	// show to a client.
	Message string
}

// Error describes the refusal for logs.
func (e *NotCallableError) Error() string {
	return fmt.Sprintf("backend plan %s v%d: not callable: %s", e.ToolID, e.Version, e.Message)
}

// PlanRefusedError is a plan request answered 409: the version is not
// executable now. Code is not_executable, secret_missing or
// source_auth_failed (or another code a newer backend sends); Message is
// the backend's sentence saying why and what to do, which the gateway
// returns to the client (gateway.md §8.3).
type PlanRefusedError struct {
	ToolID  uuid.UUID
	Version int
	Code    string
	Message string
}

// Error describes the refusal for logs.
func (e *PlanRefusedError) Error() string {
	return fmt.Sprintf("backend plan %s v%d: %s: %s", e.ToolID, e.Version, e.Code, e.Message)
}

// ManageErrorKind is one of the failure classes of a management call
// (gateway.md §10.2).
type ManageErrorKind int

// The failure classes of a management call.
const (
	// ManageNotSent: the request never reached the backend (connection
	// refused, DNS failure, dial timeout): nothing was changed.
	ManageNotSent ManageErrorKind = iota + 1
	// ManageUnconfirmed: the request was sent but no usable answer came back
	// (timeout, lost connection, a 5xx, an unreadable 200): the operation may
	// have been applied.
	ManageUnconfirmed
	// ManageUnknownTool: 404 unknown_tool, the backend has no such
	// operation (an internal error of the gateway, logged).
	ManageUnknownTool
	// ManageRefused: another 4xx (401 wrong token, 400 invalid_json, 404 of
	// a wrong base URL): refused before processing, a deployment or gateway
	// defect (internal error, logged).
	ManageRefused
)

// String returns the class's name.
func (k ManageErrorKind) String() string {
	switch k {
	case ManageNotSent:
		return "not_sent"
	case ManageUnconfirmed:
		return "unconfirmed"
	case ManageUnknownTool:
		return "unknown_tool"
	case ManageRefused:
		return "refused"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ManageError is a failed management call. Err is the underlying
// *TransportError, *HTTPError or *MalformedError.
type ManageError struct {
	Tool proto.ManagementTool
	Kind ManageErrorKind
	// Cause is a short lowercase phrase for the "(<cause>)" of the texts of
	// gateway.md §10.2, such as "no answer within 30s", "the connection was
	// lost" or "HTTP 503 unavailable". It holds no internal address.
	Cause string
	Err   error
}

// Error describes the failure for logs.
func (e *ManageError) Error() string {
	return fmt.Sprintf("manage %s: %s (%s): %v", e.Tool, e.Kind, e.Cause, e.Err)
}

// Unwrap returns the underlying error.
func (e *ManageError) Unwrap() error { return e.Err }
