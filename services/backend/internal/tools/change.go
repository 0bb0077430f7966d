package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

// CreateInput is a new go tool; nil optional fields take their defaults
// (no hosts, 30000 ms, 128 MiB).
type CreateInput struct {
	Name      string
	Code      string
	Hosts     []string
	TimeoutMS *int
	MemoryMB  *int
}

// UpdateInput changes a tool; a nil field is unchanged. Code, Hosts,
// TimeoutMS and MemoryMB are version content (a change makes a version);
// Name and Enabled are tool properties (§5.1).
type UpdateInput struct {
	Name      *string
	Enabled   *bool
	Code      *string
	Hosts     *[]string
	TimeoutMS *int
	MemoryMB  *int
}

// UpdateResult is the outcome of Update: the tool after it, whether
// anything changed, and whether a version was created.
type UpdateResult struct {
	Tool       Tool
	Changed    bool
	NewVersion bool
}

// contentInput is the manifest part of a create or update.
type contentInput struct {
	hosts     *[]string
	timeoutMS *int
	memoryMB  *int
}

// checkContent validates the request's hosts, timeout and memory before
// the sandbox is called; failures are *proto.RuleError naming the field.
func checkContent(in contentInput) error {
	var errs []error
	if in.hosts != nil {
		if len(*in.hosts) > proto.MaxManifestEntries {
			errs = append(errs, &proto.RuleError{Field: "hosts", Message: fmt.Sprintf(
				"at most %d entries; this request has %d.", proto.MaxManifestEntries, len(*in.hosts))})
		} else if _, err := (proto.Manifest{Hosts: *in.hosts}).Normalize(); err != nil {
			errs = append(errs, err)
		}
	}
	if in.timeoutMS != nil && (*in.timeoutMS < proto.MinTimeoutMS || *in.timeoutMS > proto.MaxTimeoutMS) {
		errs = append(errs, &proto.RuleError{Field: "timeout_ms", Message: fmt.Sprintf(
			"must be between %d and %d (milliseconds); the default is %d.", proto.MinTimeoutMS, proto.MaxTimeoutMS, proto.DefaultTimeoutMS)})
	}
	if in.memoryMB != nil && (*in.memoryMB < proto.MinMemoryMB || *in.memoryMB > proto.MaxMemoryMB) {
		errs = append(errs, &proto.RuleError{Field: "memory_mb", Message: fmt.Sprintf(
			"must be between %d and %d (MiB); the default is %d.", proto.MinMemoryMB, proto.MaxMemoryMB, proto.DefaultMemoryMB)})
	}
	return errors.Join(errs...)
}

// buildManifest lays the request over base (the latest version's manifest,
// or the defaults) and the analysis (packages and secrets, when the code
// was analysed), normalises and validates it.
func buildManifest(base proto.Manifest, in contentInput, d *derived) (proto.Manifest, error) {
	m := base
	if in.hosts != nil {
		m.Hosts = *in.hosts
	}
	if in.timeoutMS != nil {
		m.TimeoutMS = *in.timeoutMS
	}
	if in.memoryMB != nil {
		m.MemoryMB = *in.memoryMB
	}
	if d != nil {
		m.Packages, m.Secrets = d.packages, d.secrets
	}
	m, err := m.Normalize()
	if err != nil {
		return proto.Manifest{}, err
	}
	if err := m.Validate(proto.ToolKindGo); err != nil {
		return proto.Manifest{}, err
	}
	return m, nil
}

