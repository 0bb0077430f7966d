package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// Filter narrows List: ReviewStatus one of the four review statuses,
// Enabled "true" or "false"; empty means any.
type Filter struct {
	ReviewStatus string
	Enabled      string
}

// Page is one page of List; NextCursor is "" after the last page.
type Page struct {
	Items      []Tool
	NextCursor string
}

// VersionPage is one page of Versions, newest first.
type VersionPage struct {
	Items      []Version
	NextCursor string
}

// ValidateFilter checks a List filter; failures are *proto.RuleError for
// review_status and enabled.
func ValidateFilter(f Filter) error {
	var errs []error
	switch proto.ReviewStatus(f.ReviewStatus) {
	case "", proto.ReviewDraft, proto.ReviewPendingReview, proto.ReviewApproved, proto.ReviewRejected:
	default:
		errs = append(errs, &proto.RuleError{Field: "review_status", Message: fmt.Sprintf(
			"must be %s, %s, %s or %s (or absent for all).",
			proto.ReviewDraft, proto.ReviewPendingReview, proto.ReviewApproved, proto.ReviewRejected)})
	}
	switch f.Enabled {
	case "", "true", "false":
	default:
		errs = append(errs, &proto.RuleError{Field: "enabled", Message: "must be true or false (or absent for both)."})
	}
	return errors.Join(errs...)
}

// List returns a server's tools matching f sorted by name (then id), limit
// of them after cursor ("" for the first page). An unknown server is
// ErrServerNotFound; a bad filter, limit or cursor a *proto.RuleError.
func (s *Service) List(ctx context.Context, serverID uuid.UUID, f Filter, limit int, cursor string) (Page, error) {
	if err := ValidateFilter(f); err != nil {
		return Page{}, err
	}
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	filter := page.Filter("tools", serverID.String(), f.ReviewStatus, f.Enabled)
	params := dbq.ListServerToolsParams{ServerID: serverID, RowLimit: int32(limit) + 1}
	if f.ReviewStatus != "" {
		params.ReviewStatus = &f.ReviewStatus
	}
	if f.Enabled != "" {
		params.Enabled = ptr(f.Enabled == "true")
	}
	if cursor != "" {
		var name string
		var id uuid.UUID
		if err := page.Decode(cursor, filter, &name, &id); err != nil {
			return Page{}, err
		}
		params.AfterName, params.AfterID = &name, &id
	}
	var out Page
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		if _, err := q.GetToolServer(ctx, serverID); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				return ErrServerNotFound
			}
			return err
		}
		rows, err := q.ListServerTools(ctx, params)
		if err != nil {
			return err
		}
		rows, out.NextCursor = page.Cut(rows, limit, filter, func(r dbq.ListServerToolsRow) []any { return []any{r.Name, r.ID} })
		ids := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		latest, err := q.GetLatestToolVersions(ctx, ids)
		if err != nil {
			return err
		}
		byTool := make(map[uuid.UUID]dbq.ToolVersion, len(latest))
		for _, v := range latest {
			byTool[v.ToolID] = v
		}
		cov, err := newCoverer(ctx, q, serverID)
		if err != nil {
			return err
		}
		out.Items = make([]Tool, len(rows))
		for i, r := range rows {
			t := toTool(dbq.GetToolDetailRow(r))
			v, ok := byTool[r.ID]
			if !ok {
				return fmt.Errorf("tool %s: latest version %d missing", r.ID, r.LatestVersion)
			}
			if t.Latest, err = cov.version(ctx, t, v); err != nil {
				return err
			}
			out.Items[i] = t
		}
		return nil
	})
	if err != nil {
		return Page{}, wrap("list tools of server "+serverID.String(), err)
	}
	return out, nil
}

// Get returns one tool with its latest version, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Tool, error) {
	var out Tool
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		var err error
		out, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Tool{}, wrap("get tool "+id.String(), err)
	}
	return out, nil
}

