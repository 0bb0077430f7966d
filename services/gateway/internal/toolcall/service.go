package toolcall

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
)

// Catalog is what a call needs of the catalog cache (catalog.Cache).
type Catalog interface {
	// CheckCatalog returns the snapshot and catalog.ErrCatalogNotLoaded or
	// a *catalog.StaleError when it may not serve calls.
	CheckCatalog() (*catalog.Snapshot, error)
	// Refresh asks for a catalog fetch soon (after a plan 409).
	Refresh()
}

// Plans is the plan cache (plans.Cache).
type Plans interface {
	Get(ctx context.Context, toolID, serverID uuid.UUID, version int, hash string) (proto.Plan, error)
}

// Sandbox is the sandbox client (sandbox.Client): one request per call,
// failures as *sandbox.Error.
type Sandbox interface {
	Execute(ctx context.Context, req proto.ExecuteRequest) (proto.ExecuteResponse, error)
	MCPCall(ctx context.Context, req proto.MCPCallRequest) (proto.MCPCallResponse, error)
}

// Records takes prepared execution records (records.Queue); Enqueue must
// not block.
type Records interface {
	Enqueue(rec proto.ExecutionRecord)
}

// Service runs user tools: the one call path of tools/call and
// mcpbox_run_tool (gateway.md §8.1). It is safe for concurrent use.
type Service struct {
	cat        Catalog
	plans      Plans
	sandbox    Sandbox
	records    Records
	metrics    *Metrics
	log        *slog.Logger
	validators *validators
}

// New returns the call path over its dependencies; in the gateway they are
// the catalog.Cache, the plans.Cache, the sandbox.Client, the
// records.Queue and the Metrics shared with package manage.
func New(cat Catalog, plans Plans, sb Sandbox, rec Records, m *Metrics, log *slog.Logger) *Service {
	return &Service{
		cat: cat, plans: plans, sandbox: sb, records: rec, metrics: m, log: log,
		validators: newValidators(log),
	}
}

// User answers a direct tools/call of a user tool (via "direct"). The
// caller answers an empty name with JSON-RPC -32602 before calling it
// (gateway.md §8.1 step 1); User treats one as an unknown name.
func (s *Service) User(ctx context.Context, c caller.Caller, name string, args json.RawMessage) *mcp.CallToolResult {
	return s.Call(ctx, c, name, args, proto.ViaDirect)
}

// Call runs the user tool name with the raw arguments for c (gateway.md
// §8.1 steps 2–6): the snapshot check, argument validation, the plan, one
// sandbox request, the result mapping, one execution record (when the name
// matched a catalog or withheld entry) and the metrics. via is
// proto.ViaDirect or proto.ViaRunTool; nothing else differs between them.
// Every failure is an isError result; nothing is retried. When ctx ends
// (the client went away) the sandbox request is cancelled and the outcome
// is cancelled.
func (s *Service) Call(ctx context.Context, c caller.Caller, name string, args json.RawMessage, via proto.Via) *mcp.CallToolResult {
	end := s.metrics.Begin()
	defer end()
	ctx, requestID := EnsureRequestID(ctx)
	st := newCallState(c, name, args, via, requestID)
	m := s.run(ctx, st)
	elapsed := st.elapsed()
	s.metrics.observeUser(st.server(), st.labelName(), st.kind(), m.Outcome, elapsed)
	if st.matched() {
		s.records.Enqueue(st.record(m, elapsed))
	}
	return m.Result
}

// EnsureRequestID returns ctx with a request id (the one it carries, or a
// new UUIDv4 when it has none or an invalid one) and that id. The id goes
// on the plan and sandbox (or backend) requests, into the record and into
// the log lines of the call.
func EnsureRequestID(ctx context.Context) (context.Context, string) {
	if id := obs.RequestID(ctx); proto.ValidRequestID(id) {
		return ctx, id
	}
	id := obs.NewRequestID()
	return obs.WithRequestID(ctx, id), id
}

// ProtoCaller is the identity forwarded to the backend and written in
// records (contracts.md §2): kind local or remote, and a remote caller's
// email and subject when present.
func ProtoCaller(c caller.Caller) proto.Caller {
	if c.IsLocal() {
		return proto.Caller{Kind: proto.CallerLocal}
	}
	return proto.Caller{Kind: proto.CallerRemote, Email: c.Email, Sub: c.Sub}
}
