package sandbox

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
)

// execute runs one call and returns its error.
func execute(t *testing.T, c *Client) error {
	t.Helper()
	_, err := c.Execute(t.Context(), executeRequest())
	return err
}

// gaugeIs checks mcpbox_gateway_sandbox_circuit_state.
func gaugeIs(t *testing.T, c *Client, want State) {
	t.Helper()
	if got := c.State(); got != want {
		t.Errorf("breaker state = %d, want %d", got, want)
	}
}

func TestGW69_FiveFailuresOpenTheBreakerAndAProbeClosesIt(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFakeSandbox(t, errorAnswer(http.StatusServiceUnavailable, proto.CodeNotReady, "starting"))
	c, reg := newTestClient(t, f.srv.URL, Options{Now: clock.Now}) // defaults: 5 failures, 30 s

	for i := range 5 {
		_ = asError(t, execute(t, c), NoResult)
		if i < 4 {
			gaugeIs(t, c, StateClosed)
		}
	}
	gaugeIs(t, c, StateOpen)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP mcpbox_gateway_sandbox_circuit_state State of the sandbox circuit breaker: 0 closed, 1 half-open, 2 open.
# TYPE mcpbox_gateway_sandbox_circuit_state gauge
mcpbox_gateway_sandbox_circuit_state 2
`), "mcpbox_gateway_sandbox_circuit_state"); err != nil {
		t.Error(err)
	}

	// Open: fails at once, without reaching the sandbox, saying when to retry.
	clock.Advance(10 * time.Second)
	e := asError(t, execute(t, c), CircuitOpen)
	if e.RetryAfter != 20*time.Second || e.Failures != 5 {
		t.Errorf("retry after %s with %d failures, want 20s and 5", e.RetryAfter, e.Failures)
	}
	if n := f.requests.Load(); n != 5 {
		t.Errorf("the sandbox saw %d requests, want 5 (the open breaker sends nothing)", n)
	}
	if got := count(c, EndpointExecute, resultCircuitOpen); got != 1 {
		t.Errorf("sandbox_requests_total{execute,circuit_open} = %v, want 1", got)
	}
	// Both endpoints share the breaker.
	_, err := c.MCPCall(t.Context(), proto.MCPCallRequest{Tool: "t"})
	_ = asError(t, err, CircuitOpen)

	// After the open period one probe passes; its success closes the breaker.
	clock.Advance(20 * time.Second)
	gaugeIs(t, c, StateHalfOpen)
	f.set(okAnswer())
	if err := execute(t, c); err != nil {
		t.Fatalf("probe: %v", err)
	}
	gaugeIs(t, c, StateClosed)
	if n := f.requests.Load(); n != 6 {
		t.Errorf("the sandbox saw %d requests, want 6", n)
	}
	if err := execute(t, c); err != nil {
		t.Errorf("call after closing: %v", err)
	}
}

func TestGW69_AFailedProbeReopensTheBreaker(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFakeSandbox(t, errorAnswer(http.StatusBadGateway, proto.CodeInternal, "bad"))
	c, _ := newTestClient(t, f.srv.URL, Options{Now: clock.Now, BreakerFailures: 2, BreakerOpen: time.Minute})
	_ = execute(t, c)
	_ = execute(t, c)
	gaugeIs(t, c, StateOpen)

	clock.Advance(time.Minute)
	_ = asError(t, execute(t, c), NoResult) // the probe fails
	gaugeIs(t, c, StateOpen)
	e := asError(t, execute(t, c), CircuitOpen)
	if e.RetryAfter != time.Minute || e.Failures != 3 {
		t.Errorf("retry after %s with %d failures, want a new full period and 3", e.RetryAfter, e.Failures)
	}
	if n := f.requests.Load(); n != 3 {
		t.Errorf("the sandbox saw %d requests, want 3", n)
	}
}

func TestGW69_ToolErrorsNeverOpenTheBreaker(t *testing.T) {
	t.Parallel()
	f := newFakeSandbox(t, toolErrorAnswer())
	c, _ := newTestClient(t, f.srv.URL, Options{BreakerFailures: 2})
	for range 10 {
		resp, err := c.Execute(t.Context(), executeRequest())
		if err != nil || resp.OK || resp.Error == nil || resp.Error.Type != proto.ErrTypeToolError {
			t.Fatalf("Execute = %+v, %v; want a tool error answer", resp, err)
		}
	}
	gaugeIs(t, c, StateClosed)
	if n := f.requests.Load(); n != 10 {
		t.Errorf("the sandbox saw %d requests, want 10", n)
	}
}

func TestGW70_SaturatedIsTypedAndNeitherCountsNorResets(t *testing.T) {
	t.Parallel()
	f := newFakeSandbox(t, errorAnswer(http.StatusInternalServerError, proto.CodeInternal, "x"))
	c, _ := newTestClient(t, f.srv.URL, Options{BreakerFailures: 5})
	for range 4 {
		_ = execute(t, c)
	}
	f.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2")
		errorAnswer(http.StatusTooManyRequests, proto.CodeSaturated, "the sandbox is at capacity; retry shortly")(w, r)
	})
	for range 10 {
		e := asError(t, execute(t, c), Saturated)
		if e.RetryAfter != 2*time.Second {
			t.Errorf("retry after = %s, want the sandbox's 2s", e.RetryAfter)
		}
	}
	gaugeIs(t, c, StateClosed)
	if got := count(c, EndpointExecute, resultSaturated); got != 10 {
		t.Errorf("sandbox_requests_total{execute,saturated} = %v, want 10", got)
	}
	// The 429s did not reset the 4 failures: one more opens the breaker.
	f.set(errorAnswer(http.StatusInternalServerError, proto.CodeInternal, "x"))
	_ = execute(t, c)
	gaugeIs(t, c, StateOpen)
}

func TestAnySuccessResetsTheFailureCount(t *testing.T) {
	t.Parallel()
	f := newFakeSandbox(t, errorAnswer(http.StatusInternalServerError, proto.CodeInternal, "x"))
	c, _ := newTestClient(t, f.srv.URL, Options{BreakerFailures: 3})
	_ = execute(t, c)
	_ = execute(t, c)
	f.set(toolErrorAnswer())
	_ = execute(t, c)
	f.set(errorAnswer(http.StatusInternalServerError, proto.CodeInternal, "x"))
	_ = execute(t, c)
	_ = execute(t, c)
	gaugeIs(t, c, StateClosed)
	_ = execute(t, c)
	gaugeIs(t, c, StateOpen)
}

func TestHalfOpenLetsExactlyOneProbeThrough(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFakeSandbox(t, errorAnswer(http.StatusInternalServerError, proto.CodeInternal, "x"))
	c, _ := newTestClient(t, f.srv.URL, Options{Now: clock.Now, BreakerFailures: 1})
	_ = execute(t, c)
	clock.Advance(DefaultBreakerOpen)

	arrived, release := make(chan struct{}), make(chan struct{})
	f.set(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		okAnswer()(w, r)
	})
	probe := make(chan error, 1)
	go func() { probe <- execute(t, c) }()
	<-arrived
	gaugeIs(t, c, StateHalfOpen)
	e := asError(t, execute(t, c), CircuitOpen)
	if e.RetryAfter != time.Second {
		t.Errorf("retry after = %s while the probe runs, want the 1 s floor", e.RetryAfter)
	}
	close(release)
	if err := <-probe; err != nil {
		t.Fatalf("probe: %v", err)
	}
	gaugeIs(t, c, StateClosed)
	if n := f.requests.Load(); n != 2 {
		t.Errorf("the sandbox saw %d requests, want 2", n)
	}
}

func TestANeutralProbeReleasesTheSlot(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := newBreaker(1, time.Second, clock.Now)
	tk, ref := b.allow()
	if ref != nil || tk.probe {
		t.Fatalf("closed breaker refused or probed: %+v %+v", tk, ref)
	}
	b.record(tk, failure)
	if b.state() != StateOpen {
		t.Fatalf("state = %d, want open", b.state())
	}
	clock.Advance(time.Second)
	tk, ref = b.allow()
	if ref != nil || !tk.probe {
		t.Fatalf("want a probe, got %+v %+v", tk, ref)
	}
	b.record(tk, neutral) // e.g. a 429 answered the probe
	if b.state() != StateHalfOpen {
		t.Errorf("state = %d after a neutral probe, want half-open", b.state())
	}
	tk, ref = b.allow()
	if ref != nil || !tk.probe {
		t.Fatalf("want a second probe, got %+v %+v", tk, ref)
	}
	// A stale success (sent before the breaker opened) does not close it.
	b.record(ticket{}, success)
	if b.state() != StateHalfOpen {
		t.Errorf("state = %d after a stale success, want half-open", b.state())
	}
	b.record(tk, success)
	if b.state() != StateClosed {
		t.Errorf("state = %d after a successful probe, want closed", b.state())
	}
}

func TestMetricsAreCompleteAndPassPromlint(t *testing.T) {
	t.Parallel()
	c, reg := newTestClient(t, "http://127.0.0.1:1", Options{})
	if n := testutil.CollectAndCount(c.metrics.requests); n != len(endpoints())*len(results()) {
		t.Errorf("sandbox_requests_total has %d series, want every endpoint × result at zero", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP mcpbox_gateway_sandbox_circuit_state State of the sandbox circuit breaker: 0 closed, 1 half-open, 2 open.
# TYPE mcpbox_gateway_sandbox_circuit_state gauge
mcpbox_gateway_sandbox_circuit_state 0
`), "mcpbox_gateway_sandbox_circuit_state"); err != nil {
		t.Error(err)
	}
}

// A success of a call sent before the breaker opened resets the live count
// but not what a refusal reports: the streak that opened the breaker (the
// e2e fault test saw "0 consecutive failures" before this).
func TestGW69_RefusalNamesTheStreakThatOpenedTheBreaker(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := newBreaker(3, time.Minute, clock.Now)
	var late ticket
	for i := range 3 {
		tk, r := b.allow()
		if r != nil {
			t.Fatalf("call %d refused while closed", i)
		}
		if i == 0 {
			late = tk // still in flight when the breaker opens
			continue
		}
		b.record(tk, failure)
	}
	late2, _ := b.allow()
	b.record(late2, failure) // the third failure opens it
	b.record(late, success)  // a call sent before, answered now
	_, r := b.allow()
	if r == nil || r.failures != 3 {
		t.Fatalf("refusal %+v, want 3 consecutive failures", r)
	}
	clock.Advance(time.Minute)
	probe, _ := b.allow()
	b.record(probe, failure)
	if _, r := b.allow(); r == nil || r.failures != 4 {
		t.Fatalf("refusal after a failed probe %+v, want 4", r)
	}
}
