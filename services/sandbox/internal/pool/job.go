package pool

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/ipc"
)

// Job is one execution the API hands to the pool: everything the job frame
// carries, plus the egress session its HTTP goes through.
type Job struct {
	Mode          string // ipc.ModeRun or ipc.ModeCompile
	Code          string
	InputType     string
	Arguments     json.RawMessage
	Secrets       map[string]*string
	Withheld      []string
	ExtraPackages []string
	Timeout       time.Duration // the job's timeout_ms; the parent deadline adds 500 ms grace
	MemoryMB      int
	// Egress performs the tool's HTTP requests (one session per execution,
	// closed by the caller); nil means no network.
	Egress *egress.Session
}

// Outcome is what the parent observed of one execution (sandbox.md §4.2.3
// steps 7–9, before redaction and caps, which the API applies).
type Outcome struct {
	// Result is the worker's result frame when one arrived and the
	// classification kept it (§10 row 5), else nil.
	Result *ipc.Result
	// Error is the classified error when there is no usable result
	// (Timeout, MemoryLimitExceeded, SecurityViolation, WorkerCrashed, ...).
	Error *proto.ExecutionError
	// Cancelled is true when the caller went away (no body is sent).
	Cancelled bool
	// Stdout is the output received, at most the worker's keep limit.
	Stdout        []byte
	StdoutDropped bool
	// Calls are the parent's own records of the brokered HTTP calls, by IPC
	// id order (error.http, http_calls, EgressDenied confirmation).
	Calls []Call
	// Worker holds CPU, max RSS (from wait4) and the exit description.
	Worker proto.WorkerStats
	// Duration is wall time from job dispatch to outcome.
	Duration time.Duration
	// Class is the crash class for the metric ("" when none).
	Class string
	// PID is the worker's process id (logs: worker_pid); 0 when no worker
	// ran.
	PID int
	// JobFrames is the number of job frames the parent wrote to that
	// worker: always 1 (SB-66 instrumentation).
	JobFrames int
}

// Call is the parent's record of one brokered HTTP call of a worker.
type Call struct {
	ID       int
	Method   string
	URL      string
	Status   int
	Header   map[string][]string
	Preview  string // first 500 characters of the response body
	Duration time.Duration
	Err      error // *egress.BlockedError for a refusal
}

// Errors of Execute that are not outcomes of an execution.
var (
	// ErrSaturated: no capacity within MCPBOX_SANDBOX_QUEUE_WAIT_MS, or the
	// queue is full → 429 saturated with Retry-After: 1.
	ErrSaturated = errors.New("pool: saturated")
	// ErrNotReady: the pool is draining or cannot spawn workers → 503.
	ErrNotReady = errors.New("pool: not ready")
)
