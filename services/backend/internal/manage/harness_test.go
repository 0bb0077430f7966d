package manage_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/manage"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

const (
	testKey      = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	sandboxToken = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
	helloCode    = "package tool\n\n// Main says hello.\nfunc Main() string { return \"hello\" }\n"
)

// fakeSandbox answers POST /v1/analyze with a clean analysis and counts
// every request it receives, whatever the path.
type fakeSandbox struct {
	mu    sync.Mutex
	calls map[string]int
	srv   *httptest.Server
	// analysis, when set, answers an analyze request for the code
	// instead of okAnswer.
	analysis func(code string) proto.AnalyzeResponse
	// discovery, when set, answers /v1/mcp/discover (else 404).
	discovery func(req proto.DiscoverRequest) proto.DiscoverResponse
}

// setAnalysis makes the fake answer analyze requests with fn.
func (f *fakeSandbox) setAnalysis(fn func(code string) proto.AnalyzeResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.analysis = fn
}

func okAnswer() proto.AnalyzeResponse {
	return proto.AnalyzeResponse{
		OK: true, CodeSHA256: "sha256:" + strings.Repeat("0", 64), AnalyzerVersion: "test-1",
		Description: "Says hello.", InputSchema: json.RawMessage(`{"type":"object","properties":{}}`),
		OutputSchema: json.RawMessage("null"), Imports: []proto.Import{{Path: "strings", Tier: proto.TierDefault, Allowed: true}},
		Secrets: []string{}, Diagnostics: []proto.Diagnostic{},
	}
}

