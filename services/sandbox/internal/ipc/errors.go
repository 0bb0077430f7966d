package ipc

// Error is the type of this package's sentinel errors. They are constants,
// not variables: the worker runs tool code in its own process, and framing
// must not depend on any value that code could reach and change
// (sandbox.md §11).
type Error string

func (e Error) Error() string { return string(e) }

// Sentinel errors; match them with errors.Is.
const (
	// ErrClosed: the stream ended cleanly between two frames.
	ErrClosed Error = "ipc: stream closed"
	// ErrViolation is matched by every protocol violation below: the parent
	// kills the worker and classifies the run as ipc_violation (§10 row 3).
	ErrViolation Error = "ipc: protocol violation"
	// ErrFrameTooLarge: a frame declared a length over its direction's cap
	// (OutputLimitExceeded when the worker sent it).
	ErrFrameTooLarge = violationError("ipc: frame over cap")
	// ErrMalformed: lengths that do not fit, a header that is not a JSON
	// object, or a field of the wrong type.
	ErrMalformed = violationError("ipc: malformed frame")
	// ErrTruncated: the stream ended inside a frame.
	ErrTruncated = violationError("ipc: truncated frame")
	// ErrNoProgress: the underlying reader kept returning nothing.
	ErrNoProgress = violationError("ipc: reader made no progress")
	// ErrUnknownMessage: a type that does not exist or may not travel in
	// this direction.
	ErrUnknownMessage = violationError("ipc: unknown message type")
	// ErrOutOfOrder: a message the protocol does not allow at this point
	// (anything before ready, a second job, frames after result ...).
	ErrOutOfOrder = violationError("ipc: message out of order")
	// ErrBadID: an http id reused, outside 1…budget, or never issued.
	ErrBadID = violationError("ipc: bad http id")
	// ErrBadVersion: ready carried another protocol version.
	ErrBadVersion = violationError("ipc: protocol version mismatch")
	// ErrBadResult: a result frame the worker may not send (error type the
	// worker may not report, position outside the file, invalid JSON ...).
	ErrBadResult = violationError("ipc: invalid result")
	// ErrSecondJob: the worker received a second job frame (invariant I2).
	ErrSecondJob = violationError("ipc: second job frame")
)

// ErrTooManyInFlight is not a violation: the parent answers the request with
// an error http_response instead of performing it.
const ErrTooManyInFlight Error = "ipc: too many http requests in flight"

// violationError is an Error that also matches ErrViolation.
type violationError string

func (e violationError) Error() string { return string(e) }

// Is makes every violation match ErrViolation.
func (violationError) Is(target error) bool { return target == ErrViolation }
