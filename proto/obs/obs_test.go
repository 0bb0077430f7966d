package obs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// decodeLines parses every line of buf as one JSON object.
func decodeLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not one JSON object: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// OPS-15: every line is one JSON object with time, level, msg, service and
// version, request_id when request-scoped, and only keys of the closed list.
func TestOPS15_LogLinesUseTheClosedKeyList(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := obs.NewLogger(&buf, "gateway", slog.LevelDebug, "json")
	h := obs.RequestIDMiddleware(obs.KeepValid, obs.AccessLog(log, "local", func(*http.Request) string { return "/mcp" },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.InfoContext(r.Context(), "inside", obs.KeyTool, "x")
			w.WriteHeader(http.StatusAccepted)
		})))
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/mcp", nil)
	r.Header.Set(proto.HeaderRequestID, "client-id.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	log.Info("no request")

	lines := decodeLines(t, &buf)
	if len(lines) != 3 {
		t.Fatalf("got %d lines", len(lines))
	}
	for i, l := range lines {
		for _, k := range []string{"time", "level", "msg", "service", "version"} {
			if _, ok := l[k]; !ok {
				t.Errorf("line %d lacks %s: %v", i, k, l)
			}
		}
		for k := range l {
			if !obs.IsKey(k) {
				t.Errorf("line %d uses key %q outside the closed list", i, k)
			}
		}
		if l["service"] != "gateway" {
			t.Errorf("service = %v", l["service"])
		}
	}
	if lines[0]["request_id"] != "client-id.1" || lines[1]["request_id"] != "client-id.1" || lines[1]["status"] != float64(202) {
		t.Errorf("request lines: %v", lines[:2])
	}
	if _, ok := lines[2]["request_id"]; ok {
		t.Errorf("request_id on a line outside a request: %v", lines[2])
	}
}

// OPS-16 (local half): a listener keeps a valid client id and replaces an
// invalid one; the edge policy always mints a new one.
func TestOPS16_RequestIDPolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		policy obs.RequestIDPolicy
		in     string
		keep   bool
	}{
		{obs.KeepValid, "abc-123:x.y_z", true},
		{obs.KeepValid, "has space", false},
		{obs.KeepValid, strings.Repeat("a", 129), false},
		{obs.KeepValid, "", false},
		{obs.AlwaysNew, "abc-123", false},
	}
	for _, tc := range cases {
		var seen string
		h := obs.RequestIDMiddleware(tc.policy, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			seen = obs.RequestID(r.Context())
		}))
		r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
		r.Header.Set(proto.HeaderRequestID, tc.in)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if (seen == tc.in) != tc.keep || !proto.ValidRequestID(seen) || w.Header().Get(proto.HeaderRequestID) != seen {
			t.Errorf("policy %d, in %q: context %q, response %q", tc.policy, tc.in, seen, w.Header().Get(proto.HeaderRequestID))
		}
	}
}

func TestSetOutgoingCopiesTheContextID(t *testing.T) {
	t.Parallel()
	ctx := obs.WithRequestID(context.Background(), "req-7")
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1/", nil)
	obs.SetOutgoing(r)
	if r.Header.Get(proto.HeaderRequestID) != "req-7" {
		t.Errorf("outgoing id = %q", r.Header.Get(proto.HeaderRequestID))
	}
}

// A handler adopts the request id of its body: the response header, its
// own log lines and the access log line all carry it; an invalid id or a
// context without one changes nothing.
func TestAdoptRequestID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := obs.NewLogger(&buf, "sandbox", slog.LevelInfo, "json")
	adopted := map[string]bool{}
	h := obs.RequestIDMiddleware(obs.KeepValid, obs.AccessLog(log, "main", nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adopted["bad"] = obs.AdoptRequestID(r.Context(), w, "has space")
		adopted["good"] = obs.AdoptRequestID(r.Context(), w, "body-id-1")
		log.InfoContext(r.Context(), "handled")
	})))
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/execute", nil)
	r.Header.Set(proto.HeaderRequestID, "header-id")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if adopted["bad"] || !adopted["good"] || w.Header().Get(proto.HeaderRequestID) != "body-id-1" {
		t.Errorf("adopted %v, response header %q", adopted, w.Header().Get(proto.HeaderRequestID))
	}
	for _, line := range decodeLines(t, &buf) {
		if line["request_id"] != "body-id-1" {
			t.Errorf("log line %v does not carry the adopted id", line)
		}
	}
	if obs.AdoptRequestID(context.Background(), httptest.NewRecorder(), "x") {
		t.Error("adopted an id without RequestIDMiddleware")
	}
}

func TestAccessLogRecoversPanics(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := obs.NewLogger(&buf, "backend", slog.LevelInfo, "json")
	h := obs.RequestIDMiddleware(obs.KeepValid, obs.AccessLog(log, "main", nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom: secret internals")
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/x", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret internals") || !strings.Contains(w.Body.String(), `"code":"internal"`) {
		t.Errorf("panic answer: %d %s", w.Code, w.Body)
	}
	lines := decodeLines(t, &buf)
	if len(lines) != 2 || lines[0]["level"] != "ERROR" || lines[0]["panic"] == nil {
		t.Errorf("panic lines: %v", lines)
	}
}

func TestRegistryHasBuildInfoAndCollectors(t *testing.T) {
	t.Parallel()
	reg := obs.NewRegistry("edge")
	n, err := testutil.GatherAndCount(reg, "mcpbox_edge_build_info")
	if err != nil || n != 1 {
		t.Fatalf("build_info series = %d, %v", n, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var goMetrics, processMetrics bool
	for _, mf := range mfs {
		goMetrics = goMetrics || strings.HasPrefix(mf.GetName(), "go_")
		processMetrics = processMetrics || strings.HasPrefix(mf.GetName(), "process_")
	}
	if !goMetrics || !processMetrics {
		t.Errorf("collectors missing: go %v, process %v", goMetrics, processMetrics)
	}
	if probs, err := testutil.GatherAndLint(reg, "mcpbox_edge_build_info"); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", probs, err)
	}
}

// A handler's AddAccessAttrs lands on its request's access log line, also
// when called from another goroutine; outside AccessLog it is a no-op.
func TestAddAccessAttrs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := obs.NewLogger(&buf, "gateway", slog.LevelDebug, "json")
	h := obs.AccessLog(log, "local", nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := make(chan struct{})
		go func() {
			obs.AddAccessAttrs(r.Context(), slog.String(obs.KeyHandler, "stateless"))
			close(done)
		}()
		<-done
		obs.AddAccessAttrs(r.Context(), slog.String(obs.KeyMCPMethod, "ping"))
		w.WriteHeader(http.StatusOK)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/mcp", nil))
	obs.AddAccessAttrs(context.Background(), slog.String(obs.KeyHandler, "nowhere"))
	lines := decodeLines(t, &buf)
	if len(lines) != 1 || lines[0]["handler"] != "stateless" || lines[0]["mcp_method"] != "ping" {
		t.Errorf("access line: %v", lines)
	}
}
