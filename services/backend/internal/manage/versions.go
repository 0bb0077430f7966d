package manage

import (
	"context"
	"encoding/json"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// finding is an entry of mcpbox_validate_code's errors.
type finding struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// packageClasses sorts the packages a piece of code imports (§10.2,
// mcpbox_validate_code): default needs nothing; approved has an approved
// package request; pending is an approvable package still without one
// (requested or not); forbidden is not available to tools at all.
type packageClasses struct {
	Default   []string `json:"default"`
	Approved  []string `json:"approved"`
	Pending   []string `json:"pending"`
	Forbidden []string `json:"forbidden"`
}

// importsOf lists the import paths of Go source, sorted and once each; it
// reads what it can of code that does not parse.
func importsOf(code string) []string {
	f, _ := parser.ParseFile(token.NewFileSet(), "main.go", code, parser.ImportsOnly)
	if f == nil {
		return []string{}
	}
	out := []string{}
	for _, imp := range f.Imports {
		if imp.Path == nil {
			continue
		}
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || p == "" {
			continue
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// classify sorts imports into the classes of packageClasses; optIn are the
// opt-in packages the sandbox found and approved the packages with an
// approved request (sorted).
func classify(imports, optIn, approved []string) packageClasses {
	out := packageClasses{Default: []string{}, Approved: []string{}, Pending: []string{}, Forbidden: []string{}}
	all := slices.Concat(imports, optIn)
	slices.Sort(all)
	for _, p := range slices.Compact(all) {
		_, ok := slices.BinarySearch(approved, p)
		switch {
		case proto.IsDefaultPackage(p):
			out.Default = append(out.Default, p)
		case !proto.IsApprovablePackage(p):
			out.Forbidden = append(out.Forbidden, p)
		case ok:
			out.Approved = append(out.Approved, p)
		default:
			out.Pending = append(out.Pending, p)
		}
	}
	return out
}

// approvedPackages lists the packages of every approved package request,
// sorted and once each.
func (s *Service) approvedPackages(ctx context.Context) ([]string, error) {
	reqs, err := s.allRequests(ctx, approvals.KindPackage, approvals.RequestFilter{Status: approvals.StatusApproved})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, r.Package)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// allRequests reads every page of a request list.
func (s *Service) allRequests(ctx context.Context, kind approvals.Kind, f approvals.RequestFilter) ([]approvals.Request, error) {
	var out []approvals.Request
	cursor := ""
	for {
		p, err := s.d.Approvals.ListRequests(ctx, kind, f, proto.MaxListLimit, cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" {
			return out, nil
		}
		cursor = p.NextCursor
	}
}

func (s *Service) validateCode(ctx context.Context, c *call) (any, error) {
	code, err := c.args.requiredString("code")
	if err != nil {
		return nil, err
	}
	a, err := s.d.Tools.Analyze(ctx, code)
	if err != nil {
		return nil, err
	}
	approved, err := s.approvedPackages(ctx)
	if err != nil {
		return nil, err
	}
	pkgs := classify(importsOf(code), a.Packages, approved)
	errs := make([]finding, len(a.Errors))
	for i, f := range a.Errors {
		errs[i] = finding{Line: f.Line, Column: f.Column, Message: f.Message}
	}
	input, output := a.InputSchema, a.OutputSchema
	if input == nil {
		input = json.RawMessage("null")
	}
	if output == nil {
		output = json.RawMessage("null")
	}
	var next string
	switch {
	case !a.Valid:
		next = "Fix the errors and validate again; nothing was saved."
	case len(pkgs.Pending) > 0:
		next = "The code is valid. Packages not yet approved: request them with mcpbox_request_package " +
			"after saving the tool with mcpbox_create_tool or mcpbox_update_tool."
	default:
		next = "The code is valid; save it with mcpbox_create_tool or mcpbox_update_tool."
	}
	return struct {
		Valid        bool            `json:"valid"`
		Errors       []finding       `json:"errors"`
		Description  string          `json:"description"`
		InputSchema  json.RawMessage `json:"input_schema"`
		OutputSchema json.RawMessage `json:"output_schema"`
		Packages     packageClasses  `json:"packages"`
		Secrets      []string        `json:"secrets"`
		NextSteps    string          `json:"next_steps"`
	}{
		Valid: a.Valid, Errors: errs, Description: a.Description, InputSchema: input, OutputSchema: output,
		Packages: pkgs, Secrets: orEmpty(a.Secrets), NextSteps: next,
	}, nil
}

// versionItem is an item of mcpbox_list_tool_versions.
type versionItem struct {
	Version       int                `json:"version"`
	Hash          string             `json:"hash"`
	Status        string             `json:"status"`
	ChangeSummary string             `json:"change_summary"`
	ChangeSource  proto.ChangeSource `json:"change_source"`
	CreatedAt     time.Time          `json:"created_at"`
}

func (s *Service) listToolVersions(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	limit, cursor, err := c.args.page()
	if err != nil {
		return nil, err
	}
	t, err := s.d.Tools.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := s.d.Tools.Versions(ctx, id, limit, cursor)
	if err != nil {
		return nil, err
	}
	items := make([]versionItem, len(p.Items))
	for i, v := range p.Items {
		items[i] = versionItem{
			Version: v.Version, Hash: v.Hash, Status: v.Status, ChangeSummary: v.ChangeSummary,
			ChangeSource: v.ChangeSource, CreatedAt: v.CreatedAt,
		}
	}
	return struct {
		LatestVersion   int           `json:"latest_version"`
		ApprovedVersion *int          `json:"approved_version"`
		Items           []versionItem `json:"items"`
		NextCursor      string        `json:"next_cursor,omitempty"`
	}{LatestVersion: t.LatestVersion, ApprovedVersion: t.ApprovedVersion, Items: items, NextCursor: p.NextCursor}, nil
}

func (s *Service) rollbackTool(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	n, err := c.args.int("version")
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, fieldFail("version", "is required.")
	}
	if *n < 1 {
		return nil, fieldFail("version", "must be a version number of at least 1.")
	}
	t, err := s.d.Tools.Rollback(ctx, c.toolAudit(), id, *n)
	if err != nil {
		return nil, err
	}
	if err := s.bumpedCatalog(ctx, c); err != nil {
		return nil, err
	}
	need, err := s.needsOf(ctx, t, t.Latest)
	if err != nil {
		return nil, err
	}
	return struct {
		ToolID       uuid.UUID          `json:"tool_id"`
		Version      int                `json:"version"`
		Hash         string             `json:"hash"`
		ReviewStatus proto.ReviewStatus `json:"review_status"`
		NextSteps    string             `json:"next_steps"`
	}{
		ToolID: t.ID, Version: t.Latest.Version, Hash: t.Latest.Hash, ReviewStatus: t.ReviewStatus,
		NextSteps: nextSteps(t, need),
	}, nil
}

// networkStatus is an entry of mcpbox_get_tool_status's network_requests.
type networkStatus struct {
	ID              uuid.UUID `json:"id"`
	Host            string    `json:"host"`
	Port            *int      `json:"port"`
	Status          string    `json:"status"`
	RejectionReason *string   `json:"rejection_reason"`
}

// packageStatus is an entry of mcpbox_get_tool_status's package_requests.
type packageStatus struct {
	ID              uuid.UUID `json:"id"`
	Package         string    `json:"package"`
	Status          string    `json:"status"`
	RejectionReason *string   `json:"rejection_reason"`
}

func (s *Service) getToolStatus(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	t, err := s.d.Tools.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	srv, err := s.d.Servers.Get(ctx, t.ServerID)
	if err != nil {
		return nil, err
	}
	f := approvals.RequestFilter{Status: "all", ToolID: &id}
	netReqs, err := s.allRequests(ctx, approvals.KindNetwork, f)
	if err != nil {
		return nil, err
	}
	pkgReqs, err := s.allRequests(ctx, approvals.KindPackage, f)
	if err != nil {
		return nil, err
	}
	network := make([]networkStatus, len(netReqs))
	for i, r := range netReqs {
		network[i] = networkStatus{ID: r.ID, Host: r.Host, Port: r.Port, Status: r.Status, RejectionReason: r.RejectionReason}
	}
	packages := make([]packageStatus, len(pkgReqs))
	for i, r := range pkgReqs {
		packages[i] = packageStatus{ID: r.ID, Package: r.Package, Status: r.Status, RejectionReason: r.RejectionReason}
	}
	missing := needs{Hosts: []string{}, Packages: []string{}, SecretsWithoutValue: []string{}}
	for h, ok := range t.Latest.Coverage.Hosts {
		if !ok {
			missing.Hosts = append(missing.Hosts, h)
		}
	}
	for p, ok := range t.Latest.Coverage.Packages {
		if !ok {
			missing.Packages = append(missing.Packages, p)
		}
	}
	slices.Sort(missing.Hosts)
	slices.Sort(missing.Packages)
	_, without, err := s.d.Secrets.Values(ctx, t.ServerID, t.Latest.Manifest.Secrets)
	if err != nil {
		return nil, err
	}
	missing.SecretsWithoutValue = orEmpty(without)
	slices.Sort(missing.SecretsWithoutValue)
	return struct {
		ToolID          uuid.UUID          `json:"tool_id"`
		ExposedName     string             `json:"exposed_name"`
		ReviewStatus    proto.ReviewStatus `json:"review_status"`
		LatestVersion   int                `json:"latest_version"`
		ApprovedVersion *int               `json:"approved_version"`
		Live            bool               `json:"live"`
		Enabled         bool               `json:"enabled"`
		ServerStatus    proto.ServerStatus `json:"server_status"`
		RejectionReason *string            `json:"rejection_reason"`
		PublishNotes    *string            `json:"publish_notes"`
		NetworkRequests []networkStatus    `json:"network_requests"`
		PackageRequests []packageStatus    `json:"package_requests"`
		Missing         needs              `json:"missing"`
		NextSteps       string             `json:"next_steps"`
	}{
		ToolID: t.ID, ExposedName: t.ExposedName(), ReviewStatus: t.ReviewStatus, LatestVersion: t.LatestVersion,
		ApprovedVersion: t.ApprovedVersion, Live: t.Live, Enabled: t.Enabled, ServerStatus: srv.Status,
		RejectionReason: t.RejectionReason, PublishNotes: t.PublishNotes, NetworkRequests: network,
		PackageRequests: packages, Missing: missing, NextSteps: statusNextSteps(t, srv.Status, missing),
	}, nil
}

// statusNextSteps says what stands between the tool and being callable.
func statusNextSteps(t tools.Tool, server proto.ServerStatus, n needs) string {
	switch {
	case t.Live:
		return "The tool is live: clients can call it."
	case t.ReviewStatus == proto.ReviewRejected:
		return "An admin rejected the tool; address the rejection reason with mcpbox_update_tool, " +
			"then ask again with mcpbox_request_publish."
	case t.ReviewStatus == proto.ReviewApproved && !t.Enabled:
		return "The tool is approved but disabled; enable it with mcpbox_update_tool(enabled: true) " +
			"unless an admin disabled it."
	case t.ReviewStatus == proto.ReviewApproved && server != proto.ServerRunning:
		return "The tool is approved; start its server with mcpbox_start_server to make it callable."
	}
	return nextSteps(t, n)
}
