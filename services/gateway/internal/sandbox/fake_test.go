package sandbox

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mcpbox/mcpbox/proto/testclock"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
)

const testToken = "sandbox-token-0123456789abcdef0123456789"

// fakeSandbox is a loopback sandbox whose answer the test sets; it counts
// the requests that reached it and keeps the last one.
type fakeSandbox struct {
	srv      *httptest.Server
	requests atomic.Int64

	mu      sync.Mutex
	handler http.HandlerFunc
	last    *http.Request
	body    []byte
}

func newFakeSandbox(t *testing.T, h http.HandlerFunc) *fakeSandbox {
	t.Helper()
	f := &fakeSandbox{handler: h}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.requests.Add(1)
		f.mu.Lock()
		f.last, f.body = r, body
		h := f.handler
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// set replaces the answer.
func (f *fakeSandbox) set(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handler = h
}

// lastRequest returns the last request and its body.
func (f *fakeSandbox) lastRequest() (*http.Request, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.body
}

// answer writes a JSON body with a status.
func answer(status int, body any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

// errorAnswer writes the sandbox's non-200 envelope.
func errorAnswer(status int, code, msg string) http.HandlerFunc {
	return answer(status, proto.ErrorBody{Error: proto.Error{Code: code, Message: msg}})
}

// okAnswer is a successful execution returning {"n":1}.
func okAnswer() http.HandlerFunc {
	return answer(http.StatusOK, proto.ExecuteResponse{
		OK: true, Result: json.RawMessage(`{"n":1}`), ContentText: `{"n":1}`, Structured: true, DurationMS: 3,
	})
}

// toolErrorAnswer is a failed execution (a 200: not a breaker failure).
func toolErrorAnswer() http.HandlerFunc {
	return answer(http.StatusOK, proto.ExecuteResponse{
		OK: false, Result: json.RawMessage(`null`), ContentText: "ToolError: boom",
		Error: &proto.ExecutionError{Type: proto.ErrTypeToolError, Message: "boom"},
	})
}

// closeAfterRead reads the whole request, then drops the connection
// without answering.
func closeAfterRead(t *testing.T) http.HandlerFunc {
	t.Helper()
	return func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close()
	}
}

// fakeClock is a settable clock for the breaker.
type fakeClock = testclock.Clock

func newFakeClock() *fakeClock { return testclock.New() }

// newTestClient returns a client of f with a fresh registry.
func newTestClient(t *testing.T, baseURL string, opts Options) (*Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := New(baseURL, testToken, opts, reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, reg
}

// executeRequest is a small valid execute request with a 1 s timeout.
func executeRequest() proto.ExecuteRequest {
	return proto.ExecuteRequest{
		RequestID: "req-1", ToolID: "tool-1", Version: 2, ExposedName: "weather__forecast",
		Code: "package tool\n", PinnedHash: "sha256:" + "ab12", Arguments: json.RawMessage(`{"city":"<Paris & Co>","n":9007199254740993}`),
		AllowedHosts: proto.OnlyHosts(), Limits: proto.Limits{TimeoutMS: 1000, MemoryMB: 64},
	}
}

// count reads mcpbox_gateway_sandbox_requests_total{endpoint,result}.
func count(c *Client, ep Endpoint, result string) float64 {
	return testutil.ToFloat64(c.metrics.requests.WithLabelValues(string(ep), result))
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}
