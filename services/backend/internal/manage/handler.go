package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/strictjson"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

// maxBody is the largest request body: tool code plus its arguments.
const maxBody = 4 << 20

// operation is one row of the dispatch table: the handler runs after the
// caller passed the allowlist and, for an editing operation, the remote
// editing gate, and after its arguments were decoded (§9.5).
type operation struct {
	// args are the argument names the operation accepts; anything else is
	// validation_failed naming it.
	args []string
	run  func(ctx context.Context, c *call) (any, error)
}

// call is one management call being served.
type call struct {
	tool      proto.ManagementTool
	caller    proto.Caller
	requestID string
	args      *arguments
	// catalogRevision is set by an operation that bumped the catalog.
	catalogRevision int64
	// serverID and toolID are the ids the arguments named, for not_found
	// messages.
	serverID, toolID string
	// serverName is the server's name, for already_exists.
	serverName string
}

// actor is the actor string of the caller (§10.1).
func (c *call) actor() string { return c.caller.Actor() }

// operations is the dispatch table of the operations this service serves.
func (s *Service) operations() map[proto.ManagementTool]operation {
	return map[proto.ManagementTool]operation{
		proto.MgmtListServers:  {args: []string{"cursor", "limit"}, run: s.listServers},
		proto.MgmtGetServer:    {args: []string{"server_id"}, run: s.getServer},
		proto.MgmtCreateServer: {args: []string{"name", "description"}, run: s.createServer},
		proto.MgmtDeleteServer: {args: []string{"server_id"}, run: s.deleteServer},
		proto.MgmtStartServer:  {args: []string{"server_id"}, run: s.startServer},
		proto.MgmtStopServer:   {args: []string{"server_id"}, run: s.stopServer},
		proto.MgmtCreateTool: {
			args: []string{"server_id", "name", "code", "hosts", "timeout_ms", "memory_mb"}, run: s.createTool,
		},
		proto.MgmtUpdateTool: {
			args: []string{"tool_id", "name", "code", "hosts", "timeout_ms", "memory_mb", "enabled"}, run: s.updateTool,
		},
		proto.MgmtGetTool:        {args: []string{"tool_id", "version"}, run: s.getTool},
		proto.MgmtListTools:      {args: []string{"server_id", "cursor", "limit"}, run: s.listTools},
		proto.MgmtDeleteTool:     {args: []string{"tool_id"}, run: s.deleteTool},
		proto.MgmtRequestPublish: {args: []string{"tool_id", "notes"}, run: s.requestPublish},
		proto.MgmtTestCode:       {args: []string{"tool_id", "arguments", "version"}, run: s.testCode},
		proto.MgmtGetToolLogs:    {args: []string{"tool_id", "cursor", "limit"}, run: s.getToolLogs},
		proto.MgmtCreateServerSecret: {
			args: []string{"server_id", "key", "description"}, run: s.createServerSecret,
		},
		proto.MgmtListServerSecrets: {args: []string{"server_id", "cursor", "limit"}, run: s.listServerSecrets},
		proto.MgmtListPackages:      {args: []string{}, run: s.listPackages},
		proto.MgmtRequestPackage: {
			args: []string{"tool_id", "package", "justification"}, run: s.requestPackage,
		},
		proto.MgmtRequestNetworkAccess: {
			args: []string{"tool_id", "host", "port", "justification"}, run: s.requestNetworkAccess,
		},
		proto.MgmtValidateCode:        {args: []string{"code"}, run: s.validateCode},
		proto.MgmtListToolVersions:    {args: []string{"tool_id", "cursor", "limit"}, run: s.listToolVersions},
		proto.MgmtRollbackTool:        {args: []string{"tool_id", "version"}, run: s.rollbackTool},
		proto.MgmtGetToolStatus:       {args: []string{"tool_id"}, run: s.getToolStatus},
		proto.MgmtListPendingRequests: {args: []string{"cursor", "limit"}, run: s.listPendingRequests},
		proto.MgmtAddExternalSource: {
			args: []string{"server_id", "name", "url", "auth_type", "auth_secret_name", "auth_header_name", "transport_type"},
			run:  s.addExternalSource,
		},
		proto.MgmtListExternalSources:   {args: []string{"server_id", "cursor", "limit"}, run: s.listExternalSources},
		proto.MgmtDiscoverExternalTools: {args: []string{"source_id"}, run: s.discoverExternalTools},
		proto.MgmtImportExternalTools:   {args: []string{"source_id", "tool_names"}, run: s.importExternalTools},
	}
}

// Handler serves POST /internal/v1/manage/{tool} (§9.5); mount it on
// proto.PathInternalManage behind the service-token guard. Tool-level
// outcomes are 200 with a proto.ManageResponse; 404 unknown_tool, 400
// invalid_json and 405 are the only other answers.
func (s *Service) Handler() http.Handler {
	ops := s.operations()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requestID := r.Header.Get(proto.HeaderRequestID)
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, proto.ErrorBody{Error: proto.Error{
				Code: proto.CodeMethodNotAllowed, Message: "Use POST for management operations.", RequestID: requestID,
			}})
			return
		}
		name := r.PathValue("tool")
		tool, known := proto.ParseManagementTool(name)
		op, served := ops[tool]
		if !known || tool.ServedByGateway() || !served {
			writeJSON(w, http.StatusNotFound, proto.ErrorBody{Error: proto.Error{
				Code: proto.CodeUnknownTool, Message: "Unknown tool: " + name, RequestID: requestID,
			}})
			return
		}
		req, perr := decodeRequest(http.MaxBytesReader(w, r.Body, maxBody))
		if perr != nil {
			perr.RequestID = requestID
			status := http.StatusBadRequest
			if perr.Code == proto.CodeRequestTooLarge {
				status = http.StatusRequestEntityTooLarge
			}
			writeJSON(w, status, proto.ErrorBody{Error: *perr})
			return
		}
		c := &call{tool: tool, caller: req.Caller, requestID: requestID}
		resp := s.serve(r.Context(), c, op, req.Arguments)
		s.count(tool, resp)
		writeJSON(w, http.StatusOK, resp)
	})
}

