package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/gateway/internal/recorder"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/backend"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/plans"
	"github.com/mcpbox/mcpbox/services/gateway/internal/sandbox"
	"github.com/mcpbox/mcpbox/services/gateway/internal/toolcall"
)

const (
	testToken  = "service-token-for-tests-0123456789abcdef"
	goToolID   = "0b7e1f5c-3c1a-4a8e-9f3e-2d6c5b4a3f21"
	goServerID = "2d9a3b7e-5e3c-4cae-9b5a-4f8e7d6c5b43"
	goHash     = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	forecast   = "weather__forecast"
	// forecastSchema is the closed schema of a Go Input struct.
	forecastSchema = `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1,"maximum":7}},` +
		`"required":["city"],"additionalProperties":false}`
)

// catalogTool is a catalog entry of server "weather" (or another).
func catalogTool(server, tool, description, id string) proto.CatalogTool {
	return proto.CatalogTool{
		ToolID: id, ServerID: goServerID, ServerName: server, Name: server + "__" + tool, Kind: proto.ToolKindGo,
		Version: 3, Hash: goHash, Description: description, InputSchema: json.RawMessage(forecastSchema),
		OutputSchema: json.RawMessage(`null`), Annotations: json.RawMessage(`null`), TimeoutMS: 5000,
	}
}

// forecastTool is the tool mcpbox_run_tool runs in these tests.
func forecastTool() proto.CatalogTool {
	return catalogTool("weather", "forecast", "Forecast for a city.", goToolID)
}

// forecastPlan is its plan.
func forecastPlan() proto.Plan {
	t := forecastTool()
	return proto.Plan{
		ToolID: t.ToolID, ServerID: t.ServerID, ServerName: t.ServerName, Name: t.Name, Kind: t.Kind, Version: t.Version,
		Hash: t.Hash, Code: "package tool", InputSchema: t.InputSchema, AllowedHosts: proto.OnlyHosts(),
		Manifest: proto.Manifest{TimeoutMS: 5000, MemoryMB: 128}, Limits: proto.Limits{TimeoutMS: 5000, MemoryMB: 128},
	}
}

// fakeCatalog is the catalog cache as management calls use it: a
// snapshot, a policy, and WaitRevision recorded (and optionally held until
// release is closed).
type fakeCatalog struct {
	mu      sync.Mutex
	snap    *catalog.Snapshot
	err     error
	policy  proto.Policy
	loaded  bool
	waits   []int64
	maxWait time.Duration
	release chan struct{}
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

func (f *fakeCatalog) Refresh() {}

func (f *fakeCatalog) Policy() (proto.Policy, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.policy, f.loaded
}

func (f *fakeCatalog) WaitRevision(ctx context.Context, rev int64, maxWait time.Duration) bool {
	f.mu.Lock()
	f.waits = append(f.waits, rev)
	f.maxWait = maxWait
	release := f.release
	f.mu.Unlock()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (f *fakeCatalog) setPolicy(editing proto.Toggle) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policy, f.loaded = proto.Policy{RemoteToolEditing: editing}, true
}

func (f *fakeCatalog) setSnapshot(s *catalog.Snapshot, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap, f.err = s, err
}

func (f *fakeCatalog) waited() ([]int64, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.waits...), f.maxWait
}

// writeJSON answers body as JSON with status.
func writeJSON(status int, body any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

// manageAnswer answers a management call with resp.
func manageAnswer(resp proto.ManageResponse) http.HandlerFunc { return writeJSON(http.StatusOK, resp) }

// recordSink keeps the records of user-tool calls.
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

// harness is the management service over a loopback backend and sandbox,
// with the real backend and sandbox clients, plan cache and call path.
type harness struct {
	reg    *prometheus.Registry
	cat    *fakeCatalog
	server *recorder.Server
	sink   *recordSink
	logs   *syncBuffer
	calls  *toolcall.Service
	svc    *Service
}

// newHarness serves forecastTool (catalog revision 5) with remote editing
// enabled, a sandbox answering {"temp":21} and no management routes.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		reg: prometheus.NewRegistry(), cat: &fakeCatalog{}, server: recorder.New(t), sink: &recordSink{}, logs: &syncBuffer{},
	}
	h.cat.setPolicy(proto.ToggleEnabled)
	h.cat.setSnapshot(catalog.BuildSnapshot(proto.Catalog{Revision: 5, Tools: []proto.CatalogTool{forecastTool()}}, time.Now()), nil)
	h.server.Handle("/internal/v1/tools/", writeJSON(http.StatusOK, forecastPlan()))
	h.server.Handle(proto.PathSandboxExecute, writeJSON(http.StatusOK, proto.ExecuteResponse{
		OK: true, Result: json.RawMessage(`{"temp":21}`), ContentText: `{"temp":21}`, Structured: true, DurationMS: 4,
	}))
	bc, err := backend.New(h.server.URL, testToken, h.reg)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sandbox.New(h.server.URL, testToken, sandbox.Options{ExecMargin: 5 * time.Second}, h.reg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	m := toolcall.NewMetrics(h.reg, h.cat, 0, nil)
	h.calls = toolcall.New(h.cat, plans.New(bc.Plan, 0, h.reg, nil), sc, h.sink, m, log)
	if h.svc, err = New(h.cat, bc, h.calls, m, log); err != nil {
		t.Fatal(err)
	}
	return h
}

// manageCalls returns the forwarded calls of tool.
func (h *harness) manageCalls(t *testing.T, tool proto.ManagementTool) []proto.ManageRequest {
	t.Helper()
	var out []proto.ManageRequest
	for _, s := range h.server.Requests("/internal/v1/manage/" + string(tool)) {
		var req proto.ManageRequest
		if err := json.Unmarshal(s.Body, &req); err != nil {
			t.Fatalf("forwarded body %s: %v", s.Body, err)
		}
		out = append(out, req)
	}
	return out
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

// asJSON encodes v for comparisons.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
