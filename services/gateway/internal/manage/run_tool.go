package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/toolcall"
)

// runArgs are mcpbox_run_tool's arguments; the inner arguments stay raw,
// as a direct call receives them.
type runArgs struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// RunToolRefusal is the answer to mcpbox_run_tool naming a management
// tool (gateway.md §10.4, tool 30): it runs user tools only, so it can
// never bypass the editing gate.
func RunToolRefusal(name string) string {
	if !plainName(name) { // a client's string: keep it on one line, and short
		name = strconv.Quote(string([]rune(name)[:min(len([]rune(name)), proto.MaxExposedNameLen)]))
	}
	return "mcpbox_run_tool runs user tools only; call " + name + " directly."
}

// plainName reports whether name is at most 64 characters of [a-z0-9_].
func plainName(name string) bool {
	if name == "" || len(name) > proto.MaxExposedNameLen {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// runTool runs the named user tool through the one call path with via
// run_tool: the result, record and metrics are the inner call's. Its own
// arguments are checked first: an mcpbox_* name is refused before the
// schema (whose pattern would refuse it less helpfully), then the schema;
// such refusals count as mcpbox_run_tool calls.
func (s *Service) runTool(ctx context.Context, c caller.Caller, raw json.RawMessage) *mcp.CallToolResult {
	if refusal := s.runToolRefusal(raw); refusal != "" {
		start := time.Now()
		end := s.metrics.Begin()
		defer end()
		s.metrics.ObserveManagement(proto.MgmtRunTool, proto.OutcomeInvalidArguments, time.Since(start))
		return errorText(refusal)
	}
	var a runArgs
	_ = json.Unmarshal(bytes.TrimSpace(raw), &a) // validated: an object with a string name
	return s.runner.Call(ctx, c, a.Name, a.Arguments, proto.ViaRunTool)
}

// runToolRefusal is the text refusing mcpbox_run_tool's own arguments, or
// "".
func (s *Service) runToolRefusal(raw json.RawMessage) string {
	var probe struct {
		Name any `json:"name"`
	}
	if json.Unmarshal(raw, &probe) == nil {
		if name, ok := probe.Name.(string); ok && strings.HasPrefix(name, proto.ReservedPrefix) {
			return RunToolRefusal(name)
		}
	}
	_, refusal := toolcall.ValidateArguments(string(proto.MgmtRunTool), s.validators[proto.MgmtRunTool], raw)
	return refusal
}
