package mcpserve

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// errClientGone cancels a call whose HTTP request ended (gateway.md §5.6).
var errClientGone = errors.New("the client closed the request")

// userTool is the one handler of every registered user tool (§7.4).
func (g *Gateway) userTool(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return g.runUser(ctx, req), nil
}

// runUser runs a direct call of user tool req.Params.Name through
// Calls.User, with progress when the request asks for it.
func (g *Gateway) runUser(ctx context.Context, req *mcp.CallToolRequest) *mcp.CallToolResult {
	ex, ok := exchangeOf(req)
	if !ok {
		return internalError(ctx)
	}
	name, args := req.Params.Name, req.Params.Arguments
	limit := g.userLimit(name)
	return g.call(ctx, req, ex, name, limit, func(ctx context.Context, c caller.Caller) *mcp.CallToolResult {
		return g.opts.Calls.User(ctx, c, name, args)
	})
}

// managementHandler is the handler of management tool t.
func (g *Gateway) managementHandler(t proto.ManagementTool) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ex, ok := exchangeOf(req)
		if !ok {
			return internalError(ctx), nil
		}
		args := req.Params.Arguments
		return g.call(ctx, req, ex, string(t), g.managementLimit(t, args), func(ctx context.Context, c caller.Caller) *mcp.CallToolResult {
			return g.opts.Calls.Management(ctx, c, t, args)
		}), nil
	}
}

// call runs fn for the exchange's caller under a context that carries the
// request id and the caller, and ends when the SDK cancels the request
// (notifications/cancelled) or the HTTP request ends, with progress
// notifications when the request carries a progress token and limit is
// known.
func (g *Gateway) call(ctx context.Context, req *mcp.CallToolRequest, ex *Exchange, name string, limit time.Duration,
	fn func(context.Context, caller.Caller) *mcp.CallToolResult,
) *mcp.CallToolResult {
	ctx = caller.WithCaller(obs.WithRequestID(ctx, ex.requestID), ex.caller)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if ex.httpCtx != nil {
		stop := context.AfterFunc(ex.httpCtx, func() { cancel(errClientGone) })
		defer stop()
	}
	res := g.withProgress(ctx, req, name, limit, func() *mcp.CallToolResult { return fn(ctx, ex.caller) })
	if res == nil {
		g.log.ErrorContext(ctx, "a tool call returned no result", obs.KeyTool, name)
		return internalError(ctx)
	}
	if res.Content == nil {
		res.Content = []mcp.Content{}
	}
	return res
}

// userLimit is the timeout of catalog entry name, 0 when unknown.
func (g *Gateway) userLimit(name string) time.Duration {
	snap := g.opts.Catalog.Current()
	if snap == nil {
		return 0
	}
	e, ok := snap.Lookup(name)
	if !ok {
		return 0
	}
	return time.Duration(e.TimeoutMS) * time.Millisecond
}

// managementLimit is the progress total of management tool t (§5.6):
// mcpbox_run_tool takes the named tool's timeout; the two long forwarded
// tools their forwarding timeouts; the others report no progress.
func (g *Gateway) managementLimit(t proto.ManagementTool, args json.RawMessage) time.Duration {
	switch t {
	case proto.MgmtRunTool:
		var a struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(args, &a) != nil {
			return 0
		}
		return g.userLimit(a.Name)
	case proto.MgmtTestCode:
		return TestCodeLimit
	case proto.MgmtDiscoverExternalTools:
		return DiscoverToolsLimit
	}
	return 0
}

// internalError is the -32603-style text of a failure outside a tool,
// as a tool result the LLM can read.
func internalError(ctx context.Context) *mcp.CallToolResult {
	return textResult("Internal error (request id "+obs.RequestID(ctx)+")", true)
}
