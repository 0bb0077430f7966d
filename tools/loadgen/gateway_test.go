package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// testTool is the trivial tool of gateway.md §15 P1 (returns a + b), named as in §16.
const testTool = "e2e__add"

// testGateway is a minimal in-process MCP server built with the go-sdk (its streamable HTTP handler checks the
// headers, the per-request _meta and the sessions exactly as the gateway's servers do), serving testTool and
// recording what it received.
type testGateway struct {
	srv *httptest.Server
	// failCall makes the failCall-th tools/call (1-based) answer isError; 0 never.
	failCall int64
	calls    atomic.Int64

	mu sync.Mutex
	// methods counts the JSON-RPC methods received; versions the protocol versions the tool calls ran under.
	methods  map[string]int
	versions map[string]int
	sessions map[string]bool
}

// startTestGateway serves on loopback until the test ends; stateless false issues hybrid-style session ids.
func startTestGateway(t *testing.T, stateless bool, failCall int64) *testGateway {
	t.Helper()
	g := &testGateway{failCall: failCall, methods: map[string]int{}, versions: map[string]int{}, sessions: map[string]bool{}}
	server := mcp.NewServer(&mcp.Implementation{Name: "loadgen-test", Version: "1"}, nil)
	server.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			g.mu.Lock()
			g.methods[method]++
			g.mu.Unlock()
			return next(ctx, method, req)
		}
	})
	mcp.AddTool(server, &mcp.Tool{Name: testTool, Description: "Adds a and b."},
		func(_ context.Context, req *mcp.CallToolRequest, in addInput) (*mcp.CallToolResult, addOutput, error) {
			g.mu.Lock()
			if p := req.Session.InitializeParams(); p != nil {
				g.versions[p.ProtocolVersion]++
			}
			if id := req.Session.ID(); id != "" {
				g.sessions[id] = true
			}
			g.mu.Unlock()
			if g.calls.Add(1) == g.failCall {
				return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "the tool failed once"}}}, addOutput{}, nil
			}
			return nil, addOutput{Sum: in.A + in.B}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: stateless})
	g.srv = httptest.NewServer(h)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *testGateway) url() string { return g.srv.URL + "/mcp" }

func (g *testGateway) count(method string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.methods[method]
}

// runLoadgen runs `loadgen gateway` with args and decodes its report, failing on unknown fields.
func runLoadgen(t *testing.T, args ...string) (int, gatewayReport, []byte, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), append([]string{"gateway"}, args...), nil, &stdout, &stderr)
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	dec.DisallowUnknownFields()
	var rep gatewayReport
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("exit %d; stdout is not a report: %v\nstdout %s\nstderr %s", code, err, stdout.Bytes(), stderr.String())
	}
	return code, rep, stdout.Bytes(), stderr.String()
}

// reportKeys are the JSON fields gateway.md §15 asks for.
func reportKeys() []string {
	return []string{`"sent"`, `"ok"`, `"errors_by_kind"`, `"achieved_rate"`, `"p50"`, `"p90"`, `"p99"`, `"max"`}
}

