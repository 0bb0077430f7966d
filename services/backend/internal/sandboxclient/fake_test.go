package sandboxclient

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
)

// Values the tests send and then look for where they must not appear.
const (
	testToken     = "sandbox-token-0123456789abcdef0123456789abcdef"
	testRequestID = "req-7f3a.test:1"
	testCode      = "package main\n\n// Main says hello.\nfunc Main() (string, error) { return \"hello-from-tool-code\", nil }\n"
	testSecret    = "s3cret-value-never-logged"
)

// seen is one request as the fake sandbox received it.
type seen struct {
	header http.Header
	body   []byte
}

// fakeSandbox is a sandbox on loopback that records every request and
// answers through the handler of its path.
type fakeSandbox struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	last   map[string]seen
	routes map[string]http.HandlerFunc
}

// newFake starts a fake sandbox whose routes answer as given; other paths
// get a 404 with the error envelope.
func newFake(t *testing.T, routes map[string]http.HandlerFunc) *fakeSandbox {
	t.Helper()
	f := &fakeSandbox{hits: map[string]int{}, last: map[string]seen{}, routes: routes}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSandbox) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	f.hits[r.URL.Path]++
	f.last[r.URL.Path] = seen{header: r.Header.Clone(), body: body}
	h := f.routes[r.URL.Path]
	f.mu.Unlock()
	if h == nil {
		writeJSON(w, http.StatusNotFound, proto.ErrorBody{Error: proto.Error{Code: proto.CodeNotFound, Message: "no such route"}})
		return
	}
	h(w, r)
}

// hitsOf returns how many requests reached path.
func (f *fakeSandbox) hitsOf(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// lastOf returns the last request to path.
func (f *fakeSandbox) lastOf(t *testing.T, path string) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.last[path]
	if !ok {
		t.Fatalf("the fake sandbox received no request for %s", path)
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// answer returns a handler that writes v with status.
func answer(status int, v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, v) }
}

// raw returns a handler that writes body verbatim with status and headers.
func raw(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// stall answers only when the client has gone away (or after 30 s, so a
// broken client cannot hang the test binary).
func stall(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(30 * time.Second):
		writeJSON(w, http.StatusOK, map[string]any{})
	}
}

// opCase is one operation of the client, with a valid answer of the fake.
type opCase struct {
	op      Op
	path    string
	retried bool
	answer  any
	call    func(ctx context.Context, c *Client) (any, error)
}