// Create analyses the code once and saves a go tool with version 1 in
// draft (§6.1). Nothing is stored when the request breaks a rule
// (*proto.RuleError), the analysis rejects the code (*CodeInvalidError,
// *PackageForbiddenError) or the sandbox fails (*sandboxclient.Error).
// Other errors: ErrServerNotFound, *NameTakenError, *QuotaError.
func (s *Service) Create(ctx context.Context, a Audit, serverID uuid.UUID, in CreateInput) (Tool, error) {
	content := contentInput{hosts: &in.Hosts, timeoutMS: in.TimeoutMS, memoryMB: in.MemoryMB}
	if in.Hosts == nil {
		content.hosts = nil
	}
	if err := errors.Join(proto.ValidateToolName(in.Name), checkContent(content)); err != nil {
		return Tool{}, err
	}
	server, err := s.server(ctx, serverID)
	if err != nil {
		return Tool{}, err
	}
	d, err := s.analyze(ctx, in.Code)
	if err != nil {
		return Tool{}, err
	}
	m, err := buildManifest(proto.Manifest{TimeoutMS: proto.DefaultTimeoutMS, MemoryMB: proto.DefaultMemoryMB}, content, &d)
	if err != nil {
		return Tool{}, err
	}
	hash, err := canon.HashGo(d.code, m)
	if err != nil {
		return Tool{}, fmt.Errorf("create tool: %w", err)
	}
	var out Tool
	err = s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		if err := q.LockToolQuota(ctx); err != nil {
			return err
		}
		n, err := q.CountTools(ctx)
		if err != nil {
			return err
		}
		if n >= MaxTools {
			return &QuotaError{}
		}
		srv, err := q.GetToolServer(ctx, serverID)
		if errors.Is(err, db.ErrNotFound) {
			return ErrServerNotFound
		} else if err != nil {
			return err
		}
		id, err := q.InsertTool(ctx, dbq.InsertToolParams{ServerID: serverID, Name: in.Name, CreatedBy: a.Actor})
		if err != nil {
			return mapConstraint(err, srv.Name, in.Name)
		}
		if err := insertVersion(ctx, q, a, id, 1, d, m, hash, "Created", nil); err != nil {
			return err
		}
		if err := requestCoverage(ctx, q, a, serverID, srv.Name, id, in.Name, 1, m); err != nil {
			return err
		}
		if _, err := revision.Catalog(ctx, q); err != nil {
			return err
		}
		exposed := proto.ExposedName(srv.Name, in.Name)
		if err := audit(ctx, q, a, "tool.create", serverID, id, fmt.Sprintf("Created tool '%s' (version 1, draft).", exposed),
			map[string]any{"name": in.Name, "exposed_name": exposed, "version": 1, "hash": hash}); err != nil {
			return err
		}
		out, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Tool{}, wrap("create tool "+in.Name+" in server "+server, err)
	}
	return out, nil
}

// server returns the name of a server, or ErrServerNotFound.
func (s *Service) server(ctx context.Context, id uuid.UUID) (string, error) {
	var name string
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		row, err := q.GetToolServer(ctx, id)
		name = row.Name
		return err
	})
	if errors.Is(err, db.ErrNotFound) {
		return "", ErrServerNotFound
	}
	return name, err
}

// insertVersion appends version n of a go tool.
func insertVersion(ctx context.Context, q *dbq.Queries, a Audit, toolID uuid.UUID, n int, d derived, m proto.Manifest,
	hash, summary string, basedOn *int,
) error {
	manifest, err := json.Marshal(m)
	if err != nil {
		return err
	}
	p := dbq.InsertToolVersionParams{
		ToolID: toolID, Version: int32(n), Code: &d.code, Manifest: manifest, Hash: hash,
		Description: d.description, InputSchema: d.inputSchema, OutputSchema: d.outputSchema,
		ChangeSummary: summary, ChangeSource: string(a.source()), CreatedBy: a.Actor,
	}
	if d.analyzerVersion != "" {
		p.AnalyzerVersion = &d.analyzerVersion
	}
	if basedOn != nil {
		p.BasedOnVersion = ptr(int32(*basedOn))
		p.ChangeSource = string(proto.ChangeRollback)
	}
	return q.InsertToolVersion(ctx, p)
}

// source is the change_source of the versions a caller creates.
func (a Audit) source() proto.ChangeSource {
	if strings.HasPrefix(a.Actor, "llm:") {
		return proto.ChangeLLM
	}
	return proto.ChangeAdmin
}