// GW-100: against an in-process MCP server at -rate 50 for 2 s, loadgen reports the fields of §15 and exits 0, in
// both eras and for both methods; initialize-era workers initialise once each. Only counts are asserted.
func TestGW100_LoadgenAgainstInProcessServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		stateless bool
		args      []string
		check     func(t *testing.T, g *testGateway, rep gatewayReport)
	}{
		{
			name: "initialize era, sessions", stateless: false,
			args: []string{"-era", "initialize", "-method", "call", "-tool", testTool, "-args", `{"a":2,"b":40}`, "-workers", "3"},
			check: func(t *testing.T, g *testGateway, _ gatewayReport) {
				t.Helper()
				if n, m := g.count("initialize"), g.count("notifications/initialized"); n != 3 || m != 3 {
					t.Errorf("initialize %d, notifications/initialized %d: want one each per worker (3)", n, m)
				}
				g.mu.Lock()
				defer g.mu.Unlock()
				if len(g.sessions) != 3 || g.versions[initializeVersion] != 100 {
					t.Errorf("calls ran in %d sessions under versions %v; want 3 sessions, 100 calls at %s", len(g.sessions), g.versions, initializeVersion)
				}
			},
		},
		{
			name: "modern era", stateless: true,
			args: []string{"-era", "modern", "-method", "call", "-tool", testTool, "-args", `{"a":2,"b":40}`, "-workers", "2"},
			check: func(t *testing.T, g *testGateway, _ gatewayReport) {
				t.Helper()
				if n := g.count("initialize"); n != 0 {
					t.Errorf("initialize %d in the modern era, want 0", n)
				}
				if n := g.count("server/discover"); n != 2 {
					t.Errorf("server/discover %d, want one per worker (2)", n)
				}
				g.mu.Lock()
				defer g.mu.Unlock()
				if g.versions[modernVersion] != 100 {
					t.Errorf("calls ran under versions %v, want 100 at %s", g.versions, modernVersion)
				}
			},
		},
		{
			name: "tools/list", stateless: true,
			args: []string{"-era", "initialize", "-method", "list"},
			check: func(t *testing.T, g *testGateway, rep gatewayReport) {
				t.Helper()
				if n := g.count("tools/list"); n != 100 || rep.Tool != "" {
					t.Errorf("tools/list %d, want 100; tool %q", n, rep.Tool)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := startTestGateway(t, tt.stateless, 0)
			args := append([]string{"-url", g.url(), "-rate", "50", "-duration", "2s", "-warmup", "0s"}, tt.args...)
			code, rep, raw, stderr := runLoadgen(t, args...)
			if code != exitPass || !rep.Pass {
				t.Fatalf("exit %d, pass %v (%s)\n%s\n%s", code, rep.Pass, rep.FailReason, raw, stderr)
			}
			for _, k := range reportKeys() {
				if !bytes.Contains(raw, []byte(k)) {
					t.Errorf("report lacks %s", k)
				}
			}
			if rep.Sent != 100 || rep.OK != 100 || rep.Errors != 0 || len(rep.ErrorsByKind) != 0 || rep.WarmupErrors != 0 {
				t.Errorf("sent %d, ok %d, errors %d %v, warm-up errors %d; want 100 sent and ok (50/s for 2 s)",
					rep.Sent, rep.OK, rep.Errors, rep.ErrorsByKind, rep.WarmupErrors)
			}
			if rep.AchievedRate != 50 || rep.Rate != 50 || rep.DurationS != 2 || rep.Target != "gateway" || rep.URL != g.url() {
				t.Errorf("achieved %v, rate %v, duration %v, target %q, url %q", rep.AchievedRate, rep.Rate, rep.DurationS, rep.Target, rep.URL)
			}
			l := rep.LatencyMS
			if l.P50 <= 0 || l.P90 < l.P50 || l.P99 < l.P90 || l.Max < l.P99 {
				t.Errorf("latencies %+v", l)
			}
			if !strings.Contains(stderr, "rate 50/s: sent 100, ok 100, errors 0") {
				t.Errorf("no summary line on stderr: %q", stderr)
			}
			tt.check(t, g, rep)
		})
	}
}

