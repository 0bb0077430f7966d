package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The fault tests' load generator: a few workers calling the fault
// server's tools through the gateway's local listener with the go-sdk
// client, each call with its own deadline and a unique sequence number in
// its arguments, and a tally of every call, by the phase (scenario) it
// started in.

const (
	faultServer = "fault"
	faultAdd    = faultServer + "__add"
	faultSlow   = faultServer + "__slow"
	// faultCallDeadline bounds every call: an answer later than this is a
	// hang (the gateway's own sandbox timeout is 3 s).
	faultCallDeadline = 10 * time.Second
)

// faultAddCode adds a and b; the load generator passes its call's sequence
// number as a, so a record names its call.
const faultAddCode = `package tool

import "context"

// Input holds the two numbers to add.
type Input struct {
	A int ` + "`json:\"a\" jsonschema:\"first addend\"`" + `
	B int ` + "`json:\"b\" jsonschema:\"second addend\"`" + `
}

// Main adds a and b.
func Main(ctx context.Context, in Input) (any, error) {
	return map[string]int{"sum": in.A + in.B}, nil
}
`

// faultSlowCode sleeps ms milliseconds (n is the call's sequence number).
const faultSlowCode = `package tool

import (
	"context"
	"time"
)

// Input says how long to sleep.
type Input struct {
	MS int ` + "`json:\"ms\" jsonschema:\"milliseconds to sleep\"`" + `
	N  int ` + "`json:\"n\" jsonschema:\"the caller's sequence number\"`" + `
}

// Main sleeps ms milliseconds and returns n.
func Main(ctx context.Context, in Input) (any, error) {
	time.Sleep(time.Duration(in.MS) * time.Millisecond)
	return map[string]int{"n": in.N}, nil
}
`

// callClass is how a call ended, as the client saw it.
type callClass string

const (
	classOK        callClass = "ok"
	classToolError callClass = "isError"
	classRPCError  callClass = "rpc_error"
	classTransport callClass = "transport" // no answer within the deadline, or a broken connection
)

// faultCall is one call of the load generator.
type faultCall struct {
	seq        int64
	tool       string
	phase      string
	start, end time.Time
	class      callClass
	text       string // the isError text, or the error
	rpcCode    int64
	requestID  string // _meta io.mcpbox/execution request_id
}

// kind names the call's answer: ok, one of the documented failure texts of
// gateway.md §8.5 (with sandbox.md §10's classification for worker
// deaths), or "unexpected".
func (c faultCall) kind() string {
	switch c.class {
	case classOK:
		return "ok"
	case classRPCError:
		return fmt.Sprintf("rpc_error %d", c.rpcCode)
	case classTransport:
		return "transport"
	case classToolError:
	}
	for _, k := range failureKinds {
		if m := k.re.FindStringSubmatch(c.text); m != nil && (k.nameGroup == 0 || m[k.nameGroup] == c.tool) &&
			(k.check == nil || k.check(m)) {
			return k.name
		}
	}
	return "unexpected"
}

