package ipc

import (
	"errors"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

const src = "package tool\n\nfunc Main() {}\n"

// started returns a Checker past ready and job with the given budget.
func started(t *testing.T, budget int) *Checker {
	t.Helper()
	c := NewChecker()
	if err := c.Check(&Ready{V: ProtocolVersion, PID: 7, VMSizeKB: 100}); err != nil {
		t.Fatal(err)
	}
	if err := c.JobSent(&Job{MaxHTTPRequests: budget, Code: []byte(src)}); err != nil {
		t.Fatal(err)
	}
	return c
}

func req(id int) *HTTPRequest { return &HTTPRequest{ID: id, Method: "GET", URL: "https://a.example/"} }

func TestCheckerOrderAndVersion(t *testing.T) {
	t.Parallel()
	c := NewChecker()
	if err := c.Check(&Stdout{}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("stdout before ready: %v", err)
	}
	if err := NewChecker().Check(&Ready{V: ProtocolVersion + 1, PID: 1, VMSizeKB: 1}); !errors.Is(err, ErrBadVersion) {
		t.Fatalf("version: %v", err)
	}
	if err := c.Check(&Ready{V: ProtocolVersion, PID: 1, VMSizeKB: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(&Ready{V: ProtocolVersion, PID: 1, VMSizeKB: 1}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("second ready: %v", err)
	}
	if err := c.Check(req(1)); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("request before job: %v", err)
	}
	if err := c.JobSent(&Job{MaxHTTPRequests: 1}); err != nil {
		t.Fatal(err)
	}
	// SB-66 (parent side): the parent never sends a worker a second job.
	if err := c.JobSent(&Job{}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("second job sent: %v", err)
	}
	if err := c.Check(&Result{OK: true, JSON: []byte("null")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(&Stdout{}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("stdout after result: %v", err)
	}
}

func TestCheckerHTTPIDs(t *testing.T) {
	t.Parallel()
	c := started(t, 8)
	for id := 1; id <= MaxInFlight; id++ {
		if err := c.Check(req(id)); err != nil {
			t.Fatalf("id %d: %v", id, err)
		}
	}
	// The fifth in flight is answered with an error, not a violation.
	err := c.Check(req(5))
	if !errors.Is(err, ErrTooManyInFlight) || errors.Is(err, ErrViolation) {
		t.Fatalf("fifth in flight: %v", err)
	}
	if err := c.Check(req(5)); !errors.Is(err, ErrBadID) {
		t.Fatalf("id reused after refusal: %v", err)
	}
	c.Responded(1)
	if c.InFlight() != MaxInFlight-1 {
		t.Fatalf("in flight %d", c.InFlight())
	}
	if err := c.Check(req(6)); err != nil {
		t.Fatalf("id 6 after a slot freed: %v", err)
	}
	for _, tc := range []struct {
		name string
		m    Message
		want error
	}{
		{"reused id", req(2), ErrBadID},
		{"over budget", req(9), ErrBadID},
		{"zero id", req(0), ErrBadID},
		{"over 100", req(101), ErrBadID},
		{"no url", &HTTPRequest{ID: 7, Method: "GET"}, ErrMalformed},
		{"cancel unknown", &HTTPCancel{ID: 8}, ErrBadID},
	} {
		if err := c.Check(tc.m); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := c.Check(&HTTPCancel{ID: 2}); err != nil {
		t.Fatalf("cancel issued id: %v", err)
	}
}

func TestCheckerResults(t *testing.T) {
	t.Parallel()
	e := func(typ proto.SandboxErrorType, line, col, httpID int) *Result {
		return &Result{Error: &ResultError{Type: typ, Message: "m", Line: line, Column: col, HTTPID: httpID}}
	}
	tests := []struct {
		name string
		r    *Result
		ok   bool
	}{
		{"ok", &Result{OK: true, JSON: []byte(`{"a":1}`)}, true},
		{"ok invalid json", &Result{OK: true, JSON: []byte(`{`)}, false},
		{"ok with error", &Result{OK: true, JSON: []byte(`1`), Error: &ResultError{Type: proto.ErrTypePanic}}, false},
		{"not ok no error", &Result{}, false},
		{"failure with payload", &Result{Error: &ResultError{Type: proto.ErrTypeToolError}, JSON: []byte("1")}, false},
		{"tool error", e(proto.ErrTypeToolError, 0, 0, 0), true},
		{"panic with position", e(proto.ErrTypePanic, 3, 14, 0), true},
		{"column at end of line", e(proto.ErrTypePanic, 3, 15, 0), true},
		{"line only", e(proto.ErrTypeCompileError, 1, 0, 0), true},
		{"line past file", e(proto.ErrTypePanic, 4, 1, 0), false},
		{"column past line", e(proto.ErrTypePanic, 1, 14, 0), false},
		{"column without line", e(proto.ErrTypePanic, 0, 2, 0), false},
		{"negative line", e(proto.ErrTypePanic, -1, 0, 0), false},
		{"worker claims Timeout", e(proto.ErrTypeTimeout, 0, 0, 0), false},
		{"worker claims EgressDenied", e(proto.ErrTypeEgressDenied, 0, 0, 0), false},
		{"worker claims MemoryLimitExceeded", e(proto.ErrTypeMemoryLimitExceeded, 0, 0, 0), false},
		{"http id issued", e(proto.ErrTypeToolError, 0, 0, 1), true},
		{"http id never issued", e(proto.ErrTypeToolError, 0, 0, 2), false},
		{"negative stdout_dropped", &Result{OK: true, JSON: []byte("1"), StdoutDropped: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := started(t, 3)
			if err := c.Check(req(1)); err != nil {
				t.Fatal(err)
			}
			err := c.Check(tc.r)
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrBadResult) {
				t.Fatalf("err = %v, want ErrBadResult", err)
			}
		})
	}
}

// SB-66 (worker unit part): a worker refuses a second job frame.
func TestJobGateRefusesSecondJob(t *testing.T) {
	t.Parallel()
	var g JobGate
	if err := g.Check(&HTTPResponse{ID: 1}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("response before job: %v", err)
	}
	if err := g.Check(&Job{}); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(&Job{}); !errors.Is(err, ErrSecondJob) || !errors.Is(err, ErrViolation) {
		t.Fatalf("second job: %v", err)
	}
	if err := g.Check(&HTTPResponse{ID: 1}); !errors.Is(err, ErrBadID) {
		t.Fatalf("unsolicited response: %v", err)
	}
	g.Sent(1)
	if err := g.Check(&HTTPResponse{ID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(&HTTPResponse{ID: 1}); !errors.Is(err, ErrBadID) {
		t.Fatalf("second response: %v", err)
	}
}
