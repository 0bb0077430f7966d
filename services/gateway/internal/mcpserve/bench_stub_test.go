package mcpserve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
	"github.com/mcpbox/mcpbox/services/gateway/internal/plans"
	"github.com/mcpbox/mcpbox/services/gateway/internal/records"
	"github.com/mcpbox/mcpbox/services/gateway/internal/sandbox"
	"github.com/mcpbox/mcpbox/services/gateway/internal/toolcall"
)

// benchToolName is the tool the call benchmarks run: the trivial tool of
// P1 (returns a + b), as e2e__add of gateway.md §16.
const benchToolName = "bench__add"

// benchInputSchema is what the Go Input struct of that tool derives.
const benchInputSchema = `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},` +
	`"required":["a","b"],"additionalProperties":false}`

// benchInput and benchOutput are the bare server's typed tool.
type benchInput struct {
	A int `json:"a"`
	B int `json:"b"`
}

type benchOutput struct {
	Sum int `json:"sum"`
}

// benchArguments are the arguments of every benchmarked call.
func benchArguments() map[string]any { return map[string]any{"a": 2, "b": 40} }

// benchEntry is the catalog entry of benchToolName.
func benchEntry() proto.CatalogTool {
	t := mcpservetest.Tool(benchToolName)
	t.InputSchema = json.RawMessage(benchInputSchema)
	t.TimeoutMS = 5000
	return t
}

// benchCatalog is the catalog of the call benchmark: benchToolName alone.
func benchCatalog() proto.Catalog {
	return proto.Catalog{Revision: 1, Tools: []proto.CatalogTool{benchEntry()}}
}

// benchPlan is the backend's plan of benchEntry, as the plan cache's
// fetcher returns it.
func benchPlan() proto.Plan {
	t := benchEntry()
	return proto.Plan{
		ToolID: t.ToolID, ServerID: t.ServerID, ServerName: t.ServerName, Name: t.Name, Kind: t.Kind,
		Version: t.Version, Hash: t.Hash, InputSchema: t.InputSchema, OutputSchema: t.OutputSchema,
		Code:         "package tool\n\n// Main adds.\nfunc Main(ctx context.Context, in Input) (any, error) { return Output{Sum: in.A + in.B}, nil }\n",
		Manifest:     proto.Manifest{Hosts: []string{}, Packages: []string{}, Secrets: []string{}, TimeoutMS: t.TimeoutMS, MemoryMB: 64},
		AllowedHosts: proto.OnlyHosts(),
		Limits:       proto.Limits{TimeoutMS: t.TimeoutMS, MemoryMB: 64},
		Redact:       true,
	}
}

// newStubCallPath wires the real user-tool call path (toolcall.Service)
// over the harness's catalog cache and registry, as run.go does, with
// three stand-ins that do no I/O: a plan cache whose fetcher returns
// benchPlan, a sandbox client whose transport answers /v1/execute in
// memory (stubSandbox), and a record queue whose sender discards batches.
func newStubCallPath(tb testing.TB, h *mcpservetest.Harness) *toolcall.Service {
	tb.Helper()
	log := obs.NewLogger(io.Discard, "gateway", slog.LevelInfo, "json")
	plan := benchPlan()
	planCache := plans.New(func(context.Context, uuid.UUID, int) (proto.Plan, error) { return plan, nil }, 0, h.Reg, nil)
	sb, err := sandbox.New("http://sandbox.invalid:8001", "bench-sandbox-token-0123456789abcdef",
		sandbox.Options{Transport: newStubSandbox(tb)}, h.Reg)
	if err != nil {
		tb.Fatal(err)
	}
	queue := records.New(discardSender{}, records.Options{}, h.Reg, log)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { queue.Run(ctx) })
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	metrics := toolcall.NewMetrics(h.Reg, h.Cache, 0, nil)
	return toolcall.New(h.Cache, planCache, sb, queue, metrics, log)
}

// stubSandbox is the sandbox of the benchmark as an http.RoundTripper:
// POST /v1/execute reads the request and answers {"sum":42} as the real
// sandbox would; anything else is a 404.
type stubSandbox struct {
	answer []byte
}

func newStubSandbox(tb testing.TB) stubSandbox {
	tb.Helper()
	answer, err := json.Marshal(proto.ExecuteResponse{
		OK: true, Result: json.RawMessage(`{"sum":42}`), ContentText: `{"sum":42}`, Structured: true,
		Stdout: "", DurationMS: 1,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return stubSandbox{answer: answer}
}

// RoundTrip implements http.RoundTripper.
func (s stubSandbox) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	status, body := http.StatusOK, s.answer
	if r.Method != http.MethodPost || r.URL.Path != proto.PathSandboxExecute {
		status, body = http.StatusNotFound, []byte(`{"error":{"code":"not_found","message":"no such endpoint"}}`)
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": []string{"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

// discardSender accepts every batch of execution records.
type discardSender struct{}

func (discardSender) PostExecutions(context.Context, []proto.ExecutionRecord) error { return nil }

// lateCalls is the mcpserve.Calls of a harness whose call path needs the
// harness's own catalog cache and registry: set before the first request.
// Management tools are not part of the benchmarks.
type lateCalls struct {
	user atomic.Pointer[toolcall.Service]
}

func (l *lateCalls) set(s *toolcall.Service) { l.user.Store(s) }

func (l *lateCalls) User(ctx context.Context, c caller.Caller, name string, args json.RawMessage) *mcp.CallToolResult {
	return l.user.Load().User(ctx, c, name, args)
}

func (l *lateCalls) Management(_ context.Context, _ caller.Caller, tool proto.ManagementTool, _ json.RawMessage) *mcp.CallToolResult {
	r := mcpservetest.Text("management tool " + string(tool) + " is not wired in the benchmarks")
	r.IsError = true
	return r
}
