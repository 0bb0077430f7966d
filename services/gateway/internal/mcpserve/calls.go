package mcpserve

import (
	"context"
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// Calls runs the tools/call handlers' work.
type Calls interface {
	// User runs user tool name for c (a direct tools/call): a catalog entry, a
	// withheld one or an unknown name; it returns the §8.7 texts itself.
	User(ctx context.Context, c caller.Caller, name string, args json.RawMessage) *mcp.CallToolResult
	// Management runs one of the 30 management tools for c (forwarding,
	// gating, find_tools and run_tool are the implementation's business).
	Management(ctx context.Context, c caller.Caller, tool proto.ManagementTool, args json.RawMessage) *mcp.CallToolResult
}
