package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

func (c *call) toolAudit() tools.Audit {
	return tools.Audit{Actor: c.actor(), RequestID: c.requestID}
}

// toolArg reads tool_id and remembers it for not_found.
func (c *call) toolArg() (uuid.UUID, error) {
	id, err := c.args.id("tool_id")
	if err == nil {
		c.toolID = id.String()
	}
	return id, err
}

// bumpedCatalog records the catalog revision after a change that bumped
// it but does not report it (the tools service): the current revision,
// which is at least the change's.
func (s *Service) bumpedCatalog(ctx context.Context, c *call) error {
	var rev int64
	err := s.d.Store.InSnapshot(ctx, func(q *dbq.Queries) error {
		r, err := q.GetRevisions(ctx)
		rev = r.Catalog
		return err
	})
	if err != nil {
		return fmt.Errorf("read the catalog revision: %w", err)
	}
	c.catalogRevision = rev
	return nil
}

// needs are what a version still needs before it can run as written.
type needs struct {
	Hosts               []string `json:"hosts"`
	Packages            []string `json:"packages"`
	SecretsWithoutValue []string `json:"secrets_without_value"`
}

// needsOf lists the version's uncovered hosts and packages and the
// secrets it reads that have no value.
func (s *Service) needsOf(ctx context.Context, t tools.Tool, v tools.Version) (needs, error) {
	out := needs{Hosts: []string{}, Packages: []string{}, SecretsWithoutValue: []string{}}
	for h, ok := range v.Coverage.Hosts {
		if !ok {
			out.Hosts = append(out.Hosts, h)
		}
	}
	for p, ok := range v.Coverage.Packages {
		if !ok {
			out.Packages = append(out.Packages, p)
		}
	}
	slices.Sort(out.Hosts)
	slices.Sort(out.Packages)
	if len(v.Manifest.Secrets) == 0 {
		return out, nil
	}
	withValue := map[string]bool{}
	cursor := ""
	for {
		p, err := s.d.Secrets.List(ctx, t.ServerID, proto.MaxListLimit, cursor)
		if err != nil {
			return needs{}, err
		}
		for _, sec := range p.Items {
			withValue[sec.Name] = sec.ValueSetAt != nil
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	for _, name := range v.Manifest.Secrets {
		if !withValue[name] {
			out.SecretsWithoutValue = append(out.SecretsWithoutValue, name)
		}
	}
	slices.Sort(out.SecretsWithoutValue)
	return out, nil
}

// nextSteps says what a new or changed version needs next.
func nextSteps(t tools.Tool, n needs) string {
	switch t.ReviewStatus {
	case proto.ReviewApproved:
		return fmt.Sprintf("Version %d of '%s' is approved; it is callable while the tool is enabled and its server runs.",
			t.Latest.Version, t.ExposedName())
	case proto.ReviewPendingReview:
		return fmt.Sprintf("Version %d of '%s' waits for an admin's review in the MCPbox UI.",
			t.Latest.Version, t.ExposedName())
	}
	msg := fmt.Sprintf("Test it with mcpbox_test_code(tool_id: %q), then ask for review with mcpbox_request_publish.", t.ID)
	if len(n.Hosts) > 0 {
		msg += " Hosts not yet approved: request them with mcpbox_request_network_access."
	}
	if len(n.Packages) > 0 {
		msg += " Packages not yet approved: request them with mcpbox_request_package."
	}
	if len(n.SecretsWithoutValue) > 0 {
		msg += " Secrets without a value: an admin must set them in the MCPbox UI."
	}
	return msg
}

func (s *Service) createTool(ctx context.Context, c *call) (any, error) {
	serverID, err := c.serverArg()
	if err != nil {
		return nil, err
	}
	name, err := c.args.requiredString("name")
	if err != nil {
		return nil, err
	}
	code, err := c.args.requiredString("code")
	if err != nil {
		return nil, err
	}
	in := tools.CreateInput{Name: name, Code: code}
	hosts, err := c.args.strings("hosts")
	if err != nil {
		return nil, err
	}
	if hosts != nil {
		in.Hosts = *hosts
	}
	if in.TimeoutMS, err = c.args.int("timeout_ms"); err != nil {
		return nil, err
	}
	if in.MemoryMB, err = c.args.int("memory_mb"); err != nil {
		return nil, err
	}
	t, err := s.d.Tools.Create(ctx, c.toolAudit(), serverID, in)
	if err != nil {
		return nil, err
	}
	if err := s.bumpedCatalog(ctx, c); err != nil {
		return nil, err
	}
	n, err := s.needsOf(ctx, t, t.Latest)
	if err != nil {
		return nil, err
	}
	return struct {
		ToolID       uuid.UUID          `json:"tool_id"`
		Name         string             `json:"name"`
		ExposedName  string             `json:"exposed_name"`
		Version      int                `json:"version"`
		Hash         string             `json:"hash"`
		ReviewStatus proto.ReviewStatus `json:"review_status"`
		Description  string             `json:"description"`
		InputSchema  json.RawMessage    `json:"input_schema"`
		Manifest     proto.Manifest     `json:"manifest"`
		Needs        needs              `json:"needs"`
		NextSteps    string             `json:"next_steps"`
	}{
		ToolID: t.ID, Name: t.Name, ExposedName: t.ExposedName(), Version: t.Latest.Version, Hash: t.Latest.Hash,
		ReviewStatus: t.ReviewStatus, Description: t.Latest.Description, InputSchema: t.Latest.InputSchema,
		Manifest: t.Latest.Manifest, Needs: n, NextSteps: nextSteps(t, n),
	}, nil
}

func (s *Service) updateTool(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	var in tools.UpdateInput
	if in.Name, err = c.args.string("name"); err != nil {
		return nil, err
	}
	if in.Code, err = c.args.string("code"); err != nil {
		return nil, err
	}
	if in.Hosts, err = c.args.strings("hosts"); err != nil {
		return nil, err
	}
	if in.TimeoutMS, err = c.args.int("timeout_ms"); err != nil {
		return nil, err
	}
	if in.MemoryMB, err = c.args.int("memory_mb"); err != nil {
		return nil, err
	}
	if in.Enabled, err = c.args.bool("enabled"); err != nil {
		return nil, err
	}
	if in.Name == nil && in.Code == nil && in.Hosts == nil && in.TimeoutMS == nil && in.MemoryMB == nil && in.Enabled == nil {
		return nil, fail(proto.CodeValidationFailed,
			"No fields to update: pass at least one of name, code, hosts, timeout_ms, memory_mb, enabled.")
	}
	if in.Enabled != nil && *in.Enabled {
		before, err := s.d.Tools.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if !before.Enabled && before.DisabledBy != nil && *before.DisabledBy == string(proto.DisabledByAdmin) {
			return nil, fail(proto.CodeForbidden,
				"Tool '%s' was disabled by an admin; only an admin can enable it.", before.ExposedName()).withField("enabled")
		}
	}
	r, err := s.d.Tools.Update(ctx, c.toolAudit(), id, in)
	if err != nil {
		return nil, err
	}
	if r.Changed {
		if err := s.bumpedCatalog(ctx, c); err != nil {
			return nil, err
		}
	}
	t := r.Tool
	n, err := s.needsOf(ctx, t, t.Latest)
	if err != nil {
		return nil, err
	}
	return struct {
		ToolID       uuid.UUID          `json:"tool_id"`
		Changed      bool               `json:"changed"`
		Version      int                `json:"version"`
		Hash         string             `json:"hash"`
		ReviewStatus proto.ReviewStatus `json:"review_status"`
		LiveVersion  *int               `json:"live_version"`
		NextSteps    string             `json:"next_steps"`
	}{
		ToolID: t.ID, Changed: r.Changed, Version: t.Latest.Version, Hash: t.Latest.Hash,
		ReviewStatus: t.ReviewStatus, LiveVersion: liveVersion(t), NextSteps: nextSteps(t, n),
	}, nil
}

// liveVersion is the version the catalog serves, nil when none.
func liveVersion(t tools.Tool) *int {
	if !t.Live {
		return nil
	}
	return t.ApprovedVersion
}

// toolItem is an item of mcpbox_list_tools and the tool part of
// mcpbox_get_tool.
type toolItem struct {
	ID              uuid.UUID          `json:"id"`
	Name            string             `json:"name"`
	ExposedName     string             `json:"exposed_name"`
	Kind            proto.ToolKind     `json:"kind"`
	Enabled         bool               `json:"enabled"`
	ReviewStatus    proto.ReviewStatus `json:"review_status"`
	LatestVersion   int                `json:"latest_version"`
	ApprovedVersion *int               `json:"approved_version"`
	Live            bool               `json:"live"`
}

func toToolItem(t tools.Tool) toolItem {
	return toolItem{
		ID: t.ID, Name: t.Name, ExposedName: t.ExposedName(), Kind: t.Kind, Enabled: t.Enabled,
		ReviewStatus: t.ReviewStatus, LatestVersion: t.LatestVersion, ApprovedVersion: t.ApprovedVersion, Live: t.Live,
	}
}

func (s *Service) listTools(ctx context.Context, c *call) (any, error) {
	serverID, err := c.serverArg()
	if err != nil {
		return nil, err
	}
	limit, cursor, err := c.args.page()
	if err != nil {
		return nil, err
	}
	p, err := s.d.Tools.List(ctx, serverID, tools.Filter{}, limit, cursor)
	if err != nil {
		return nil, err
	}
	out := listPage[toolItem]{Items: make([]toolItem, len(p.Items)), NextCursor: p.NextCursor}
	for i, t := range p.Items {
		out.Items[i] = toToolItem(t)
	}
	return out, nil
}

// versionView is a version in mcpbox_get_tool.
type versionView struct {
	Version            int                `json:"version"`
	Hash               string             `json:"hash"`
	Status             string             `json:"status"`
	Code               *string            `json:"code,omitempty"`
	ExternalDefinition json.RawMessage    `json:"external_definition,omitempty"`
	Description        string             `json:"description"`
	Manifest           proto.Manifest     `json:"manifest"`
	InputSchema        json.RawMessage    `json:"input_schema"`
	OutputSchema       json.RawMessage    `json:"output_schema"`
	Coverage           coverageView       `json:"coverage"`
	ChangeSummary      string             `json:"change_summary"`
	ChangeSource       proto.ChangeSource `json:"change_source"`
	CreatedBy          string             `json:"created_by"`
	CreatedAt          time.Time          `json:"created_at"`
}

// coverageView says which manifest hosts and packages are covered (§6.3).
type coverageView struct {
	Hosts    map[string]bool `json:"hosts"`
	Packages map[string]bool `json:"packages"`
}

func (s *Service) getTool(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	n, err := c.args.int("version")
	if err != nil {
		return nil, err
	}
	var t tools.Tool
	var v tools.Version
	if n == nil {
		t, err = s.d.Tools.Get(ctx, id)
		v = t.Latest
	} else {
		t, v, err = s.d.Tools.GetVersion(ctx, id, *n)
	}
	if err != nil {
		return nil, err
	}
	output := v.OutputSchema
	if output == nil {
		output = json.RawMessage("null")
	}
	cov := coverageView{Hosts: v.Coverage.Hosts, Packages: v.Coverage.Packages}
	if cov.Hosts == nil {
		cov.Hosts = map[string]bool{}
	}
	if cov.Packages == nil {
		cov.Packages = map[string]bool{}
	}
	return struct {
		toolItem

		ServerID        uuid.UUID   `json:"server_id"`
		ServerName      string      `json:"server_name"`
		DisabledBy      *string     `json:"disabled_by"`
		RejectionReason *string     `json:"rejection_reason"`
		PublishNotes    *string     `json:"publish_notes"`
		CreatedBy       string      `json:"created_by"`
		CreatedAt       time.Time   `json:"created_at"`
		VersionDetail   versionView `json:"version_detail"`
	}{
		toolItem: toToolItem(t), ServerID: t.ServerID, ServerName: t.ServerName, DisabledBy: t.DisabledBy,
		RejectionReason: t.RejectionReason, PublishNotes: t.PublishNotes, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt,
		VersionDetail: versionView{
			Version: v.Version, Hash: v.Hash, Status: v.Status, Code: v.Code, ExternalDefinition: v.ExternalDefinition,
			Description: v.Description, Manifest: v.Manifest, InputSchema: v.InputSchema, OutputSchema: output,
			Coverage: cov, ChangeSummary: v.ChangeSummary, ChangeSource: v.ChangeSource,
			CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt,
		},
	}, nil
}

func (s *Service) deleteTool(ctx context.Context, c *call) (any, error) {
	id, err := c.toolArg()
	if err != nil {
		return nil, err
	}
	if err := s.d.Tools.Delete(ctx, c.toolAudit(), id); err != nil {
		return nil, err
	}
	if err := s.bumpedCatalog(ctx, c); err != nil {
		return nil, err
	}
	return struct {
		Deleted bool      `json:"deleted"`
		ToolID  uuid.UUID `json:"tool_id"`
	}{Deleted: true, ToolID: id}, nil
}