// serve runs the gate, decodes the arguments and runs the operation.
func (s *Service) serve(ctx context.Context, c *call, op operation, raw json.RawMessage) proto.ManageResponse {
	if err := s.gate(ctx, c); err != nil {
		return s.failure(c, err)
	}
	args, err := decodeArguments(c.tool, raw, op.args)
	if err != nil {
		return s.failure(c, err)
	}
	c.args = args
	result, err := op.run(ctx, c)
	if err != nil {
		return s.failure(c, err)
	}
	body, err := json.Marshal(result)
	if err != nil {
		return s.failure(c, fmt.Errorf("encode %s result: %w", c.tool, err))
	}
	return proto.ManageResponse{OK: true, Result: body, CatalogRevision: c.catalogRevision}
}

// failure turns an error into the body of a failed call; errors that are
// not the caller's are logged and answered with the internal message.
func (s *Service) failure(c *call, err error) proto.ManageResponse {
	e := s.toError(c, err)
	if e.Code == proto.CodeInternal {
		s.logger().Error("management operation failed",
			"tool", string(c.tool), "request_id", c.requestID, "error", err)
	}
	return proto.ManageResponse{OK: false, Error: e, CatalogRevision: c.catalogRevision}
}

func (s *Service) logger() *slog.Logger {
	if s.d.Logger != nil {
		return s.d.Logger
	}
	return slog.Default()
}

// gate applies the caller rules of §10.1: a caller kind of local or
// remote; a remote caller in remote_email_allowlist; a remote caller of a
// gated operation only while remote_tool_editing is enabled.
func (s *Service) gate(ctx context.Context, c *call) error {
	switch c.caller.Kind {
	case proto.CallerLocal:
		return nil
	case proto.CallerRemote:
	default:
		return fieldFail("caller.kind", "must be \"local\" or \"remote\".")
	}
	p, _, err := s.d.Policy.Current(ctx)
	if err != nil {
		return fmt.Errorf("read the security policy: %w", err)
	}
	if !Allowed(p.RemoteEmailAllowlist, c.caller.Email) {
		account := c.caller.Email
		if account == "" {
			account = "(no verified email)"
		}
		return fail(proto.CodeCallerNotAllowed, "Your account %s may not use MCPbox remotely; "+
			"ask the admin to add it in the MCPbox UI under Remote access > Who may connect.", account)
	}
	if c.tool.Gated() && p.RemoteToolEditing != string(proto.ToggleEnabled) {
		return remoteEditingDisabled(c.tool)
	}
	return nil
}

// remoteEditingDisabled is the refusal of an editing operation to a remote
// caller (§10.1).
func remoteEditingDisabled(tool proto.ManagementTool) error {
	return fail(proto.CodeRemoteEditingDisabled, "%s is restricted to local clients. An admin can allow it "+
		"in the MCPbox UI under Settings > Security > Remote tool editing.", tool)
}

// Allowed reports whether a remote caller with this verified email passes
// the allowlist (§6.6): everyone; an exact lowercased address; or the part
// after the last @ equal to a listed domain (subdomains do not match). A
// caller without an email is never allowed.
func Allowed(list policy.EmailAllowlist, email string) bool {
	email = strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(email, '@')
	if email == "" || at <= 0 || at == len(email)-1 {
		return false
	}
	switch list.Mode {
	case "everyone":
		return true
	case "emails":
		for _, v := range list.Values {
			if strings.ToLower(v) == email {
				return true
			}
		}
	case "email_domain":
		domain := email[at+1:]
		for _, v := range list.Values {
			if strings.ToLower(v) == domain {
				return true
			}
		}
	}
	return false
}

// decodeRequest decodes the body strictly (strictjson: no unknown or
// duplicate key, no trailing data); the arguments are checked per
// operation later.
func decodeRequest(body io.Reader) (proto.ManageRequest, *proto.Error) {
	var req proto.ManageRequest
	raw, err := io.ReadAll(body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return req, &proto.Error{Code: proto.CodeRequestTooLarge, Message: fmt.Sprintf(
				"The request body is over %d bytes; send less.", maxBody)}
		}
		return req, &proto.Error{Code: proto.CodeInvalidJSON, Message: "The request body could not be read."}
	}
	if err := strictjson.Decode(raw, &req, strictjson.Options{}); err != nil {
		return req, &proto.Error{Code: proto.CodeInvalidJSON, Message: fmt.Sprintf(
			"The request body must be {\"arguments\": {...}, \"caller\": {...}}: %v.", err)}
	}
	return req, nil
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
