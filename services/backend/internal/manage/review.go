package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// Justification bounds of network and package requests (§10.2).
const (
	minJustification = 10
	maxJustification = 2000
)

func (c *call) approvalsAudit() approvals.Audit {
	return approvals.Audit{Actor: c.actor(), RequestID: c.requestID}
}

func (s *Service) requestPublish(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	notes, err := c.args.string("notes")
	if err != nil {
		return nil, err
	}
	r, err := s.d.Approvals.Submit(ctx, c.approvalsAudit(), id, notes)
	if err != nil {
		return nil, err
	}
	if err := s.bumpedCatalog(ctx, c); err != nil {
		return nil, err
	}
	missing := struct {
		Hosts    []string `json:"hosts"`
		Packages []string `json:"packages"`
	}{Hosts: orEmpty(r.Missing.Hosts), Packages: orEmpty(r.Missing.Packages)}
	var next string
	switch {
	case r.Status == proto.ReviewApproved:
		next = "The tool was approved by policy; it is callable while it is enabled and its server runs."
	case len(missing.Hosts) > 0 || len(missing.Packages) > 0:
		next = "An admin reviews the tool in the MCPbox UI; approving it also grants the missing hosts and packages. " +
			"Check progress with mcpbox_get_tool_status."
	case r.SecretsNeedReview:
		next = "The code reads secrets, so an admin must review it in the MCPbox UI even under auto-approval. " +
			"Check progress with mcpbox_get_tool_status."
	default:
		next = "An admin reviews the tool in the MCPbox UI. Check progress with mcpbox_get_tool_status."
	}
	return struct {
		ToolID       uuid.UUID          `json:"tool_id"`
		ReviewStatus proto.ReviewStatus `json:"review_status"`
		Version      int                `json:"version"`
		Missing      any                `json:"missing"`
		NextSteps    string             `json:"next_steps"`
	}{ToolID: id, ReviewStatus: r.Status, Version: r.Version, Missing: missing, NextSteps: next}, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Service) testCode(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	n, err := c.args.int("version")
	if err != nil {
		return nil, err
	}
	req := testrun.Request{ToolID: id, Caller: c.caller, Actor: c.actor(), RequestID: c.requestID}
	if n != nil {
		if *n < 1 {
			return nil, fieldFail("version", "must be a version number of at least 1 (omit it for the latest version).")
		}
		req.Version = *n
	}
	if raw := c.args.raw("arguments"); raw != nil {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil, fieldFail("arguments", "must be a JSON object of the tool's arguments.")
		}
		req.Arguments = raw
	}
	r, err := s.d.TestRuns.Run(ctx, req)
	if err != nil {
		return nil, err
	}
	result := r.Result
	if result == nil {
		result = json.RawMessage("null")
	}
	return struct {
		Success         bool                  `json:"success"`
		Result          json.RawMessage       `json:"result"`
		Error           *proto.ExecutionError `json:"error"`
		Stdout          string                `json:"stdout"`
		StdoutTruncated bool                  `json:"stdout_truncated"`
		DurationMS      int64                 `json:"duration_ms"`
		Version         int                   `json:"version"`
		Hash            string                `json:"hash"`
		Capabilities    string                `json:"capabilities"`
		WithheldSecrets []string              `json:"withheld_secrets"`
		WithheldHosts   []string              `json:"withheld_hosts"`
	}{
		Success: r.Success, Result: result, Error: r.Error, Stdout: r.Stdout, StdoutTruncated: r.StdoutTruncated,
		DurationMS: r.DurationMS, Version: r.Version, Hash: r.Hash, Capabilities: r.Capabilities,
		WithheldSecrets: orEmpty(r.WithheldSecrets), WithheldHosts: orEmpty(r.WithheldHosts),
	}, nil
}

// logItem is an item of mcpbox_get_tool_logs.
type logItem struct {
	ID          uuid.UUID       `json:"id"`
	Via         proto.Via       `json:"via"`
	Success     bool            `json:"success"`
	ErrorCode   *string         `json:"error_code"`
	Error       *string         `json:"error"`
	DurationMS  int32           `json:"duration_ms"`
	InputArgs   json.RawMessage `json:"input_args"`
	Result      json.RawMessage `json:"result"`
	Stdout      *string         `json:"stdout"`
	CallerEmail *string         `json:"caller_email"`
	IsTest      bool            `json:"is_test"`
	Version     *int32          `json:"version"`
	CreatedAt   time.Time       `json:"created_at"`
}

// ownRecord reports whether a remote caller may read a record (§10.2): the
// same caller_sub when both have one, else the same caller_email.
func ownRecord(c proto.Caller, r executions.Record) bool {
	if c.Sub != "" && r.CallerSub != nil {
		return *r.CallerSub == c.Sub
	}
	return r.CallerEmail != nil && c.Email != "" && strings.EqualFold(*r.CallerEmail, c.Email)
}

func (s *Service) getToolLogs(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	limit, cursor, err := c.args.page()
	if err != nil {
		return nil, err
	}
	if _, err := s.d.Tools.Get(ctx, id); err != nil {
		return nil, err
	}
	f := executions.Filter{ToolID: &id}
	if c.caller.Kind == proto.CallerRemote {
		// The email narrows the query; ownRecord decides.
		f.CallerKind, f.CallerEmail = proto.CallerRemote, c.caller.Email
	}
	p, err := s.d.Executions.List(ctx, f, limit, cursor)
	if err != nil {
		return nil, err
	}
	out := listPage[logItem]{Items: []logItem{}, NextCursor: p.NextCursor}
	for _, r := range p.Items {
		if c.caller.Kind == proto.CallerRemote && !ownRecord(c.caller, r) {
			continue
		}
		out.Items = append(out.Items, logItem{
			ID: r.ID, Via: r.Via, Success: r.Success, ErrorCode: r.ErrorCode, Error: r.Error, DurationMS: r.DurationMS,
			InputArgs: r.InputArgs, Result: r.Result, Stdout: r.Stdout, CallerEmail: r.CallerEmail, IsTest: r.IsTest,
			Version: r.ToolVersion, CreatedAt: r.CreatedAt,
		})
	}
	return out, nil
}