// Update applies a PATCH (§5.1): a content change appends a version under
// the tool's row lock and takes the review transition of §6.1; identical
// content creates nothing; a rename or toggle creates no version. A
// request without fields is a *proto.RuleError; the code is analysed once,
// before the transaction, when it is given.
func (s *Service) Update(ctx context.Context, a Audit, id uuid.UUID, in UpdateInput) (UpdateResult, error) {
	content := contentInput{hosts: in.Hosts, timeoutMS: in.TimeoutMS, memoryMB: in.MemoryMB}
	hasContent := in.Code != nil || in.Hosts != nil || in.TimeoutMS != nil || in.MemoryMB != nil
	if in.Name == nil && in.Enabled == nil && !hasContent {
		return UpdateResult{}, &proto.RuleError{Message: "No fields to update: pass at least one of name, code, hosts, timeout_ms, memory_mb, enabled."}
	}
	var errs []error
	if in.Name != nil {
		errs = append(errs, proto.ValidateToolName(*in.Name))
	}
	errs = append(errs, checkContent(content))
	if err := errors.Join(errs...); err != nil {
		return UpdateResult{}, err
	}
	before, err := s.Get(ctx, id)
	if err != nil {
		return UpdateResult{}, err
	}
	if hasContent && before.Kind != proto.ToolKindGo {
		return UpdateResult{}, &InvalidStateError{Message: fmt.Sprintf(
			"Tool '%s' is an external tool; its content comes from its source's discovery, not from code, hosts or limits.",
			before.ExposedName())}
	}
	var d *derived
	if in.Code != nil {
		res, err := s.analyze(ctx, *in.Code)
		if err != nil {
			return UpdateResult{}, err
		}
		d = &res
	}
	var out UpdateResult
	err = s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		old, err := q.GetToolForUpdate(ctx, id)
		if err != nil {
			return err
		}
		detail, err := q.GetToolDetail(ctx, id)
		if err != nil {
			return err
		}
		exposed := proto.ExposedName(detail.ServerName, old.Name)
		var audits []activity.Entry
		if hasContent {
			e, created, err := s.changeContent(ctx, q, a, old, detail.ServerName, exposed, content, d)
			if err != nil {
				return err
			}
			if created {
				out.NewVersion = true
				audits = append(audits, e)
			}
		}
		if in.Name != nil && *in.Name != old.Name {
			if err := q.SetToolName(ctx, dbq.SetToolNameParams{ID: id, Name: *in.Name}); err != nil {
				return mapConstraint(err, detail.ServerName, *in.Name)
			}
			renamed := proto.ExposedName(detail.ServerName, *in.Name)
			audits = append(audits, entry(a, "tool.rename", old.ServerID, id,
				fmt.Sprintf("Renamed tool '%s' to '%s'.", exposed, renamed),
				map[string]any{"old": old.Name, "new": *in.Name, "exposed_name": renamed}))
		}
		if in.Enabled != nil && *in.Enabled != old.Enabled {
			p := dbq.SetToolEnabledParams{ID: id, Enabled: *in.Enabled}
			action, verb := "tool.enable", "Enabled"
			if !*in.Enabled {
				p.DisabledBy = ptr(disabledBy(a))
				action, verb = "tool.disable", "Disabled"
			}
			if err := q.SetToolEnabled(ctx, p); err != nil {
				return err
			}
			audits = append(audits, entry(a, action, old.ServerID, id, fmt.Sprintf("%s tool '%s'.", verb, exposed),
				map[string]any{"exposed_name": exposed, "enabled": *in.Enabled}))
		}
		out.Changed = len(audits) > 0
		if out.Changed {
			if _, err := revision.Catalog(ctx, q); err != nil {
				return err
			}
		}
		for _, e := range audits {
			if err := activity.Write(ctx, q, e); err != nil {
				return err
			}
		}
		out.Tool, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return UpdateResult{}, wrap("update tool "+id.String(), err)
	}
	return out, nil
}

// disabledBy is tools.disabled_by for the caller: llm for an LLM, else
// admin.
func disabledBy(a Audit) string {
	if a.source() == proto.ChangeLLM {
		return "llm"
	}
	return "admin"
}

