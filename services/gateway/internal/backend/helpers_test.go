package backend

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
)

const testToken = "backend-token-for-tests-0123456789abcdef"

// seen is what the fake backend recorded of one request.
type seen struct {
	method, path, query string
	token, requestID    string
	hasRequestID        bool
	ifNoneMatch         string
	body                []byte
}

// fake is a loopback backend that records every request and answers with
// handle.
type fake struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []seen
}

// newFake starts a fake backend serving handle.
func newFake(t *testing.T, handle http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, has := r.Header[http.CanonicalHeaderKey(proto.HeaderRequestID)]
		f.mu.Lock()
		f.log = append(f.log, seen{
			method: r.Method, path: r.URL.Path, query: r.URL.RawQuery,
			token: r.Header.Get(proto.HeaderServiceToken), requestID: r.Header.Get(proto.HeaderRequestID),
			hasRequestID: has, ifNoneMatch: r.Header.Get("If-None-Match"), body: body,
		})
		f.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// requests returns a copy of what the fake saw.
func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.log...)
}

// newClient returns a client of url with its own registry.
func newClient(t *testing.T, url string, opts ...Option) (*Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := New(url, testToken, reg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, reg
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers status with the backend's error envelope.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, proto.ErrorBody{Error: proto.Error{Code: code, Message: message, RequestID: "be-req-1"}})
}

// count returns the value of one backend_requests_total series.
func count(c *Client, ep Endpoint, result string) float64 {
	return testutil.ToFloat64(c.metrics.requests.WithLabelValues(string(ep), result))
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}
