package toolcall

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/gateway/internal/recorder"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/backend"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/plans"
	"github.com/mcpbox/mcpbox/services/gateway/internal/sandbox"
)

const (
	backendToken = "backend-token-for-tests-0123456789abcdef"
	sandboxToken = "sandbox-token-for-tests-0123456789abcdef"
	goToolID     = "0b7e1f5c-3c1a-4a8e-9f3e-2d6c5b4a3f21"
	extToolID    = "1c8f2a6d-4d2b-4b9f-8a4f-3e7d6c5b4a32"
	serverID     = "2d9a3b7e-5e3c-4cae-9b5a-4f8e7d6c5b43"
	extServerID  = "3eab4c8f-6f4d-4dbf-8c6b-5a9f8e7d6c54"
	goHash       = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	extHash      = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	secretValue  = "s3cr3t-value-0123456789"
	upstreamTok  = "upstream-token-abcdef0123456789"
	forecastName = "weather__forecast"
	searchName   = "github__search_issues"
	// forecastSchema is the schema a Go Input struct derives: closed, city
	// required.
	forecastSchema = `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":7}},` +
		`"required":["city"],"additionalProperties":false}`
	searchSchema = `{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}`
)

// goTool is the catalog entry of a Go tool.
func goTool() proto.CatalogTool {
	return proto.CatalogTool{
		ToolID: goToolID, ServerID: serverID, ServerName: "weather", Name: forecastName, Kind: proto.ToolKindGo,
		Version: 3, Hash: goHash, Description: "Forecast for a city.", InputSchema: json.RawMessage(forecastSchema),
		OutputSchema: json.RawMessage(`null`), Annotations: json.RawMessage(`null`), TimeoutMS: 5000,
	}
}

// extTool is the catalog entry of an external tool.
func extTool() proto.CatalogTool {
	return proto.CatalogTool{
		ToolID: extToolID, ServerID: extServerID, ServerName: "github", Name: searchName, Kind: proto.ToolKindExternal,
		Version: 1, Hash: extHash, Description: "Search issues.", InputSchema: json.RawMessage(searchSchema),
		OutputSchema: json.RawMessage(`null`), Annotations: json.RawMessage(`{"readOnlyHint":true}`), TimeoutMS: 20000,
	}
}

// planOf is the backend's plan of a catalog entry.
func planOf(t proto.CatalogTool) proto.Plan {
	p := proto.Plan{
		ToolID: t.ToolID, ServerID: t.ServerID, ServerName: t.ServerName, Name: t.Name, Kind: t.Kind,
		Version: t.Version, Hash: t.Hash, InputSchema: t.InputSchema, OutputSchema: t.OutputSchema,
		Manifest:     proto.Manifest{Hosts: []string{"api.example.com"}, Secrets: []string{"API_KEY"}, TimeoutMS: t.TimeoutMS},
		AllowedHosts: proto.OnlyHosts("api.example.com"),
		Secrets:      map[string]string{"API_KEY": secretValue},
		Limits:       proto.Limits{TimeoutMS: t.TimeoutMS, MemoryMB: 128},
		Redact:       true,
	}
	if t.Kind == proto.ToolKindGo {
		p.Code = "package tool\n\n// Main forecasts.\nfunc Main(ctx context.Context, in Input) (any, error) { return nil, nil }\n"
		p.Manifest.MemoryMB = 128
		return p
	}
	p.Secrets = nil
	p.Manifest.Secrets = nil
	p.Limits.MemoryMB = 0
	p.External = &proto.PlanExternal{
		SourceID: "4fbc5d9a-7a5e-4ec0-9d7c-6b0a9f8e7d65", URL: "https://mcp.example.com/mcp",
		Transport: proto.TransportStreamableHTTP, Tool: "search_issues",
		Definition: proto.ExternalDefinition{
			Name: "search_issues", Description: "Search issues.", InputSchema: t.InputSchema,
			Annotations: json.RawMessage(`{"readOnlyHint":true}`), SourceID: "4fbc5d9a-7a5e-4ec0-9d7c-6b0a9f8e7d65",
		},
		Headers: map[string]string{"Authorization": "Bearer " + upstreamTok},
	}
	return p
}

// snapshot builds a catalog snapshot.
func snapshot(rev int64, tools []proto.CatalogTool, withheld ...proto.WithheldTool) *catalog.Snapshot {
	return catalog.BuildSnapshot(proto.Catalog{Revision: rev, Tools: tools, Withheld: withheld}, time.Now())
}