// changeContent builds the new content from the latest version and the
// request and, when its hash differs from the latest version's, appends
// the version and sets the review state. It returns the audit entry and
// whether a version was created.
func (s *Service) changeContent(ctx context.Context, q *dbq.Queries, a Audit, old dbq.Tool, server, exposed string,
	in contentInput, d *derived,
) (activity.Entry, bool, error) {
	latest, err := q.GetToolVersion(ctx, dbq.GetToolVersionParams{ToolID: old.ID, Version: old.LatestVersion})
	if err != nil {
		return activity.Entry{}, false, err
	}
	if latest.Code == nil {
		return activity.Entry{}, false, &InvalidStateError{Message: fmt.Sprintf("Tool '%s' has no code to change.", exposed)}
	}
	var base proto.Manifest
	if err := json.Unmarshal(latest.Manifest, &base); err != nil {
		return activity.Entry{}, false, fmt.Errorf("latest manifest: %w", err)
	}
	next := derived{
		code: *latest.Code, description: latest.Description, inputSchema: latest.InputSchema,
		outputSchema: latest.OutputSchema, packages: base.Packages, secrets: base.Secrets,
	}
	if latest.AnalyzerVersion != nil {
		next.analyzerVersion = *latest.AnalyzerVersion
	}
	if d != nil {
		next = *d
	}
	m, err := buildManifest(base, in, &next)
	if err != nil {
		return activity.Entry{}, false, err
	}
	hash, err := canon.HashGo(next.code, m)
	if err != nil {
		return activity.Entry{}, false, err
	}
	if hash == latest.Hash {
		return activity.Entry{}, false, nil
	}
	n := int(old.LatestVersion) + 1
	summary := changeSummary(*latest.Code, base, next.code, m)
	if err := insertVersion(ctx, q, a, old.ID, n, next, m, hash, summary, nil); err != nil {
		return activity.Entry{}, false, err
	}
	if err := requestCoverage(ctx, q, a, old.ServerID, server, old.ID, old.Name, n, m); err != nil {
		return activity.Entry{}, false, err
	}
	status, err := setReview(ctx, q, old, n, hash, m)
	if err != nil {
		return activity.Entry{}, false, err
	}
	return entry(a, "tool.update", old.ServerID, old.ID,
		fmt.Sprintf("Updated tool '%s': version %d (%s), %s.", exposed, n, strings.ToLower(summary), status),
		map[string]any{"exposed_name": exposed, "version": n, "hash": hash, "review_status": status, "summary": summary}), true, nil
}

// requestCoverage makes the automatic requests of version n of a go tool
// (§6.2) in q's transaction, under the request settings of §6.6 as q
// reads them.
func requestCoverage(ctx context.Context, q *dbq.Queries, a Audit, serverID uuid.UUID, server string, toolID uuid.UUID,
	name string, n int, m proto.Manifest,
) error {
	pol, err := requestPolicy(ctx, q)
	if err != nil {
		return err
	}
	return approvals.EnsureVersionRequests(ctx, q, pol, approvals.Audit{Actor: a.Actor, RequestID: a.RequestID},
		approvals.NewVersion{ToolID: toolID, ServerID: serverID, ServerName: server, ToolName: name, Number: n, Manifest: m})
}

// requestPolicy is the policy with the network_access_policy and
// package_approval_mode settings read in q's transaction; an absent or
// unreadable value is the default (the restrictive one).
func requestPolicy(ctx context.Context, q *dbq.Queries) (policy.Policy, error) {
	pol := policy.Defaults()
	for key, dst := range map[proto.SettingKey]*string{
		proto.SettingNetworkAccessPolicy: &pol.NetworkAccessPolicy,
		proto.SettingPackageApprovalMode: &pol.PackageApprovalMode,
	} {
		row, err := q.GetSetting(ctx, string(key))
		if errors.Is(err, db.ErrNotFound) {
			continue
		} else if err != nil {
			return policy.Policy{}, fmt.Errorf("read setting %s: %w", key, err)
		}
		var v string
		if json.Unmarshal(row.Value, &v) == nil {
			*dst = v
		}
	}
	return pol, nil
}

