package sandboxapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/mcpclient"
)

// MCPClient is the external MCP client (internal/mcpclient).
type MCPClient interface {
	Discover(ctx context.Context, req proto.DiscoverRequest) (proto.DiscoverResponse, error)
	Call(ctx context.Context, req proto.MCPCallRequest) (proto.MCPCallResponse, error)
}

// discoverHandler serves POST /v1/mcp/discover (sandbox.md §4.5): every
// upstream failure is a 200 with ok:false and a typed error.
func discoverHandler(c MCPClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, e := readBody(r, proto.MaxDiscoverBodyBytes)
		var req proto.DiscoverRequest
		if e == nil {
			e = allowedHostsHint(decodeStrict(body, &req, 8, "url", "allowed_hosts"))
		}
		if e == nil {
			e = adoptRequestID(w, r, req.RequestID)
		}
		if e != nil {
			writeError(w, r, e)
			return
		}
		resp, err := c.Discover(r.Context(), req)
		if err != nil {
			writeError(w, r, mcpRefusal(err))
			return
		}
		writeJSON(w, resp)
	})
}

// callHandler serves POST /v1/mcp/call (sandbox.md §4.6): the pinned hash of
// definition and manifest is checked before anything is sent upstream.
func callHandler(c MCPClient) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, e := readBody(r, proto.MaxExecuteBodyBytes)
		var req proto.MCPCallRequest
		if e == nil {
			e = allowedHostsHint(decodeStrict(body, &req, executeDepth,
				"url", "allowed_hosts", "tool", "arguments", "definition", "manifest", "pinned_hash"))
		}
		if e == nil {
			e = adoptRequestID(w, r, req.RequestID)
		}
		if e == nil {
			e = checkArguments(req.Arguments)
		}
		if e != nil {
			writeError(w, r, e)
			return
		}
		resp, err := c.Call(r.Context(), req)
		if err != nil {
			writeError(w, r, mcpRefusal(err))
			return
		}
		writeJSON(w, resp)
	})
}

// mcpRefusal maps the client's two refusals: 409 hash_mismatch, else 400
// naming the field its message starts with.
func mcpRefusal(err error) *apiError {
	if errors.Is(err, mcpclient.ErrHashMismatch) {
		return &apiError{Status: http.StatusConflict, Err: proto.Error{
			Code: proto.CodeHashMismatch, Field: "pinned_hash",
			Message: err.Error() + ": the definition or the manifest changed since the tool was pinned, or a cached plan is stale; fetch the plan again",
		}}
	}
	msg := err.Error()
	field, _, _ := strings.Cut(msg, ":")
	if strings.ContainsAny(field, " \t") {
		field = ""
	}
	return &apiError{Status: http.StatusBadRequest, Err: proto.Error{Code: proto.CodeInvalidRequest, Field: field, Message: msg}}
}
