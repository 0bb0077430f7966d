package caller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/mcpbox/mcpbox/proto/testclock"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

const (
	currentToken  = "e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312"
	previousToken = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
)

// clock is the settable clock of the throttle's fixed 60 s window.
type clock = testclock.Clock

func newClock() *clock { return testclock.New() }

// remote is a RemoteAuth under test with its clock, registry and log.
type remote struct {
	auth     *caller.RemoteAuth
	throttle *caller.Throttle
	clock    *clock
	reg      *prometheus.Registry
	logs     *syncBuffer
	handler  http.Handler
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newRemote builds the remote checks with limit 10 and the given origins.
// Its handler answers 200 with the caller (JSON) and whether the service
// token header was still visible.
func newRemote(t *testing.T, origins []string) *remote {
	t.Helper()
	rm := &remote{clock: newClock(), reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	rm.throttle = caller.NewThrottle(10, rm.clock.Now)
	tokens := servicetoken.New(rm.reg, "gateway", currentToken, previousToken)
	rm.auth = caller.NewRemoteAuth(tokens, rm.throttle, caller.NewAuthFailures(rm.reg), origins, testLogger(rm.logs))
	rm.handler = rm.auth.Middleware(http.HandlerFunc(echoCaller))
	return rm
}

// echoCaller answers the caller of the request's context.
func echoCaller(w http.ResponseWriter, r *http.Request) {
	c, ok := caller.FromContext(r.Context())
	if !ok {
		http.Error(w, "no caller in context", http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Token-Visible", map[bool]string{true: "yes", false: "no"}[r.Header.Get(proto.HeaderServiceToken) != ""])
	_ = json.NewEncoder(w).Encode(c)
}

// request builds a POST /mcp from ip with the given header pairs.
func request(ip string, kv ...string) *http.Request {
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/mcp", nil)
	r.RemoteAddr = ip + ":41234"
	r.Host = "127.0.0.1:8002"
	for i := 0; i < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decode parses a refusal body.
func decode(t *testing.T, w *httptest.ResponseRecorder) rpcerr.Body {
	t.Helper()
	var b rpcerr.Body
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if b.JSONRPC != "2.0" || string(b.ID) != "null" {
		t.Errorf("envelope: %s", w.Body)
	}
	return b
}

// decodeCaller parses the caller echoed by echoCaller.
func decodeCaller(t *testing.T, w *httptest.ResponseRecorder) caller.Caller {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var c caller.Caller
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}
