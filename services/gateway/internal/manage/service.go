package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
	"github.com/mcpbox/mcpbox/services/gateway/internal/toolcall"
)

// Catalog is what management calls need of the catalog cache
// (catalog.Cache).
type Catalog interface {
	// CheckCatalog returns the snapshot mcpbox_find_tools searches.
	CheckCatalog() (*catalog.Snapshot, error)
	// Policy returns the remote-access policy, false before its first load.
	Policy() (proto.Policy, bool)
	// WaitRevision waits, at most maxWait, until the snapshot has reached
	// rev and has been registered.
	WaitRevision(ctx context.Context, rev int64, maxWait time.Duration) bool
}

// Backend forwards a management call (backend.Client.Manage): one request,
// never retried, failures as *backend.ManageError.
type Backend interface {
	Manage(ctx context.Context, tool proto.ManagementTool, req proto.ManageRequest, timeout time.Duration) (proto.ManageResponse, error)
}

// Runner runs a user tool through the one call path (toolcall.Service).
type Runner interface {
	Call(ctx context.Context, c caller.Caller, name string, args json.RawMessage, via proto.Via) *mcp.CallToolResult
}

// Service answers management calls. It is safe for concurrent use.
type Service struct {
	cat     Catalog
	backend Backend
	runner  Runner
	metrics *toolcall.Metrics
	log     *slog.Logger
	// validators holds the compiled input schema of each management tool.
	validators map[proto.ManagementTool]*toolcall.Validator
}

// New returns the management service over the catalog cache, the backend
// client, the user-tool call path and the metrics shared with it. It
// compiles the 30 input schemas of proto and fails if one does not compile
// (a defect of proto, caught by its tests).
func New(cat Catalog, be Backend, run Runner, m *toolcall.Metrics, log *slog.Logger) (*Service, error) {
	s := &Service{
		cat: cat, backend: be, runner: run, metrics: m, log: log,
		validators: make(map[proto.ManagementTool]*toolcall.Validator, len(proto.ManagementTools())),
	}
	for _, d := range proto.ManagementToolDefs() {
		v, err := toolcall.CompileSchema(d.InputSchema)
		if err != nil {
			return nil, fmt.Errorf("management tool %s: %w", d.Name, err)
		}
		s.validators[d.Name] = v
	}
	return s, nil
}

// Management answers a tools/call of the management tool for c (gateway.md
// §10): the editing gate, argument validation, then mcpbox_find_tools from
// the snapshot, mcpbox_run_tool through the user-tool call path, or the
// backend. Every failure is an isError result.
func (s *Service) Management(ctx context.Context, c caller.Caller, tool proto.ManagementTool, args json.RawMessage) *mcp.CallToolResult {
	ctx, requestID := toolcall.EnsureRequestID(ctx)
	if tool == proto.MgmtRunTool {
		return s.runTool(ctx, c, args)
	}
	start := time.Now()
	end := s.metrics.Begin()
	defer end()
	r, outcome := s.serve(ctx, c, tool, args, requestID)
	if ctx.Err() != nil {
		outcome = proto.OutcomeCancelled
	}
	s.metrics.ObserveManagement(tool, outcome, time.Since(start))
	return r
}

// serve takes the steps of a management call other than mcpbox_run_tool.
func (s *Service) serve(ctx context.Context, c caller.Caller, tool proto.ManagementTool, raw json.RawMessage, requestID string) (*mcp.CallToolResult, proto.Outcome) {
	if !tool.Valid() {
		s.log.ErrorContext(ctx, "management call of a name that is no management tool", obs.KeyTool, string(tool))
		return errorText(internalText(tool, requestID)), proto.OutcomeInternalError
	}
	if p, _ := s.cat.Policy(); policy.EditingGated(p, c, tool) { // no policy yet: zero Policy, gated (fail closed)
		return errorText(tool.RemoteEditingRefusal()), proto.OutcomeDenied
	}
	args, refusal := toolcall.ValidateArguments(string(tool), s.validators[tool], raw)
	if refusal != "" {
		return errorText(refusal), proto.OutcomeInvalidArguments
	}
	if tool == proto.MgmtFindTools {
		return s.findTools(args)
	}
	return s.forward(ctx, c, tool, args, requestID)
}

// errorText is an isError result with one text item.
func errorText(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, IsError: true}
}

// internalText is the answer to a call that failed in a way the LLM cannot
// fix (details in the log).
func internalText(tool proto.ManagementTool, requestID string) string {
	return fmt.Sprintf("MCPbox failed internally while running %s (request id %s).", tool, requestID)
}