// fakeCatalog is the catalog cache's call-path side: a snapshot and the
// error CheckCatalog returns, and a count of Refresh calls.
type fakeCatalog struct {
	mu        sync.Mutex
	snap      *catalog.Snapshot
	err       error
	refreshes int
}

func (f *fakeCatalog) CheckCatalog() (*catalog.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap, f.err
}

func (f *fakeCatalog) Current() *catalog.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeCatalog) Refresh() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
}

func (f *fakeCatalog) set(s *catalog.Snapshot, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap, f.err = s, err
}

func (f *fakeCatalog) refreshCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes
}

// jsonAnswer writes body as JSON with status.
func jsonAnswer(status int, body any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

// errorAnswer writes the {"error": {...}} envelope.
func errorAnswer(status int, code, msg string) http.HandlerFunc {
	return jsonAnswer(status, proto.ErrorBody{Error: proto.Error{Code: code, Message: msg}})
}

// planServer answers plan requests with the plans by tool id.
func planServer(ps ...proto.Plan) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, p := range ps {
			if strings.Contains(r.URL.Path, p.ToolID) {
				jsonAnswer(http.StatusOK, p)(w, r)
				return
			}
		}
		errorAnswer(http.StatusNotFound, proto.CodeNotFound, "Tool not found.")(w, r)
	}
}

// okExecute is a successful execution of a tool returning an object.
func okExecute(result string) http.HandlerFunc {
	return jsonAnswer(http.StatusOK, proto.ExecuteResponse{
		OK: true, Result: json.RawMessage(result), ContentText: result, Structured: strings.HasPrefix(result, "{"),
		Stdout: "fetched", DurationMS: 12,
	})
}

// recordSink keeps the records the call path enqueues.
type recordSink struct {
	mu   sync.Mutex
	recs []proto.ExecutionRecord
}

func (r *recordSink) Enqueue(rec proto.ExecutionRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

func (r *recordSink) all() []proto.ExecutionRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]proto.ExecutionRecord(nil), r.recs...)
}

// only returns the one record, failing the test otherwise.
func (r *recordSink) only(t *testing.T) proto.ExecutionRecord {
	t.Helper()
	recs := r.all()
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1: %+v", len(recs), recs)
	}
	return recs[0]
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is the call path over loopback fakes: the backend (plans and
// executions) and the sandbox are httptest servers reached through the
// real clients and the real plan cache.
type harness struct {
	reg     *prometheus.Registry
	cat     *fakeCatalog
	backend *recorder.Server
	sandbox *recorder.Server
	sink    *recordSink
	logs    *syncBuffer
	log     *slog.Logger
	bc      *backend.Client
	plans   *plans.Cache
	sbc     *sandbox.Client
	metrics *Metrics
	svc     *Service
}

// newHarness serves the Go and the external tool (catalog revision 1)
// with their plans, and a sandbox answering {"temp":21}.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		reg: prometheus.NewRegistry(), cat: &fakeCatalog{}, backend: recorder.New(t), sandbox: recorder.New(t),
		sink: &recordSink{}, logs: &syncBuffer{},
	}
	h.cat.set(snapshot(1, []proto.CatalogTool{goTool(), extTool()}), nil)
	h.backend.Handle("/internal/v1/tools/", planServer(planOf(goTool()), planOf(extTool())))
	h.sandbox.Handle(proto.PathSandboxExecute, okExecute(`{"temp":21}`))
	var err error
	if h.bc, err = backend.New(h.backend.URL, backendToken, h.reg); err != nil {
		t.Fatal(err)
	}
	if h.sbc, err = sandbox.New(h.sandbox.URL, sandboxToken, sandbox.Options{ExecMargin: 5 * time.Second}, h.reg); err != nil {
		t.Fatal(err)
	}
	h.log = slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.plans = plans.New(h.bc.Plan, 0, h.reg, nil)
	h.metrics = NewMetrics(h.reg, h.cat, 0, nil)
	h.svc = New(h.cat, h.plans, h.sbc, h.sink, h.metrics, h.log)
	return h
}

// ctx is a test context with a request id.
func requestContext(t *testing.T, id string) context.Context {
	t.Helper()
	return obs.WithRequestID(t.Context(), id)
}

// text returns the result's only text item.
func text(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	if len(r.Content) != 1 {
		t.Fatalf("got %d content items, want 1", len(r.Content))
	}
	tc, ok := r.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("content is %T, want text", r.Content[0])
	}
	return tc.Text
}

// decodeBody decodes a request body.
func decodeBody[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// asJSON encodes v, for comparisons.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
