package mcpserve

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Method names the middleware acts on.
const (
	methodCallTool  = "tools/call"
	methodListTools = "tools/list"
)

// managementPrefix starts every management tool name. Routing is by exact
// name (proto.ParseManagementTool); the prefix only selects the §8.7 text
// for an unknown name in the management namespace.
const managementPrefix = "mcpbox_"

// MsgToolNameRequired answers a tools/call without a name (gateway.md
// §8.1 step 1), JSON-RPC -32602.
const MsgToolNameRequired = "tools/call requires a tool name"

// UnknownManagementText is the isError text of a tools/call naming an
// unknown mcpbox_* tool (gateway.md §8.7).
func UnknownManagementText(name string) string {
	return fmt.Sprintf("%q is not an MCPbox management tool. The management tools are listed by tools/list.", name)
}

// receiving is the receiving middleware of s (gateway.md §4 step 11):
// tools/call routing (empty names, names not registered), the raw
// tools/list answer, and the JSON-RPC outcome reported to the Exchange.
func (g *Gateway) receiving(s *server) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			ex, _ := exchangeOf(req)
			if ex != nil && !strings.HasPrefix(method, "notifications/") {
				ex.dispatched()
			}
			var (
				res  mcp.Result
				err  error
				tool string
			)
			switch method {
			case methodCallTool:
				tool, res, err = g.routeCall(ctx, s, next, req)
			case methodListTools:
				res, err = listTools(ctx, s, next, req)
			default:
				res, err = next(ctx, method, req)
			}
			if ex != nil {
				ex.report(outcomeOf(err), tool)
			}
			return res, err
		}
	}
}

// routeCall serves tools/call: an empty name is -32602; a registered name
// goes to its handler; any other name is answered here, so the SDK's
// generic "unknown tool" error never reaches a client (§8.7): an unknown
// mcpbox_* name gets the management-name text, every other name goes to
// Calls.User, which owns the unknown and withheld texts.
func (g *Gateway) routeCall(ctx context.Context, s *server, next mcp.MethodHandler, req mcp.Request) (string, mcp.Result, error) {
	r, ok := req.(*mcp.CallToolRequest)
	if !ok || r.Params == nil {
		res, err := next(ctx, methodCallTool, req)
		return "", res, err
	}
	name := r.Params.Name
	if name == "" {
		return "", nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: MsgToolNameRequired}
	}
	if _, registered := s.tools.get(name); registered {
		res, err := next(ctx, methodCallTool, req)
		if !unknownTool(err, name) {
			return name, res, err
		}
		// Removed by the registrar since the table said otherwise.
	}
	var res *mcp.CallToolResult
	if strings.HasPrefix(name, managementPrefix) {
		res = textResult(UnknownManagementText(name), true)
	} else {
		res = g.runUser(ctx, r)
	}
	return name, completeIfModern(r, res), nil
}

// unknownTool reports whether err is the SDK's error for a tool it does
// not hold.
func unknownTool(err error, name string) bool {
	var je *jsonrpc.Error
	return errors.As(err, &je) && je.Code == jsonrpc.CodeInvalidParams && je.Message == fmt.Sprintf("unknown tool %q", name)
}

// outcomeOf maps a method's error to the request outcome: none is ok, the
// JSON-RPC codes of a malformed or unserviceable request are invalid, the
// rest error.
func outcomeOf(err error) Outcome {
	if err == nil {
		return OutcomeOK
	}
	var je *jsonrpc.Error
	if errors.As(err, &je) {
		switch je.Code {
		case jsonrpc.CodeParseError, jsonrpc.CodeInvalidRequest, jsonrpc.CodeMethodNotFound, jsonrpc.CodeInvalidParams,
			mcp.CodeHeaderMismatch, mcp.CodeMissingRequiredClientCapabilities, mcp.CodeUnsupportedProtocolVersion:
			return OutcomeInvalid
		}
	}
	return OutcomeError
}

// textResult is a result with one text item.
func textResult(text string, isError bool) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, IsError: isError}
}

// modernEra is the first protocol version of the modern era.
const modernEra = "2026-07-28"

// isModern reports whether the request's session speaks the modern era
// (a stateless session takes the version of the request's _meta).
func isModern(req mcp.Request) bool {
	ss, ok := req.GetSession().(*mcp.ServerSession)
	if !ok || ss == nil {
		return false
	}
	p := ss.InitializeParams()
	return p != nil && p.ProtocolVersion >= modernEra
}

// completeIfModern marks a result this middleware answered itself as
// resultType "complete" for a modern-era request, as the SDK does for the
// results of registered tools. The field is unexported in the SDK, and its
// only setter is the JSON decoder; the other fields are copied unchanged
// (no re-encoding of structured content).
func completeIfModern(req mcp.Request, res *mcp.CallToolResult) *mcp.CallToolResult {
	if !isModern(req) {
		return res
	}
	var out mcp.CallToolResult
	if err := out.UnmarshalJSON([]byte(`{"content":[],"resultType":"complete"}`)); err != nil {
		return res
	}
	out.Meta, out.Content, out.StructuredContent, out.IsError = res.Meta, res.Content, res.StructuredContent, res.IsError
	return &out
}