// GW-100: one request answered with an error (a tools/call result with isError) makes the run fail with exit 1,
// counted under tool_error with its text; the other requests are still counted as ok.
func TestGW100_LoadgenFailsOnOneError(t *testing.T) {
	t.Parallel()
	g := startTestGateway(t, true, 37)
	code, rep, raw, stderr := runLoadgen(t, "-url", g.url(), "-era", "modern", "-tool", testTool, "-args", `{"a":1,"b":2}`,
		"-rate", "50", "-duration", "2s", "-warmup", "0s", "-workers", "2")
	if code != exitFail || rep.Pass {
		t.Fatalf("exit %d, pass %v: want 1 after one failed call\n%s\n%s", code, rep.Pass, raw, stderr)
	}
	if rep.Sent != 100 || rep.OK != 99 || rep.Errors != 1 || rep.ErrorsByKind[errKindTool] != 1 || len(rep.ErrorsByKind) != 1 {
		t.Errorf("sent %d, ok %d, errors %d by kind %v; want 99 ok and one tool_error", rep.Sent, rep.OK, rep.Errors, rep.ErrorsByKind)
	}
	if !slices.Contains(rep.ErrorTexts, "tool_error: isError: the tool failed once") {
		t.Errorf("error texts %q lack the tool's text", rep.ErrorTexts)
	}
	if !strings.Contains(rep.FailReason, "1 errors") || !strings.Contains(stderr, "FAIL") {
		t.Errorf("fail reason %q, stderr %q", rep.FailReason, stderr)
	}
}

// An error during the warm-up fails the run too, and a server that refuses every request is reported by kind.
func TestLoadgenGatewayWarmupAndStatusErrors(t *testing.T) {
	t.Parallel()
	g := startTestGateway(t, true, 3)
	code, rep, raw, _ := runLoadgen(t, "-url", g.url(), "-tool", testTool, "-args", `{"a":1,"b":2}`,
		"-rate", "40", "-duration", "500ms", "-warmup", "500ms", "-workers", "1", "-out", filepath.Join(t.TempDir(), "r", "report.json"))
	if code != exitFail || rep.WarmupErrors != 1 || rep.Errors != 0 || !strings.Contains(rep.FailReason, "during the warm-up") {
		t.Errorf("exit %d, warm-up errors %d, errors %d, reason %q\n%s", code, rep.WarmupErrors, rep.Errors, rep.FailReason, raw)
	}

	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32082,"message":"The gateway is shutting down."}}`))
	}))
	t.Cleanup(refusing.Close)
	code, rep, _, stderr := runLoadgen(t, "-url", refusing.URL+"/mcp", "-method", "list", "-rate", "10", "-duration", "200ms", "-warmup", "0s")
	if code != exitFail || rep.Error == "" || !strings.Contains(rep.Error, "http_503") || !strings.Contains(rep.Error, "shutting down") {
		t.Errorf("exit %d, run error %q (stderr %q): want initialize refused with its status and text", code, rep.Error, stderr)
	}
}

// The report file of -out is the report printed on stdout.
func TestLoadgenGatewayOutFile(t *testing.T) {
	t.Parallel()
	g := startTestGateway(t, true, 0)
	out := filepath.Join(t.TempDir(), "sub", "gateway.json")
	code, _, raw, _ := runLoadgen(t, "-url", g.url(), "-method", "list", "-rate", "20", "-duration", "250ms", "-warmup", "0s", "-out", out)
	if code != exitPass {
		t.Fatalf("exit %d\n%s", code, raw)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(b, raw) {
		t.Errorf("report file %q (%v) differs from stdout %q", b, err, raw)
	}
}

// The requests are spread over every worker: with hybrid-style sessions, 7 workers make 7 sessions.
func TestLoadgenGatewayUsesEveryWorker(t *testing.T) {
	t.Parallel()
	g := startTestGateway(t, false, 0)
	code, rep, raw, _ := runLoadgen(t, "-url", g.url(), "-tool", testTool, "-args", `{"a":1,"b":2}`,
		"-rate", "30", "-duration", "1s", "-warmup", "0s", "-workers", strconv.Itoa(7))
	if code != exitPass || rep.Workers != 7 || rep.OK != 30 {
		t.Fatalf("exit %d, workers %d, ok %d\n%s", code, rep.Workers, rep.OK, raw)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.sessions) != 7 {
		t.Errorf("calls used %d sessions, want all 7 workers'", len(g.sessions))
	}
}