func opCases() []opCase {
	secret := testSecret
	return []opCase{
		{
			op: OpAnalyze, path: proto.PathSandboxAnalyze, retried: true,
			answer: proto.AnalyzeResponse{
				OK: true, CodeSHA256: "sha256:0a1b", AnalyzerVersion: "sandbox dev; catalogue cat-1",
				Imports:     []proto.Import{{Path: "fmt", Tier: proto.TierDefault, Allowed: true}},
				Description: "Says hello.", Secrets: []string{},
				Diagnostics: []proto.Diagnostic{{Severity: proto.SeverityWarning, Type: proto.ErrTypeValidationError, Message: "unused", Line: 1, Column: 1}},
			},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Analyze(ctx, proto.AnalyzeRequest{Code: testCode, Compile: true})
			},
		},
		{
			op: OpExecute, path: proto.PathSandboxExecute,
			answer: proto.ExecuteResponse{
				OK: true, Result: json.RawMessage(`{"greeting":"hi"}`), ContentText: `{"greeting":"hi"}`, Structured: true,
				DurationMS: 3, Worker: &proto.WorkerStats{CPUMS: 1, MaxRSSKB: 20000, Exit: "code:0"},
			},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Execute(ctx, proto.ExecuteRequest{
					Code: testCode, PinnedHash: "sha256:feed", Arguments: json.RawMessage(`{}`),
					AllowedHosts: proto.OnlyHosts("api.example.com"), Secrets: map[string]*string{"API_KEY": &secret},
					Limits: proto.Limits{TimeoutMS: 1000, MemoryMB: 64},
				})
			},
		},
		{
			op: OpDiscover, path: proto.PathSandboxDiscover, retried: true,
			answer: proto.DiscoverResponse{
				OK: true, ProtocolVersion: "2025-06-18", ServerInfo: proto.ServerInfo{Name: "upstream", Version: "1"},
				Tools: []proto.DiscoveredTool{{Name: "search", InputSchema: json.RawMessage(`{"type":"object"}`)}}, LatencyMS: 12,
			},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Discover(ctx, proto.DiscoverRequest{
					URL: "https://mcp.example.com/mcp", Transport: proto.TransportStreamableHTTP,
					Headers: map[string]string{"Authorization": "Bearer " + testSecret}, AllowedHosts: proto.OnlyHosts("mcp.example.com"),
					TimeoutMS: proto.DefaultDiscoverTimeoutMS,
				})
			},
		},
		{
			op: OpFetch, path: proto.PathSandboxFetch,
			answer: proto.FetchResponse{
				OK: true, Status: http.StatusUnauthorized, Headers: map[string][]string{"Www-Authenticate": {`Bearer resource_metadata="x"`}}, Body: "{}",
			},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Fetch(ctx, proto.FetchRequest{
					Method: http.MethodPost, URL: "https://auth.example.com/token", Body: "code=" + testSecret,
					AllowedHosts: proto.OnlyHosts("auth.example.com"), TimeoutMS: proto.DefaultFetchTimeoutMS, Purpose: proto.FetchOAuth,
				})
			},
		},
		{
			op: OpPackages, path: proto.PathSandboxPackages, retried: true,
			answer: proto.PackageCatalogue{
				CatalogueVersion: "cat-1", GoVersion: "go1.27.3", LanguageLevel: "go1.22",
				Packages: []proto.Package{{Path: "fmt", Tier: proto.TierDefault, Description: "Formatted I/O."}},
			},
			call: func(ctx context.Context, c *Client) (any, error) { return c.Packages(ctx) },
		},
		{
			op: OpReadyz, path: proto.PathReadyz,
			answer: proto.SandboxReadiness{Status: proto.ReadinessReady, Warm: 2, Isolation: proto.IsolationFull},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Ready(ctx) },
		},
	}
}

// newTestClient returns a client of url with a fresh registry; extra
// options come after a 1 ms backoff.
func newTestClient(t *testing.T, url string, opts ...Option) (*Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := New(url, testToken, reg, append([]Option{withBackoff(time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, reg
}

// deadAddress returns a loopback URL where nothing listens.
func deadAddress(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// countingClient is an *http.Client that counts its connection attempts:
// against a closed listener each attempt of the client is one dial.
func countingClient(dials *atomic.Int32) *http.Client {
	d := &net.Dialer{Timeout: time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// counterValue returns mcpbox_backend_sandbox_requests_total{op,result},
// read from the registry's exposition.
func counterValue(t *testing.T, reg *prometheus.Registry, op Op, result string) float64 {
	t.Helper()
	for _, sv := range series(t, reg, "mcpbox_backend_sandbox_requests_total") {
		if sv.labels["op"] == string(op) && sv.labels["result"] == result {
			return sv.value
		}
	}
	t.Fatalf("no series op=%s result=%s", op, result)
	return 0
}

// histogramCount returns the observation count of
// mcpbox_backend_sandbox_request_duration_seconds{op}.
func histogramCount(t *testing.T, reg *prometheus.Registry, op Op) uint64 {
	t.Helper()
	for _, sv := range series(t, reg, "mcpbox_backend_sandbox_request_duration_seconds") {
		if sv.labels["op"] == string(op) {
			return sv.count
		}
	}
	t.Fatalf("no histogram series op=%s", op)
	return 0
}

// seriesValue is one gathered series: its labels, counter value and
// histogram count.
type seriesValue struct {
	labels map[string]string
	value  float64
	count  uint64
}

func series(t *testing.T, reg *prometheus.Registry, name string) []seriesValue {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var out []seriesValue
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sv := seriesValue{labels: map[string]string{}, value: m.GetCounter().GetValue(), count: m.GetHistogram().GetSampleCount()}
			for _, lp := range m.GetLabel() {
				sv.labels[lp.GetName()] = lp.GetValue()
			}
			out = append(out, sv)
		}
	}
	return out
}
