package ipc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
)

// WorkerErrorTypes are the result.error.type values a worker may report
// (sandbox.md §11). Everything else (Timeout, MemoryLimitExceeded,
// EgressDenied ...) is decided by the parent from what it observed.
func WorkerErrorTypes() []proto.SandboxErrorType {
	return []proto.SandboxErrorType{
		proto.ErrTypeToolError, proto.ErrTypePanic, proto.ErrTypeInvalidArguments, proto.ErrTypeCompileError,
		proto.ErrTypeUnsupportedFeature, proto.ErrTypeInvalidResult, proto.ErrTypeOutputLimitExceeded,
	}
}

func workerMayReport(t proto.SandboxErrorType) bool {
	for _, w := range WorkerErrorTypes() {
		if t == w {
			return true
		}
	}
	return false
}

// phase is where a conversation stands.
type phase int

const (
	phaseStart phase = iota // nothing received yet
	phaseReady              // ready received, no job sent
	phaseJob                // job sent, result pending
	phaseDone               // result received
)

// Checker enforces, in the parent, the rules of sandbox.md §11 on everything
// one worker sends. Feed it every message the Reader returns (Check), and
// tell it what the parent sent (JobSent, Responded). Any error matching
// ErrViolation means: kill the worker, classify ipc_violation. It is not
// safe for concurrent use.
type Checker struct {
	phase    phase
	budget   int
	issued   [MaxHTTPID + 1]bool // ids the worker has used
	inFlight [MaxHTTPID + 1]bool // ids the parent is performing
	nFlight  int
	lines    []int // byte length of each line of the tool file
}

// NewChecker returns a Checker for a fresh worker (expects ready first).
func NewChecker() *Checker { return &Checker{} }

// JobSent records the job the parent sent: its HTTP budget and the tool
// source (positions in result are checked against it). A second call is
// refused: one job per worker (invariant I2).
func (c *Checker) JobSent(j *Job) error {
	if c.phase != phaseReady {
		return fmt.Errorf("%w: job sent in phase %d", ErrOutOfOrder, c.phase)
	}
	if j.MaxHTTPRequests < 0 || j.MaxHTTPRequests > MaxHTTPID {
		return fmt.Errorf("ipc: max_http_requests %d outside 0…%d", j.MaxHTTPRequests, MaxHTTPID)
	}
	c.phase = phaseJob
	c.budget = j.MaxHTTPRequests
	c.lines = lineLengths(j.Code)
	return nil
}

// Check validates one message received from the worker. For an
// http_request it returns ErrTooManyInFlight (not a violation) when
// MaxInFlight requests are already being performed: answer it with an error
// http_response; its id stays used.
func (c *Checker) Check(m Message) error {
	if c.phase == phaseDone {
		return fmt.Errorf("%w: %s after result", ErrOutOfOrder, m.MessageType())
	}
	switch m := m.(type) {
	case *Ready:
		if c.phase != phaseStart {
			return fmt.Errorf("%w: second ready", ErrOutOfOrder)
		}
		if m.V != ProtocolVersion {
			return fmt.Errorf("%w: worker speaks v%d, parent v%d", ErrBadVersion, m.V, ProtocolVersion)
		}
		if m.PID <= 0 || m.VMSizeKB <= 0 {
			return fmt.Errorf("%w: ready with pid %d, vm_size_kb %d", ErrMalformed, m.PID, m.VMSizeKB)
		}
		c.phase = phaseReady
		return nil
	case *Stdout:
		return c.inJob(m)
	case *HTTPRequest:
		return c.checkRequest(m)
	case *HTTPCancel:
		if err := c.inJob(m); err != nil {
			return err
		}
		if m.ID < 1 || m.ID > c.budget || !c.issued[m.ID] {
			return fmt.Errorf("%w: cancel of id %d that was never requested", ErrBadID, m.ID)
		}
		return nil
	case *Result:
		if err := c.inJob(m); err != nil {
			return err
		}
		if err := c.checkResult(m); err != nil {
			return err
		}
		c.phase = phaseDone
		return nil
	}
	return fmt.Errorf("%w: %s from a worker", ErrUnknownMessage, m.MessageType())
}

// Responded records that the parent has answered (or given up on) id, which
// frees its in-flight slot.
func (c *Checker) Responded(id int) {
	if id >= 1 && id <= MaxHTTPID && c.inFlight[id] {
		c.inFlight[id] = false
		c.nFlight--
	}
}

// InFlight reports how many requests the parent is performing.
func (c *Checker) InFlight() int { return c.nFlight }