// failureKinds are the documented failure texts the fault scenarios may
// produce.
var failureKinds = []struct {
	name      string
	re        *regexp.Regexp
	nameGroup int // the submatch that must be the called tool, 0 for none
	check     func(m []string) bool
}{
	{"connection lost", regexp.MustCompile(`^The MCPbox sandbox did not return a result for (\S+) \(connection lost\)\. ` +
		`The tool may have run; it was not retried\. Check its effects before calling it again\.$`), 1, nil},
	{"timeout", regexp.MustCompile(`^The MCPbox sandbox did not return a result for (\S+) \(timeout after ` +
		fmt.Sprint((faultToolTimeoutMS/1000)+int(faultExecMargin/time.Second)) + ` s\)\. ` +
		`The tool may have run; it was not retried\. Check its effects before calling it again\.$`), 1, nil},
	{"http 5xx", regexp.MustCompile(`^The MCPbox sandbox did not return a result for (\S+) \(HTTP 5\d\d\)\. ` +
		`The tool may have run; it was not retried\. Check its effects before calling it again\.$`), 1, nil},
	{"unreachable", regexp.MustCompile(`^The MCPbox sandbox is unreachable; the tool did not run\.$`), 0, nil},
	// The count is the run of failures that opened the breaker: at least
	// MCPBOX_GATEWAY_BREAKER_FAILURES (calls already sent may add to it);
	// the retry hint is at most the open period.
	{"circuit open", regexp.MustCompile(`^The MCPbox sandbox is unavailable \((\d+) consecutive failures\); ` +
		`the tool did not run\. Retry in about (\d+) s\.$`), 0, func(m []string) bool {
		n, _ := strconv.Atoi(m[1])
		s, _ := strconv.Atoi(m[2])
		return n >= faultBreakerFailures && s >= 1 && s <= int(faultBreakerOpen/time.Second)
	}},
	// sandbox.md §10 row 8: a SIGKILL the parent did not send (§4.2.5's
	// message), with gateway.md §8.5's hint.
	{"worker oom-killed", regexp.MustCompile(`^MemoryLimitExceeded: Tool exceeded its (\d+) MiB memory limit\.[^\n]*` +
		`\n\nNext step: Process less data per call \(limit (\d+) MiB\)\.$`), 0, func(m []string) bool { return m[1] == m[2] }},
	// Row 14: any other death without a result.
	{"worker crashed", regexp.MustCompile(`^WorkerCrashed: The worker was killed by terminated\.$`), 0, nil},
}

// loadGen is the running load generator.
type loadGen struct {
	t       *testing.T
	clients []*goClient
	phase   atomic.Pointer[string]
	seq     atomic.Int64
	// inflight counts the calls of each tool waiting for an answer.
	inflight sync.Map // tool → *atomic.Int64

	mu    sync.Mutex
	calls []faultCall
	// phaseInflight counts the calls waiting for an answer by the phase
	// they started in.
	phaseInflight map[string]int

	stop chan struct{}
	wg   sync.WaitGroup
}

// startLoad starts workers callers: even ones call the slow tool (300 ms),
// odd ones add, each pausing 100 ms between calls (about 20 calls/s in
// all).
func startLoad(t *testing.T, workers int) *loadGen {
	t.Helper()
	g := &loadGen{t: t, stop: make(chan struct{}), phaseInflight: map[string]int{}}
	g.setPhase("warmup")
	for range workers {
		g.clients = append(g.clients, connectGo(t, faultLocalMCPURL, nil))
	}
	for i, c := range g.clients {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			for {
				if i%2 == 0 {
					g.call(c, faultSlow, func(n int64) map[string]any { return map[string]any{"ms": 300, "n": n} })
				} else {
					g.call(c, faultAdd, func(n int64) map[string]any { return map[string]any{"a": n, "b": i} })
				}
				select {
				case <-g.stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
	}
	t.Cleanup(g.end)
	return g
}

// end stops the workers and waits for their last calls.
func (g *loadGen) end() {
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
	g.wg.Wait()
}

// setPhase starts phase: later calls belong to it.
func (g *loadGen) setPhase(p string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.phase.Store(&p)
}

// waitPhaseAlone waits until no call of an earlier phase is in flight, so
// a fault injected now meets only calls of the current phase.
func (g *loadGen) waitPhaseAlone(t *testing.T) {
	t.Helper()
	waitFor(t, "the calls of the previous phase to end", func() (bool, string) {
		g.mu.Lock()
		defer g.mu.Unlock()
		cur := *g.phase.Load()
		for p, n := range g.phaseInflight {
			if p != cur && n > 0 {
				return false, fmt.Sprintf("%d calls of %s in flight", n, p)
			}
		}
		return true, ""
	})
}

func (g *loadGen) inflightOf(tool string) *atomic.Int64 {
	v, _ := g.inflight.LoadOrStore(tool, &atomic.Int64{})
	return v.(*atomic.Int64) //nolint:forcetypeassert // the map holds nothing else
}

// call makes one tallied call; args builds the arguments from the call's
// sequence number.
func (g *loadGen) call(c *goClient, tool string, args func(int64) map[string]any) faultCall {
	n := g.seq.Add(1)
	g.mu.Lock()
	fc := faultCall{seq: n, tool: tool, phase: *g.phase.Load(), start: time.Now()}
	g.phaseInflight[fc.phase]++
	g.mu.Unlock()
	in := g.inflightOf(tool)
	in.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(g.t.Context()), faultCallDeadline)
	r, err := c.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args(n)})
	cancel()
	in.Add(-1)
	fc.end = time.Now()
	var we *jsonrpc.Error
	switch {
	case errors.As(err, &we):
		fc.class, fc.rpcCode, fc.text = classRPCError, we.Code, we.Message
	case err != nil:
		fc.class, fc.text = classTransport, err.Error()
	default:
		fc.class = classOK
		if r.IsError {
			fc.class = classToolError
		}
		var texts []string
		for _, item := range r.Content {
			if tc, ok := item.(*mcp.TextContent); ok {
				texts = append(texts, tc.Text)
			}
		}
		if fc.class == classToolError {
			fc.text = strings.Join(texts, "\n")
		}
		if m, ok := r.Meta["io.mcpbox/execution"].(map[string]any); ok {
			fc.requestID, _ = m["request_id"].(string)
		}
		if fc.class == classOK && !okAnswer(tool, n, texts) {
			fc.class, fc.text = classToolError, "wrong answer: "+strings.Join(texts, "\n")
		}
	}
	g.mu.Lock()
	g.calls = append(g.calls, fc)
	g.phaseInflight[fc.phase]--
	g.mu.Unlock()
	return fc
}