func newFakeSandbox(t *testing.T) *fakeSandbox {
	t.Helper()
	f := &fakeSandbox{calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls[r.URL.Path]++
		analysis, discovery := f.analysis, f.discovery
		f.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get(proto.HeaderServiceToken) != sandboxToken {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case proto.PathSandboxAnalyze:
			var req proto.AnalyzeRequest
			if analysis == nil || json.NewDecoder(r.Body).Decode(&req) != nil {
				_ = json.NewEncoder(w).Encode(okAnswer())
				return
			}
			_ = json.NewEncoder(w).Encode(analysis(req.Code))
		case proto.PathSandboxDiscover:
			var req proto.DiscoverRequest
			if discovery == nil || json.NewDecoder(r.Body).Decode(&req) != nil {
				http.NotFound(w, r)
				return
			}
			_ = json.NewEncoder(w).Encode(discovery(req))
		case proto.PathSandboxExecute:
			_ = json.NewEncoder(w).Encode(proto.ExecuteResponse{
				OK: true, Result: json.RawMessage(`"hello"`), ContentText: "hello", Stdout: "ran\n", DurationMS: 3,
			})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// executes counts the execute requests.
func (f *fakeSandbox) executes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[proto.PathSandboxExecute]
}

func (f *fakeSandbox) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

// env is the manage handler over a fresh database and a fake sandbox.
type env struct {
	srv     *httptest.Server
	url     string
	exec    *executions.Service
	policy  *policy.Service
	sandbox *fakeSandbox
	// metrics holds mcpbox_backend_management_calls_total.
	metrics *prometheus.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	url := dbtest.URL(t)
	store, err := db.Open(t.Context(), url, db.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	keys, err := seal.New(1, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeSandbox(t)
	sb, err := sandboxclient.New(f.srv.URL, sandboxToken, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	pol := policy.New(store)
	sec := secrets.New(store, keys)
	ex := executions.New(store, sec)
	d := manage.Deps{
		Store: store, Policy: pol, Servers: servers.New(store), Tools: tools.New(store, sb), Secrets: sec,
		Approvals:  approvals.New(store),
		TestRuns:   testrun.New(store, sb, catalog.New(store, sec, pol), sec, pol, ex, 4),
		Executions: ex,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	d.Sources = sources.New(sources.Deps{
		Store: store, Sandbox: sb, Secrets: sec, Policy: pol, Tools: d.Tools, Approvals: d.Approvals, Logger: d.Logger,
	})
	mux := http.NewServeMux()
	svc := manage.New(d)
	reg := prometheus.NewRegistry()
	if err := svc.Instrument(reg); err != nil {
		t.Fatal(err)
	}
	mux.Handle(proto.PathInternalManage, svc.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{srv: srv, url: url, exec: ex, policy: pol, sandbox: f, metrics: reg}
}

// dbtestExec runs SQL on the env's database.
func dbtestExec(t *testing.T, e *env, sql string, args ...any) {
	t.Helper()
	dbtest.Exec(t, e.url, sql, args...)
}

// dbtestQuery scans one row of a query into dest.
func dbtestQuery(t *testing.T, e *env, sql string, dest any, args ...any) {
	t.Helper()
	dbtest.QueryRow(t, e.url, sql, []any{dest}, args...)
}

// local is the local MCP client.
var local = proto.Caller{Kind: proto.CallerLocal}

func remote(email string) proto.Caller {
	return proto.Caller{Kind: proto.CallerRemote, Email: email, Sub: "sub-" + email}
}

// answer is a decoded reply.
type answer struct {
	status int
	raw    string
	resp   proto.ManageResponse
	errb   proto.ErrorBody
	result map[string]any
}

// post sends a raw body to the operation.
func (e *env) post(t *testing.T, tool, body string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/internal/v1/manage/"+tool,
		strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(proto.HeaderRequestID, "req-1")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: res.StatusCode, raw: string(raw)}
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &a.resp); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if a.resp.OK {
			if err := json.Unmarshal(a.resp.Result, &a.result); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
		}
	} else if err := json.Unmarshal(raw, &a.errb); err != nil {
		t.Fatalf("%d %s: %v", res.StatusCode, raw, err)
	}
	return a
}

// call sends {arguments, caller}.
func (e *env) call(t *testing.T, tool string, caller proto.Caller, args map[string]any) answer {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(map[string]any{"arguments": args, "caller": caller}); err != nil {
		t.Fatal(err)
	}
	return e.post(t, tool, buf.String())
}

// ok calls and fails the test unless the operation succeeded.
func (e *env) ok(t *testing.T, tool string, caller proto.Caller, args map[string]any) map[string]any {
	t.Helper()
	a := e.call(t, tool, caller, args)
	if a.status != http.StatusOK || !a.resp.OK {
		t.Fatalf("%s: %d %s", tool, a.status, a.raw)
	}
	return a.result
}

// wantFail checks a 200 tool-level error with this code.
func wantFail(t *testing.T, a answer, code string) proto.Error {
	t.Helper()
	if a.status != http.StatusOK || a.resp.OK || a.resp.Error == nil || a.resp.Error.Code != code {
		t.Fatalf("want ok:false %s, got %d %s", code, a.status, a.raw)
	}
	return *a.resp.Error
}

// setPolicy changes security settings.
func (e *env) setPolicy(t *testing.T, settings map[string]any) {
	t.Helper()
	patch := map[string]json.RawMessage{}
	for k, v := range settings {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		patch[k] = raw
	}
	if _, err := e.policy.Patch(t.Context(), "admin:test", "req-policy", patch, nil); err != nil {
		t.Fatal(err)
	}
}

// newServer creates the server weather locally and returns its id.
func (e *env) newServer(t *testing.T) string {
	t.Helper()
	return e.ok(t, "mcpbox_create_server", local, map[string]any{"name": "weather"})["server_id"].(string)
}

// newTool creates the tool forecast locally and returns its id.
func (e *env) newTool(t *testing.T, serverID string) string {
	t.Helper()
	return e.ok(t, "mcpbox_create_tool", local, map[string]any{
		"server_id": serverID, "name": "forecast", "code": helloCode,
	})["tool_id"].(string)
}