// justification reads and checks the justification of a request.
func (c *call) justification() (string, error) {
	j, err := c.args.requiredString("justification")
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(j); n < minJustification || n > maxJustification {
		return "", fieldFail("justification", fmt.Sprintf(
			"must be %d to %d characters: say what the tool needs it for.", minJustification, maxJustification))
	}
	return j, nil
}

func (s *Service) requestPackage(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	pkg, err := c.args.requiredString("package")
	if err != nil {
		return nil, err
	}
	j, err := c.justification()
	if err != nil {
		return nil, err
	}
	r, err := s.d.Approvals.RequestPackage(ctx, c.approvalsAudit(), id, pkg, j)
	if err != nil {
		return nil, err
	}
	return struct {
		RequestID     uuid.UUID `json:"request_id"`
		Package       string    `json:"package"`
		RequestStatus string    `json:"request_status"`
		NextSteps     string    `json:"next_steps"`
	}{RequestID: r.ID, Package: r.Package, RequestStatus: r.Status, NextSteps: requestNextSteps(r.Status)}, nil
}

func requestNextSteps(status string) string {
	if status == approvals.StatusApproved {
		return "Approved by policy; the tool may use it once its version is approved."
	}
	return "An admin reviews the request in the MCPbox UI; check progress with mcpbox_get_tool_status."
}

func (s *Service) listPackages(ctx context.Context, _ *call) (any, error) {
	f := approvals.RequestFilter{Status: approvals.StatusApproved}
	approved := []string{}
	cursor := ""
	for {
		p, err := s.d.Approvals.ListRequests(ctx, approvals.KindPackage, f, proto.MaxListLimit, cursor)
		if err != nil {
			return nil, err
		}
		for _, r := range p.Items {
			approved = append(approved, r.Package)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	slices.Sort(approved)
	approved = slices.Compact(approved)
	approvable := []string{}
	for _, p := range proto.ApprovablePackages() {
		if _, ok := slices.BinarySearch(approved, p); !ok {
			approvable = append(approvable, p)
		}
	}
	return struct {
		Default    []string `json:"default"`
		Approved   []string `json:"approved"`
		Approvable []string `json:"approvable"`
		NextSteps  string   `json:"next_steps"`
	}{
		Default: proto.DefaultPackages(), Approved: approved, Approvable: approvable,
		NextSteps: "Default and approved packages can be imported; request an approvable one with mcpbox_request_package.",
	}, nil
}

// requestNetworkAccess adds the host to the latest version's manifest when
// it lacks it (a new version: an edit, gated for remote callers) and then
// requests it (§10.2).
func (s *Service) requestNetworkAccess(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	host, err := c.args.requiredString("host")
	if err != nil {
		return nil, err
	}
	port, err := c.args.int("port")
	if err != nil {
		return nil, err
	}
	j, err := c.justification()
	if err != nil {
		return nil, err
	}
	target, err := approvals.ParseTarget(host, port)
	if err != nil {
		return nil, err
	}
	t, err := s.d.Tools.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	entry := target.String()
	if t.Kind != proto.ToolKindGo {
		return nil, fail(proto.CodeInvalidState, "Tool '%s' is an external tool; it reaches only its source.", t.ExposedName())
	}
	if !slices.Contains(t.Latest.Manifest.Hosts, entry) {
		if err := s.mayEdit(ctx, c); err != nil {
			return nil, err
		}
		hosts := append(slices.Clone(t.Latest.Manifest.Hosts), entry)
		if _, err := s.d.Tools.Update(ctx, c.toolAudit(), id, tools.UpdateInput{Hosts: &hosts}); err != nil {
			return nil, err
		}
		if err := s.bumpedCatalog(ctx, c); err != nil {
			return nil, err
		}
	}
	r, err := s.d.Approvals.RequestNetwork(ctx, c.approvalsAudit(), id, target.Host, target.Port, j)
	if err != nil {
		return nil, err
	}
	after, err := s.d.Tools.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return struct {
		RequestID     uuid.UUID          `json:"request_id"`
		Host          string             `json:"host"`
		Port          *int               `json:"port"`
		RequestStatus string             `json:"request_status"`
		Version       int                `json:"version"`
		ReviewStatus  proto.ReviewStatus `json:"review_status"`
		NextSteps     string             `json:"next_steps"`
	}{
		RequestID: r.ID, Host: r.Host, Port: r.Port, RequestStatus: r.Status, Version: after.Latest.Version,
		ReviewStatus: after.ReviewStatus, NextSteps: requestNextSteps(r.Status),
	}, nil
}

// mayEdit refuses an edit inside a non-editing operation to a remote
// caller while remote tool editing is disabled.
func (s *Service) mayEdit(ctx context.Context, c *call) error {
	if c.caller.Kind != proto.CallerRemote {
		return nil
	}
	p, _, err := s.d.Policy.Current(ctx)
	if err != nil {
		return fmt.Errorf("read the security policy: %w", err)
	}
	if p.RemoteToolEditing != string(proto.ToggleEnabled) {
		return remoteEditingDisabled(c.tool)
	}
	return nil
}