// okAnswer checks a successful call's text: add(n, worker) is not known
// here, so only its shape; slow returns n.
func okAnswer(tool string, n int64, texts []string) bool {
	if len(texts) != 1 {
		return false
	}
	var out map[string]int64
	if err := json.Unmarshal([]byte(texts[0]), &out); err != nil {
		return false
	}
	if tool == faultSlow {
		return out["n"] == n
	}
	_, ok := out["sum"]
	return ok
}

// callsIn returns the calls that started in phase.
func (g *loadGen) callsIn(phase string) []faultCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []faultCall
	for _, c := range g.calls {
		if c.phase == phase {
			out = append(out, c)
		}
	}
	return out
}

// all returns every call so far.
func (g *loadGen) all() []faultCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]faultCall(nil), g.calls...)
}

// waitInflight waits until at least n calls of tool are in flight.
func (g *loadGen) waitInflight(t *testing.T, tool string, n int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d calls of %s in flight", n, tool), func() (bool, string) {
		v := g.inflightOf(tool).Load()
		return v >= n, fmt.Sprintf("%d in flight", v)
	})
}

// waitOK waits until a call that started after since has succeeded.
func (g *loadGen) waitOK(t *testing.T, what string, since time.Time) {
	t.Helper()
	waitFor(t, what, func() (bool, string) {
		for _, c := range g.all() {
			if c.class == classOK && c.start.After(since) {
				return true, ""
			}
		}
		return false, "no call succeeded yet"
	})
}

// tally counts a phase's calls by kind and logs it.
func tally(t *testing.T, phase string, calls []faultCall) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, c := range calls {
		counts[c.kind()]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	t.Logf("tally %s: %d calls: %s", phase, len(calls), strings.Join(parts, " "))
	return counts
}

// checkKinds fails for every call whose kind is not one of allowed.
func checkKinds(t *testing.T, calls []faultCall, allowed ...string) {
	t.Helper()
	reported := 0
	for _, c := range calls {
		k := c.kind()
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok && reported < 5 {
			reported++
			t.Errorf("call %d of %s (%s after %s): %s %q; allowed here: %v", c.seq, c.tool, k,
				c.end.Sub(c.start).Round(time.Millisecond), c.class, c.text, allowed)
		}
	}
}
