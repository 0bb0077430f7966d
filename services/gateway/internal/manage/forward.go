package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/backend"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/toolcall"
)

// Forwarding rules of gateway.md §10.1 and §7.2.
const (
	// DefaultTimeout bounds a forwarded call; the two long tools have their
	// own (Timeout).
	DefaultTimeout = 30 * time.Second
	// TestCodeTimeout covers the longest test run (300 s) plus the
	// sandbox's queue wait and the backend's own work.
	TestCodeTimeout = 330 * time.Second
	// DiscoverTimeout covers listing every page of an upstream's tools.
	DiscoverTimeout = 90 * time.Second
	// RevisionWait bounds the wait for the catalog revision an answer
	// carries, so the caller's next tools/list shows its change.
	RevisionWait = 2 * time.Second
)

// NotSentText is the answer when the backend was not reached (gateway.md
// §10.2).
const NotSentText = "The MCPbox backend is unreachable; nothing was changed. Retry shortly."

// Timeout is the forwarding timeout of tool.
func Timeout(tool proto.ManagementTool) time.Duration {
	switch tool {
	case proto.MgmtTestCode:
		return TestCodeTimeout
	case proto.MgmtDiscoverExternalTools:
		return DiscoverTimeout
	}
	return DefaultTimeout
}

// forward sends the call to the backend once and maps its answer
// (gateway.md §10.1, §10.2). An answer carrying catalog_revision waits for
// that revision first, whether the operation succeeded or not.
func (s *Service) forward(ctx context.Context, c caller.Caller, tool proto.ManagementTool, args json.RawMessage, requestID string) (*mcp.CallToolResult, proto.Outcome) {
	req := proto.ManageRequest{Arguments: args, Caller: toolcall.ProtoCaller(c)}
	resp, err := s.backend.Manage(ctx, tool, req, Timeout(tool))
	if err != nil {
		return s.failure(ctx, tool, requestID, err)
	}
	if resp.CatalogRevision > 0 && !s.cat.WaitRevision(ctx, resp.CatalogRevision, RevisionWait) {
		s.log.WarnContext(ctx, "catalog revision of a management answer not reached in time; answering anyway",
			obs.KeyTool, string(tool))
	}
	if !resp.OK {
		return backendError(resp.Error), proto.OutcomeToolError
	}
	return success(resp.Result), proto.OutcomeOK
}

// failure maps a call that got no answer to use (gateway.md §10.2): not
// sent (nothing changed), unconfirmed (it may have been applied: check
// with the matching read tool), or a gateway or deployment defect
// (unknown tool, refused request: internal error, logged).
func (s *Service) failure(ctx context.Context, tool proto.ManagementTool, requestID string, err error) (*mcp.CallToolResult, proto.Outcome) {
	attrs := []any{obs.KeyTool, string(tool), obs.KeyError, err.Error()}
	var me *backend.ManageError
	if !errors.As(err, &me) {
		s.log.ErrorContext(ctx, "management call failed unexpectedly", attrs...)
		return errorText(internalText(tool, requestID)), proto.OutcomeInternalError
	}
	switch me.Kind {
	case backend.ManageNotSent:
		s.log.WarnContext(ctx, "management call not sent: backend unreachable", attrs...)
		return errorText(NotSentText), proto.OutcomeUnavailable
	case backend.ManageUnconfirmed:
		s.log.WarnContext(ctx, "management call unconfirmed: it may have been applied", attrs...)
		return errorText(UnconfirmedText(tool, me.Cause)), proto.OutcomeUnavailable
	}
	s.log.ErrorContext(ctx, "management call refused by the backend", append(attrs, obs.KeyClass, me.Kind.String())...)
	return errorText(internalText(tool, requestID)), proto.OutcomeInternalError
}

// UnconfirmedText is the answer to a call the backend may have applied
// without confirming it (gateway.md §10.2).
func UnconfirmedText(tool proto.ManagementTool, cause string) string {
	return "The MCPbox backend did not confirm " + string(tool) + " (" + cause + "). It may have been applied; " +
		"check with " + string(ReadTool(tool)) + " before retrying."
}

// ReadTool is the read-only tool that shows whether a call of tool took
// effect, named by the unconfirmed text. A read-only tool names itself.
func ReadTool(tool proto.ManagementTool) proto.ManagementTool {
	switch tool {
	case proto.MgmtCreateServer, proto.MgmtDeleteServer:
		return proto.MgmtListServers
	case proto.MgmtStartServer, proto.MgmtStopServer:
		return proto.MgmtGetServer
	case proto.MgmtCreateTool, proto.MgmtDeleteTool, proto.MgmtImportExternalTools:
		return proto.MgmtListTools
	case proto.MgmtUpdateTool:
		return proto.MgmtGetTool
	case proto.MgmtRollbackTool:
		return proto.MgmtListToolVersions
	case proto.MgmtTestCode:
		return proto.MgmtGetToolLogs
	case proto.MgmtRequestPublish:
		return proto.MgmtGetToolStatus
	case proto.MgmtRequestPackage, proto.MgmtRequestNetworkAccess:
		return proto.MgmtListPendingRequests
	case proto.MgmtCreateServerSecret:
		return proto.MgmtListServerSecrets
	case proto.MgmtAddExternalSource, proto.MgmtDiscoverExternalTools:
		return proto.MgmtListExternalSources
	}
	return tool
}

// success renders a result (gateway.md §10.2): structuredContent is the
// result and the text its compact JSON. Numbers and strings keep their
// bytes, except that the escapes \u003c, \u003e and \u0026 that an HTML-safe
// encoder (the backend's) writes become <, > and & again, so the text reads
// as written. A result that is not an object (MCP wants one there) is text
// only.
func success(result json.RawMessage) *mcp.CallToolResult {
	text := readableJSON(result)
	r := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
	if t := bytes.TrimSpace(result); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		r.StructuredContent = json.RawMessage(text)
	}
	return r
}

// readableJSON compacts raw and undoes the HTML-safe escapes inside its
// strings; raw that is not valid JSON is returned as it is.
func readableJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	b := buf.Bytes()
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(b):
			if i+5 < len(b) && b[i+1] == 'u' {
				if r, ok := htmlEscape(string(b[i+2 : i+6])); ok {
					out = append(out, r)
					i += 5
					continue
				}
			}
			out = append(out, c, b[i+1]) // any other escape stays, including an escaped backslash
			i++
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// htmlEscape maps the hex digits of the escapes encoding/json writes for
// HTML safety back to their character.
func htmlEscape(hex string) (byte, bool) {
	switch strings.ToLower(hex) {
	case "003c":
		return '<', true
	case "003e":
		return '>', true
	case "0026":
		return '&', true
	}
	return 0, false
}

// backendError renders an operation's error (gateway.md §10.2): "Error:
// <message>", then a blank line and "Details: <compact JSON>" when details
// are present; the whole error object, every field kept, in
// _meta["io.mcpbox/error"]; no structuredContent.
func backendError(e *proto.Error) *mcp.CallToolResult {
	if e == nil { // the backend client refuses such answers
		e = &proto.Error{Code: proto.CodeInternal, Message: "the backend reported a failure without an error"}
	}
	text := "Error: " + e.Message
	if len(e.Details) > 0 {
		text += "\n\nDetails: " + string(encode(e.Details))
	}
	return &mcp.CallToolResult{
		Meta:    mcp.Meta{toolcall.MetaError: e},
		Content: []mcp.Content{&mcp.TextContent{Text: text}},
		IsError: true,
	}
}
