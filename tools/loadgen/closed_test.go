package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// recordingBare serves bareHandler behind a recorder of the requests in flight and of each request's headers.
type recordingBare struct {
	srv      *httptest.Server
	inflight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
	auth     map[string]int // Authorization values seen
	common   int            // requests carrying X-Common: yes
	total    int
}

func startRecordingBare(t *testing.T, tool string) *recordingBare {
	t.Helper()
	r := &recordingBare{auth: map[string]int{}}
	h := bareHandler(bareConfig{tool: tool})
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.inflight.Add(1)
		defer r.inflight.Add(-1)
		for {
			p := r.peak.Load()
			if n <= p || r.peak.CompareAndSwap(p, n) {
				break
			}
		}
		r.mu.Lock()
		r.total++
		r.auth[req.Header.Get("Authorization")]++
		if req.Header.Get("X-Common") == "yes" {
			r.common++
		}
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recordingBare) url() string { return r.srv.URL + "/mcp" }

// Closed loop: -concurrency 3 keeps at most three requests in flight, reports the mode, p95 and the achieved rate
// of the window, and passes without errors; the tool is the bare server's, with the stack's name.
func TestLoadgenGatewayClosedLoop(t *testing.T) {
	t.Parallel()
	b := startRecordingBare(t, "load__add")
	code, rep, raw, stderr := runLoadgen(t, "-url", b.url(), "-tool", "load__add", "-args", `{"a":1,"b":2}`,
		"-concurrency", "3", "-duration", "400ms", "-warmup", "100ms", "-workers", "2")
	if code != exitPass || !rep.Pass {
		t.Fatalf("exit %d, pass %v\n%s\n%s", code, rep.Pass, raw, stderr)
	}
	if rep.Mode != modeClosed || rep.Concurrency != 3 || rep.Rate != 0 || rep.PeakInflight != 3 {
		t.Errorf("mode %q, concurrency %d, rate %g, peak %d: want closed, 3, 0, 3", rep.Mode, rep.Concurrency, rep.Rate, rep.PeakInflight)
	}
	if rep.OK == 0 || rep.Sent != rep.OK || rep.Errors != 0 {
		t.Errorf("sent %d, ok %d, errors %d", rep.Sent, rep.OK, rep.Errors)
	}
	if want := round3(float64(rep.OK) / 0.4); rep.AchievedRate != want {
		t.Errorf("achieved %g/s, want ok / window = %g", rep.AchievedRate, want)
	}
	l := rep.LatencyMS
	if l.P50 <= 0 || l.P95 < l.P50 || l.P99 < l.P95 || l.Max < l.P99 {
		t.Errorf("latencies out of order: %+v", l)
	}
	// The workers' initialize and notifications/initialized are sent before the loops start.
	if p := b.peak.Load(); p > 3 {
		t.Errorf("the server saw %d requests in flight at once, want at most 3", p)
	}
	b.mu.Lock()
	total := b.total
	b.mu.Unlock()
	if total < rep.Sent+2*2 {
		t.Errorf("the server saw %d requests, fewer than the %d of the window and the 2 workers' opening", total, rep.Sent)
	}
	if !strings.Contains(stderr, "closed loop, 3 in flight") || !strings.Contains(stderr, "p95") {
		t.Errorf("summary line %q lacks the mode or p95", stderr)
	}
}

// Closed loop: one failed call fails the run with its kind; -rate and -concurrency together are a usage error.
func TestLoadgenGatewayClosedLoopErrors(t *testing.T) {
	t.Parallel()
	g := startTestGateway(t, true, 5)
	code, rep, raw, _ := runLoadgen(t, "-url", g.url(), "-tool", testTool, "-args", `{"a":1,"b":2}`,
		"-concurrency", "2", "-duration", "300ms", "-warmup", "0s")
	if code != exitFail || rep.Errors != 1 || rep.ErrorsByKind[errKindTool] != 1 || !strings.Contains(rep.FailReason, "1 errors") {
		t.Errorf("exit %d, errors %d by kind %v, reason %q\n%s", code, rep.Errors, rep.ErrorsByKind, rep.FailReason, raw)
	}
	for _, args := range [][]string{
		{"-tool", testTool, "-concurrency", "2", "-rate", "10"},
		{"-tool", testTool, "-concurrency", "-1"},
		{"-tool", testTool, "-concurrency", "5000"},
		{"-tool", testTool, "-worker-header", "Mcp-Session-Id: x"},
	} {
		if _, err := parseGatewayArgs(args, io.Discard); err == nil {
			t.Errorf("%q: no usage error", args)
		}
	}
}

// -worker-header: worker i adds the (i mod n)-th value, after the -header values every request carries, so each
// of the three tokens reaches the server.
func TestLoadgenGatewayWorkerHeaders(t *testing.T) {
	t.Parallel()
	b := startRecordingBare(t, "add")
	code, rep, raw, _ := runLoadgen(t, "-url", b.url(), "-tool", "add", "-args", `{"a":1,"b":2}`,
		"-rate", "60", "-duration", "500ms", "-warmup", "0s", "-workers", "6", "-header", "X-Common: yes",
		"-worker-header", "Authorization: Bearer t0", "-worker-header", "Authorization: Bearer t1", "-worker-header", "Authorization: Bearer t2")
	if code != exitPass {
		t.Fatalf("exit %d\n%s", code, raw)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var seen []string
	for k := range b.auth {
		seen = append(seen, k)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"Bearer t0", "Bearer t1", "Bearer t2"}) {
		t.Errorf("Authorization values %q, want the three tokens and no request without one", seen)
	}
	if b.common != b.total || b.total < rep.Sent {
		t.Errorf("%d of %d requests carried the -header value (sent %d)", b.common, b.total, rep.Sent)
	}
}

// loadgen bare serves the trivial tool on loopback with the given name, answers an SSE stream like the gateway,
// returns {"sum"} as structuredContent, and stops cleanly when its context ends.
func TestLoadgenBareServesTheTrivialTool(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srvCtx, stop := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(srvCtx, []string{"bare", "-tool", "load__add"}, nil, pw, io.Discard)
		_ = pw.Close()
		done <- code
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no listening line: %v", err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/mcp") {
		t.Fatalf("first line %q, want listening http://127.0.0.1:<port>/mcp", line)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	// The answer is an event stream, as the gateway's.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("initialize: %d %q, want 200 text/event-stream", resp.StatusCode, ct)
	}

	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "load__add", Arguments: map[string]any{"a": 1, "b": 2}})
	_ = cs.Close()
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := res.StructuredContent.(map[string]any)
	if res.IsError || sc["sum"] != float64(3) || len(res.Content) != 1 {
		t.Errorf("result %+v, want structuredContent {sum: 3} and one text item", res)
	}
	stop()
	select {
	case code := <-done:
		if code != exitPass {
			t.Errorf("loadgen bare exit %d after its context ended, want 0", code)
		}
	case <-ctx.Done():
		t.Fatal("loadgen bare did not stop")
	}

	if _, err := parseBareArgs([]string{"-addr", "0.0.0.0:0"}, io.Discard); err == nil {
		t.Error("a non-loopback -addr: no usage error")
	}
}