// changeSummary names what differs between two contents, e.g. "Updated
// code and hosts".
func changeSummary(oldCode string, old proto.Manifest, code string, m proto.Manifest) string {
	var parts []string
	if oldCode != code {
		parts = append(parts, "code")
	}
	for _, c := range manifestChanges(&old, m) {
		parts = append(parts, c.Key)
	}
	switch len(parts) {
	case 0:
		return "Updated content"
	case 1:
		return "Updated " + parts[0]
	}
	return "Updated " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// setReview records version n (hash, manifest m) as the latest and takes
// the review transition of a content change (§6.1): hash_match first, then
// a draft stays draft, then require_approval → pending_review and
// auto_approve → approved by policy when the manifest is covered (§6.3)
// and names no secret, else pending_review. It returns the new status.
func setReview(ctx context.Context, q *dbq.Queries, old dbq.Tool, n int, hash string, m proto.Manifest) (proto.ReviewStatus, error) {
	now := time.Now().UTC()
	p := dbq.SetToolReviewParams{
		ID: old.ID, LatestVersion: int32(n), ReviewStatus: old.ReviewStatus,
		ReviewRequestedAt: old.ReviewRequestedAt, ApprovedVersion: old.ApprovedVersion,
		ApprovedHash: old.ApprovedHash, ApprovedAt: old.ApprovedAt, ApprovedBy: old.ApprovedBy,
	}
	approve := func(by string) {
		p.ReviewStatus = string(proto.ReviewApproved)
		p.ApprovedVersion, p.ApprovedHash, p.ApprovedAt, p.ApprovedBy = &p.LatestVersion, &hash, &now, &by
	}
	switch {
	case old.ApprovedHash != nil && *old.ApprovedHash == hash:
		approve(approvedByHashMatch)
	case old.ReviewStatus == string(proto.ReviewDraft):
	default:
		auto, err := autoApproves(ctx, q, old.ServerID, m)
		if err != nil {
			return "", err
		}
		if auto {
			approve(approvedByPolicy)
		} else {
			p.ReviewStatus, p.ReviewRequestedAt = string(proto.ReviewPendingReview), &now
		}
	}
	if err := q.SetToolReview(ctx, p); err != nil {
		return "", err
	}
	return proto.ReviewStatus(p.ReviewStatus), nil
}

// autoApproves reports whether tool_approval_mode is auto_approve and the
// manifest is covered and names no secret (§6.3).
func autoApproves(ctx context.Context, q *dbq.Queries, serverID uuid.UUID, m proto.Manifest) (bool, error) {
	row, err := q.GetSetting(ctx, string(proto.SettingToolApprovalMode))
	if errors.Is(err, db.ErrNotFound) {
		return false, nil // the default, require_approval
	}
	if err != nil {
		return false, err
	}
	var mode proto.ApprovalMode
	if json.Unmarshal(row.Value, &mode) != nil || mode != proto.ApprovalAuto || len(m.Secrets) > 0 {
		return false, nil
	}
	cov, err := newCoverer(ctx, q, serverID)
	if err != nil {
		return false, err
	}
	c, err := cov.coverage(ctx, m)
	if err != nil {
		return false, err
	}
	return c.Covered(), nil
}

// Rollback creates version latest+1 with the code and manifest of version
// n (§10.2 mcpbox_rollback_tool): change_source rollback, based_on_version
// n, the review rules of a content change (including hash_match). The code
// is analysed again, so it still compiles under today's sandbox. Rolling
// back to the latest version, or to a version with the latest's content,
// is an *InvalidStateError; an unknown version a *VersionNotFoundError.
func (s *Service) Rollback(ctx context.Context, a Audit, id uuid.UUID, n int) (Tool, error) {
	t, target, err := s.GetVersion(ctx, id, n)
	if err != nil {
		return Tool{}, err
	}
	if err := rollbackAllowed(t, n, target.Hash, t.Latest.Hash); err != nil {
		return Tool{}, err
	}
	if target.Code == nil {
		return Tool{}, &InvalidStateError{Message: fmt.Sprintf(
			"Tool '%s' is an external tool; its versions follow its source's discovery.", t.ExposedName())}
	}
	d, err := s.analyze(ctx, *target.Code)
	if err != nil {
		return Tool{}, err
	}
	m := target.Manifest
	hash, err := canon.HashGo(d.code, m)
	if err != nil {
		return Tool{}, err
	}
	if hash != target.Hash {
		return Tool{}, fmt.Errorf("rollback tool %s: version %d is corrupt: stored hash %s, content hashes to %s", id, n, target.Hash, hash)
	}
	var out Tool
	err = s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		old, err := q.GetToolForUpdate(ctx, id)
		if err != nil {
			return err
		}
		latest, err := q.GetToolVersion(ctx, dbq.GetToolVersionParams{ToolID: id, Version: old.LatestVersion})
		if err != nil {
			return err
		}
		t.LatestVersion = int(old.LatestVersion)
		if err := rollbackAllowed(t, n, hash, latest.Hash); err != nil {
			return err
		}
		next := t.LatestVersion + 1
		if err := insertVersion(ctx, q, a, id, next, d, m, hash, "Rolled back to version "+strconv.Itoa(n), &n); err != nil {
			return err
		}
		if err := requestCoverage(ctx, q, a, old.ServerID, t.ServerName, id, old.Name, next, m); err != nil {
			return err
		}
		status, err := setReview(ctx, q, old, next, hash, m)
		if err != nil {
			return err
		}
		if _, err := revision.Catalog(ctx, q); err != nil {
			return err
		}
		exposed := t.ExposedName()
		if err := activity.Write(ctx, q, entry(a, "tool.rollback", old.ServerID, id,
			fmt.Sprintf("Rolled back tool '%s' to version %d as version %d, %s.", exposed, n, next, status),
			map[string]any{"exposed_name": exposed, "version": next, "based_on_version": n, "hash": hash, "review_status": status})); err != nil {
			return err
		}
		out, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Tool{}, wrap("rollback tool "+id.String(), err)
	}
	return out, nil
}