// Versions returns a tool's versions newest first, limit of them after
// cursor. An unknown tool is ErrNotFound; a bad limit or cursor a
// *proto.RuleError.
func (s *Service) Versions(ctx context.Context, id uuid.UUID, limit int, cursor string) (VersionPage, error) {
	if err := page.CheckLimit(limit); err != nil {
		return VersionPage{}, err
	}
	filter := page.Filter("tool_versions", id.String())
	params := dbq.ListToolVersionsParams{ToolID: id, RowLimit: int32(limit) + 1}
	if cursor != "" {
		var before int32
		if err := page.Decode(cursor, filter, &before); err != nil {
			return VersionPage{}, err
		}
		params.BeforeVersion = &before
	}
	var out VersionPage
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		row, err := q.GetToolDetail(ctx, id)
		if err != nil {
			return err
		}
		t := toTool(row)
		rows, err := q.ListToolVersions(ctx, params)
		if err != nil {
			return err
		}
		rows, out.NextCursor = page.Cut(rows, limit, filter, func(v dbq.ToolVersion) []any { return []any{v.Version} })
		cov, err := newCoverer(ctx, q, t.ServerID)
		if err != nil {
			return err
		}
		out.Items = make([]Version, len(rows))
		for i, v := range rows {
			if out.Items[i], err = cov.version(ctx, t, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return VersionPage{}, wrap("list versions of tool "+id.String(), err)
	}
	return out, nil
}

// GetVersion returns version n of a tool: ErrNotFound for an unknown tool,
// a *VersionNotFoundError for a version it does not have.
func (s *Service) GetVersion(ctx context.Context, id uuid.UUID, n int) (Tool, Version, error) {
	var t Tool
	var v Version
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		var err error
		if t, err = load(ctx, q, id); err != nil {
			return err
		}
		v, err = versionOf(ctx, q, t, n)
		return err
	})
	if err != nil {
		return Tool{}, Version{}, wrap("get version "+strconv.Itoa(n)+" of tool "+id.String(), err)
	}
	return t, v, nil
}

// versionOf reads version n of t.
func versionOf(ctx context.Context, q *dbq.Queries, t Tool, n int) (Version, error) {
	if n < 1 || n > t.LatestVersion {
		return Version{}, &VersionNotFoundError{Tool: t.ExposedName(), Version: n, Latest: t.LatestVersion}
	}
	row, err := q.GetToolVersion(ctx, dbq.GetToolVersionParams{ToolID: t.ID, Version: int32(n)})
	if errors.Is(err, db.ErrNotFound) {
		return Version{}, &VersionNotFoundError{Tool: t.ExposedName(), Version: n, Latest: t.LatestVersion}
	}
	if err != nil {
		return Version{}, err
	}
	cov, err := newCoverer(ctx, q, t.ServerID)
	if err != nil {
		return Version{}, err
	}
	return cov.version(ctx, t, row)
}

// ManifestChange is one manifest key that differs between two versions.
type ManifestChange struct {
	Key string
	Old any // nil when the base is empty
	New any
}

// Diff is the difference between two versions of a tool.
type Diff struct {
	// Base is the base version, nil when there is none (version 1 of a
	// tool without an approved version: the diff is against nothing).
	Base   *int
	Target int
	// CodeDiff is a unified diff with 3 lines of context, "" when the code
	// is the same.
	CodeDiff        string
	ManifestChanges []ManifestChange
}

// Diff compares version n of a tool with base (nil: the approved version
// when there is one and it is not n, else n−1; nothing for version 1).
func (s *Service) Diff(ctx context.Context, id uuid.UUID, n int, base *int) (Diff, error) {
	var out Diff
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		t, err := load(ctx, q, id)
		if err != nil {
			return err
		}
		target, err := versionOf(ctx, q, t, n)
		if err != nil {
			return err
		}
		b := base
		if b == nil {
			switch {
			case t.ApprovedVersion != nil && *t.ApprovedVersion != n:
				b = t.ApprovedVersion
			case n > 1:
				b = ptr(n - 1)
			}
		}
		out = Diff{Target: n, Base: b, ManifestChanges: []ManifestChange{}}
		var old *Version
		if b != nil {
			v, err := versionOf(ctx, q, t, *b)
			if err != nil {
				return err
			}
			old = &v
		}
		out.CodeDiff, out.ManifestChanges = compare(old, target)
		return nil
	})
	if err != nil {
		return Diff{}, wrap("diff tool "+id.String(), err)
	}
	return out, nil
}