func (c *Checker) inJob(m Message) error {
	if c.phase != phaseJob {
		return fmt.Errorf("%w: %s before job", ErrOutOfOrder, m.MessageType())
	}
	return nil
}

func (c *Checker) checkRequest(m *HTTPRequest) error {
	if err := c.inJob(m); err != nil {
		return err
	}
	if m.ID < 1 || m.ID > c.budget {
		return fmt.Errorf("%w: id %d outside 1…%d", ErrBadID, m.ID, c.budget)
	}
	if c.issued[m.ID] {
		return fmt.Errorf("%w: id %d reused", ErrBadID, m.ID)
	}
	if m.Method == "" || m.URL == "" || m.TimeoutMS < 0 {
		return fmt.Errorf("%w: http_request %d without method or url", ErrMalformed, m.ID)
	}
	c.issued[m.ID] = true
	if c.nFlight >= MaxInFlight {
		return fmt.Errorf("%w: id %d with %d in flight", ErrTooManyInFlight, m.ID, c.nFlight)
	}
	c.inFlight[m.ID] = true
	c.nFlight++
	return nil
}

func (c *Checker) checkResult(m *Result) error {
	if m.StdoutDropped < 0 {
		return fmt.Errorf("%w: stdout_dropped %d", ErrBadResult, m.StdoutDropped)
	}
	if m.OK {
		if m.Error != nil {
			return fmt.Errorf("%w: ok with an error", ErrBadResult)
		}
		if !json.Valid(m.JSON) {
			return fmt.Errorf("%w: result payload is not valid JSON", ErrBadResult)
		}
		return nil
	}
	e := m.Error
	switch {
	case e == nil:
		return fmt.Errorf("%w: not ok and no error", ErrBadResult)
	case len(m.JSON) != 0:
		return fmt.Errorf("%w: failed result with a payload", ErrBadResult)
	case !workerMayReport(e.Type):
		return fmt.Errorf("%w: error type %q is not one a worker may report", ErrBadResult, e.Type)
	case !utf8.ValidString(e.Message):
		return fmt.Errorf("%w: error message is not UTF-8", ErrBadResult)
	case e.HTTPID != 0 && (e.HTTPID < 1 || e.HTTPID > c.budget || !c.issued[e.HTTPID]):
		return fmt.Errorf("%w: http_id %d was never requested", ErrBadResult, e.HTTPID)
	}
	return c.checkPosition(e.Line, e.Column)
}

// checkPosition accepts 0/0 (no position), a line alone, or a line and a
// column within that line (one past its end allowed, for an error at EOL).
func (c *Checker) checkPosition(line, col int) error {
	switch {
	case line == 0 && col == 0:
		return nil
	case line < 1 || line > len(c.lines):
		return fmt.Errorf("%w: line %d outside 1…%d", ErrBadResult, line, len(c.lines))
	case col < 0 || col > c.lines[line-1]+1:
		return fmt.Errorf("%w: column %d outside line %d", ErrBadResult, col, line)
	}
	return nil
}

// lineLengths returns the byte length of each line of src (go/token counts
// columns in bytes). An empty file has no lines.
func lineLengths(src []byte) []int {
	if len(src) == 0 {
		return nil
	}
	var out []int
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			out = append(out, len(src))
			break
		}
		out = append(out, i)
		src = src[i+1:]
	}
	return out
}

// JobGate enforces, in the worker, what may arrive from the parent: exactly
// one job (invariant I2; the worker exits on ErrSecondJob) and responses
// only to requests the worker sent.
type JobGate struct {
	job     bool
	pending [MaxHTTPID + 1]bool
}

// Sent records an http_request the worker is about to send.
func (g *JobGate) Sent(id int) {
	if id >= 1 && id <= MaxHTTPID {
		g.pending[id] = true
	}
}

// Check validates one message received from the parent.
func (g *JobGate) Check(m Message) error {
	switch m := m.(type) {
	case *Job:
		if g.job {
			return ErrSecondJob
		}
		g.job = true
		return nil
	case *HTTPResponse:
		if !g.job {
			return fmt.Errorf("%w: http_response before job", ErrOutOfOrder)
		}
		if m.ID < 1 || m.ID > MaxHTTPID || !g.pending[m.ID] {
			return fmt.Errorf("%w: response to id %d that is not pending", ErrBadID, m.ID)
		}
		g.pending[m.ID] = false
		return nil
	}
	return fmt.Errorf("%w: %s from the parent", ErrUnknownMessage, m.MessageType())
}