// rollbackAllowed refuses a rollback to the latest version or to a version
// with the latest version's content.
func rollbackAllowed(t Tool, n int, hash, latestHash string) error {
	switch {
	case n == t.LatestVersion:
		return &InvalidStateError{Message: fmt.Sprintf("Version %d is the latest version; nothing to roll back.", n)}
	case hash == latestHash:
		return &InvalidStateError{Message: fmt.Sprintf("Version %d has the same content as the latest version.", n)}
	}
	return nil
}

// Delete removes a tool and its versions (§4.3): its pending and rejected
// network and package requests go too, approved ones stay with tool_id
// NULL (they are server-level or global grants). It bumps the catalog
// revision.
func (s *Service) Delete(ctx context.Context, a Audit, id uuid.UUID) error {
	err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		old, err := q.GetToolForUpdate(ctx, id)
		if err != nil {
			return err
		}
		detail, err := q.GetToolDetail(ctx, id)
		if err != nil {
			return err
		}
		removed, err := q.DeleteToolRequests(ctx, id)
		if err != nil {
			return err
		}
		if err := q.DeleteTool(ctx, id); err != nil {
			return err
		}
		if _, err := revision.Catalog(ctx, q); err != nil {
			return err
		}
		exposed := proto.ExposedName(detail.ServerName, old.Name)
		return activity.Write(ctx, q, entry(a, "tool.delete", old.ServerID, id,
			fmt.Sprintf("Deleted tool '%s' (%d versions).", exposed, old.LatestVersion),
			map[string]any{
				"exposed_name": exposed, "latest_version": old.LatestVersion, "approved_version": old.ApprovedVersion,
				"removed_network_requests": removed.Network, "removed_package_requests": removed.Packages,
			}))
	})
	if err != nil {
		return wrap("delete tool "+id.String(), err)
	}
	return nil
}

// entry is an audit row about a tool.
func entry(a Audit, action string, serverID, toolID uuid.UUID, msg string, details map[string]any) activity.Entry {
	return activity.Entry{
		Category: activity.Audit, Action: action, Actor: a.Actor, Message: msg,
		ServerID: &serverID, ToolID: &toolID, RequestID: a.RequestID, Details: details,
	}
}

func audit(ctx context.Context, q *dbq.Queries, a Audit, action string, serverID, toolID uuid.UUID, msg string, details map[string]any) error {
	return activity.Write(ctx, q, entry(a, action, serverID, toolID, msg, details))
}

// mapConstraint maps a constraint violation of a write of a tool name to
// the service's errors by constraint name (§15.1).
func mapConstraint(err error, server, name string) error {
	var conflict *db.ConflictError
	var check *db.CheckError
	switch {
	case errors.As(err, &conflict) && conflict.Constraint == constraintNameKey:
		return &NameTakenError{Server: server, Name: name}
	case errors.As(err, &check) && check.Constraint == constraintNameCheck:
		if rule := proto.ValidateToolName(name); rule != nil {
			return rule
		}
		return &proto.RuleError{Field: "name", Message: fmt.Sprintf(
			"must match %s, at most %d characters.", proto.NamePattern, proto.MaxToolNameLen)}
	}
	return err
}

// wrap names the operation on unexpected errors and turns a missing row
// into ErrNotFound; the service's own errors pass unwrapped.
func wrap(op string, err error) error {
	var (
		rule      *proto.RuleError
		taken     *NameTakenError
		version   *VersionNotFoundError
		state     *InvalidStateError
		quota     *QuotaError
		invalid   *CodeInvalidError
		forbidden *PackageForbiddenError
	)
	switch {
	case errors.Is(err, ErrServerNotFound), errors.Is(err, ErrNotFound):
		return err
	case errors.Is(err, db.ErrNotFound):
		return ErrNotFound
	case errors.As(err, &rule), errors.As(err, &taken), errors.As(err, &version), errors.As(err, &state),
		errors.As(err, &quota), errors.As(err, &invalid), errors.As(err, &forbidden):
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