// compare diffs two versions' content; old nil is the empty version.
func compare(old *Version, target Version) (string, []ManifestChange) {
	oldName, oldText := "/dev/null", ""
	var om *proto.Manifest
	if old != nil {
		oldName = "version " + strconv.Itoa(old.Version)
		oldText = contentText(*old)
		om = &old.Manifest
	}
	code := UnifiedDiff(oldName, "version "+strconv.Itoa(target.Version), oldText, contentText(target))
	return code, manifestChanges(om, target.Manifest)
}

// contentText is a version's code, or its external definition as indented
// JSON, so both kinds diff by line.
func contentText(v Version) string {
	if v.Code != nil {
		return *v.Code
	}
	var out any
	if err := json.Unmarshal(v.ExternalDefinition, &out); err != nil {
		return string(v.ExternalDefinition)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return string(v.ExternalDefinition)
	}
	return string(b) + "\n"
}

// manifestChanges lists the manifest keys whose values differ, in the
// manifest's key order; old nil means every key is new.
func manifestChanges(old *proto.Manifest, m proto.Manifest) []ManifestChange {
	type kv struct {
		key      string
		old, new any
	}
	var o proto.Manifest
	if old != nil {
		o = *old
	}
	pairs := []kv{
		{"hosts", o.Hosts, m.Hosts},
		{"memory_mb", o.MemoryMB, m.MemoryMB},
		{"packages", o.Packages, m.Packages},
		{"secrets", o.Secrets, m.Secrets},
		{"timeout_ms", o.TimeoutMS, m.TimeoutMS},
	}
	out := []ManifestChange{}
	for _, p := range pairs {
		a, _ := json.Marshal(p.old)
		b, _ := json.Marshal(p.new)
		if old != nil && string(a) == string(b) {
			continue
		}
		c := ManifestChange{Key: p.key, Old: p.old, New: p.new}
		if old == nil {
			c.Old = nil
		}
		out = append(out, c)
	}
	return out
}

// load reads a tool with its latest version.
func load(ctx context.Context, q *dbq.Queries, id uuid.UUID) (Tool, error) {
	row, err := q.GetToolDetail(ctx, id)
	if err != nil {
		return Tool{}, err
	}
	t := toTool(row)
	v, err := q.GetToolVersion(ctx, dbq.GetToolVersionParams{ToolID: id, Version: row.LatestVersion})
	if err != nil {
		return Tool{}, fmt.Errorf("latest version %d: %w", row.LatestVersion, err)
	}
	cov, err := newCoverer(ctx, q, t.ServerID)
	if err != nil {
		return Tool{}, err
	}
	t.Latest, err = cov.version(ctx, t, v)
	return t, err
}

func toTool(r dbq.GetToolDetailRow) Tool {
	t := Tool{
		ID: r.ID, ServerID: r.ServerID, ServerName: r.ServerName, Name: r.Name, Kind: proto.ToolKind(r.Kind),
		Enabled: r.Enabled, DisabledBy: r.DisabledBy, Live: r.Live, LatestVersion: int(r.LatestVersion),
		ReviewStatus: proto.ReviewStatus(r.ReviewStatus), ReviewRequestedAt: r.ReviewRequestedAt,
		PublishNotes: r.PublishNotes, RejectionReason: r.RejectionReason, ReviewedBy: r.ReviewedBy,
		ReviewedAt: r.ReviewedAt, ApprovedHash: r.ApprovedHash, ApprovedAt: r.ApprovedAt, ApprovedBy: r.ApprovedBy,
		ExternalSourceID: r.ExternalSourceID, ExternalToolName: r.ExternalToolName,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.ApprovedVersion != nil {
		t.ApprovedVersion = ptr(int(*r.ApprovedVersion))
	}
	return t
}

// coverer computes the coverage of versions of one server's tools
// (backend.md §6.3) from the approved requests, read once.
type coverer struct {
	anyPort map[string]bool // host → an any-port approval exists
	ports   map[string]bool // "host:port" → approved
	q       *dbq.Queries
}

func newCoverer(ctx context.Context, q *dbq.Queries, serverID uuid.UUID) (*coverer, error) {
	rows, err := q.ListToolCoverageHosts(ctx, serverID)
	if err != nil {
		return nil, fmt.Errorf("approved hosts: %w", err)
	}
	c := &coverer{anyPort: map[string]bool{}, ports: map[string]bool{}, q: q}
	for _, r := range rows {
		if r.Port == nil {
			c.anyPort[r.Host] = true
		} else {
			c.ports[r.Host+":"+strconv.Itoa(int(*r.Port))] = true
		}
	}
	return c, nil
}

// coverage returns the coverage of a manifest.
func (c *coverer) coverage(ctx context.Context, m proto.Manifest) (Coverage, error) {
	out := Coverage{Hosts: map[string]bool{}, Packages: map[string]bool{}}
	for _, h := range m.Hosts {
		host, port := proto.SplitNormalizedHost(h)
		out.Hosts[h] = c.anyPort[host] || (port != "" && c.ports[h])
	}
	if len(m.Packages) > 0 {
		approved, err := c.q.ListApprovedPackagesOf(ctx, m.Packages)
		if err != nil {
			return Coverage{}, fmt.Errorf("approved packages: %w", err)
		}
		for _, p := range m.Packages {
			out.Packages[p] = false
		}
		for _, p := range approved {
			out.Packages[p] = true
		}
	}
	return out, nil
}

// version builds the Version resource of row, a version of t.
func (c *coverer) version(ctx context.Context, t Tool, row dbq.ToolVersion) (Version, error) {
	var m proto.Manifest
	if err := json.Unmarshal(row.Manifest, &m); err != nil {
		return Version{}, fmt.Errorf("tool %s version %d: manifest: %w", t.ID, row.Version, err)
	}
	m = withEmptyLists(m)
	cov, err := c.coverage(ctx, m)
	if err != nil {
		return Version{}, err
	}
	v := Version{
		Version: int(row.Version), Hash: row.Hash, Code: row.Code, Manifest: m,
		Description: row.Description, InputSchema: row.InputSchema, Coverage: cov,
		ChangeSummary: row.ChangeSummary, ChangeSource: proto.ChangeSource(row.ChangeSource),
		CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt,
	}
	if len(row.ExternalDefinition) > 0 {
		v.ExternalDefinition = row.ExternalDefinition
	}
	if len(row.OutputSchema) > 0 {
		v.OutputSchema = row.OutputSchema
	}
	if row.BasedOnVersion != nil {
		v.BasedOnVersion = ptr(int(*row.BasedOnVersion))
	}
	switch {
	case t.ApprovedVersion != nil && *t.ApprovedVersion == v.Version:
		v.Status = string(proto.ReviewApproved)
	case v.Version == t.LatestVersion:
		v.Status = string(t.ReviewStatus)
	default:
		v.Status = StatusSuperseded
	}
	return v, nil
}

// withEmptyLists makes nil manifest lists empty, as they are stored.
func withEmptyLists(m proto.Manifest) proto.Manifest {
	if m.Hosts == nil {
		m.Hosts = []string{}
	}
	if m.Packages == nil {
		m.Packages = []string{}
	}
	if m.Secrets == nil {
		m.Secrets = []string{}
	}
	return m
}
