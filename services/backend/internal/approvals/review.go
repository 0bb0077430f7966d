package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

// Causes of a tool revocation (audit details of tool.revoke, §14.1).
const (
	CauseAdmin    = "admin"
	CauseCoverage = "coverage"
)

// Granted is what an approval granted: the hosts and packages it approved.
type Granted struct {
	Hosts    []string
	Packages []string
}

// SubmitResult is the outcome of request_publish (§10.2): the new review
// status, the latest version and what it needs that is not covered.
type SubmitResult struct {
	Status  proto.ReviewStatus
	Version int
	Missing Missing
	// SecretsNeedReview is set when auto_approve did not approve because
	// the code reads a secret (§6.3).
	SecretsNeedReview bool
}

// RevokedTool is a tool whose approval a request revocation removed.
type RevokedTool struct {
	ID          uuid.UUID
	ExposedName string
}

// lockedTool is a tool locked for a review change, with its latest
// version.
type lockedTool struct {
	row      dbq.Tool
	exposed  string
	latest   dbq.ToolVersion
	manifest proto.Manifest
}

// lockTool locks a tool's row and reads its latest version.
func lockTool(ctx context.Context, q *dbq.Queries, id uuid.UUID) (lockedTool, error) {
	row, err := q.GetToolForUpdate(ctx, id)
	if err != nil {
		return lockedTool{}, err
	}
	srv, err := q.GetToolServer(ctx, row.ServerID)
	if err != nil {
		return lockedTool{}, err
	}
	latest, err := q.GetToolVersion(ctx, dbq.GetToolVersionParams{ToolID: id, Version: row.LatestVersion})
	if err != nil {
		return lockedTool{}, fmt.Errorf("latest version %d: %w", row.LatestVersion, err)
	}
	m, err := parseManifest(latest.Manifest)
	if err != nil {
		return lockedTool{}, err
	}
	return lockedTool{row: row, exposed: proto.ExposedName(srv.Name, row.Name), latest: latest, manifest: m}, nil
}

// reviewState is the tool's current review columns, to change and write
// back with SetToolReviewState.
func reviewState(t dbq.Tool) dbq.SetToolReviewStateParams {
	return dbq.SetToolReviewStateParams{
		ID: t.ID, ReviewStatus: t.ReviewStatus, ReviewRequestedAt: t.ReviewRequestedAt, PublishNotes: t.PublishNotes,
		ReviewedBy: t.ReviewedBy, ReviewedAt: t.ReviewedAt, RejectionReason: t.RejectionReason,
		ApprovedVersion: t.ApprovedVersion, ApprovedHash: t.ApprovedHash, ApprovedAt: t.ApprovedAt, ApprovedBy: t.ApprovedBy,
	}
}

// approveLatest sets the latest version approved by by.
func approveLatest(p *dbq.SetToolReviewStateParams, t lockedTool, by string) {
	at := now()
	p.ReviewStatus = string(proto.ReviewApproved)
	p.ApprovedVersion, p.ApprovedHash, p.ApprovedAt, p.ApprovedBy = ptr(t.row.LatestVersion), ptr(t.latest.Hash), &at, &by
	p.RejectionReason = nil
}

// Submit is request_publish (§6.1, §10.2): a draft or rejected tool goes to
// pending_review, or, under tool_approval_mode auto_approve, is approved by
// 'policy' when its manifest is covered and (for a go tool) names no
// secret. It clears the rejection reason and stores notes when given.
func (s *Service) Submit(ctx context.Context, a Audit, id uuid.UUID, notes *string) (SubmitResult, error) {
	if notes != nil {
		if err := checkText("notes", *notes); err != nil {
			return SubmitResult{}, err
		}
	}
	pol, _, err := s.policy.Current(ctx)
	if err != nil {
		return SubmitResult{}, err
	}
	auto := pol.ToolApprovalMode == string(proto.ApprovalAuto)
	var out SubmitResult
	err = s.inTx(ctx, func(q *dbq.Queries) error {
		t, err := lockTool(ctx, q, id)
		if err != nil {
			return err
		}
		switch proto.ReviewStatus(t.row.ReviewStatus) {
		case proto.ReviewDraft, proto.ReviewRejected:
		default:
			return &InvalidStateError{Message: fmt.Sprintf(
				"Tool '%s' is %s; request_publish needs draft or rejected.", t.exposed, t.row.ReviewStatus)}
		}
		miss, err := missing(ctx, q, t.row.ServerID, t.manifest)
		if err != nil {
			return err
		}
		secrets := t.row.Kind == string(proto.ToolKindGo) && len(t.manifest.Secrets) > 0
		p := reviewState(t.row)
		p.RejectionReason = nil
		if notes != nil {
			p.PublishNotes = notes
		}
		by := ""
		if auto && miss.Empty() && !secrets {
			approveLatest(&p, t, actorPolicy)
			by = actorPolicy
		} else {
			p.ReviewStatus, p.ReviewRequestedAt = string(proto.ReviewPendingReview), ptr(now())
		}
		if err := q.SetToolReviewState(ctx, p); err != nil {
			return err
		}
		if _, err := revision.Catalog(ctx, q); err != nil {
			return err
		}
		out = SubmitResult{
			Status: proto.ReviewStatus(p.ReviewStatus), Version: int(t.row.LatestVersion), Missing: miss,
			SecretsNeedReview: auto && secrets,
		}
		msg := fmt.Sprintf("Submitted tool '%s' version %d for review.", t.exposed, t.row.LatestVersion)
		if by != "" {
			msg = fmt.Sprintf("Submitted tool '%s' version %d; approved by policy.", t.exposed, t.row.LatestVersion)
		}
		return activity.Write(ctx, q, entry(a, "tool.submit", &t.row.ServerID, &t.row.ID, msg, map[string]any{
			"version": t.row.LatestVersion, "hash": t.latest.Hash, "review_status": p.ReviewStatus,
			"missing": map[string]any{"hosts": miss.Hosts, "packages": miss.Packages},
		}))
	})
	if err != nil {
		return SubmitResult{}, wrap("submit tool "+id.String(), err, ErrNotFound)
	}
	return out, nil
}

// Approve approves version (with hash) of a tool, which must be the
// latest version (§6.1): from draft, pending_review or rejected. It grants
// the version's uncovered hosts and packages in the same transaction
// (§6.3): the tool's pending requests for them become approved, missing
// ones are inserted approved by 'system'. A stale version or hash is a
// *VersionChangedError; a version whose content no longer hashes to its
// hash is a *CorruptError, recorded as an error activity row.
func (s *Service) Approve(ctx context.Context, a Audit, id uuid.UUID, version int, hash string) (Granted, error) {
	var out Granted
	err := s.inTx(ctx, func(q *dbq.Queries) error {
		var err error
		out, err = approveTool(ctx, q, a, id, version, hash)
		return err
	})
	var corrupt *CorruptError
	if errors.As(err, &corrupt) {
		werr := s.inTx(ctx, func(q *dbq.Queries) error {
			return activity.Write(ctx, q, activity.Entry{
				Category: activity.Error, Action: "tool.hash_mismatch", Level: activity.Error, Actor: actorSystem,
				Message: "Refused to approve: " + corrupt.Error() + ".", ToolID: &id, RequestID: a.RequestID,
				Details: map[string]any{"version": corrupt.Version, "stored": corrupt.Stored, "actual": corrupt.Actual},
			})
		})
		return Granted{}, errors.Join(err, werr)
	}
	if err != nil {
		return Granted{}, wrap("approve tool "+id.String(), err, ErrNotFound)
	}
	s.CountDecision(ItemTool, DecisionApproved)
	return out, nil
}

// approveTool is Approve in q's transaction.
func approveTool(ctx context.Context, q *dbq.Queries, a Audit, id uuid.UUID, version int, hash string) (Granted, error) {
	t, err := lockTool(ctx, q, id)
	if err != nil {
		return Granted{}, err
	}
	switch proto.ReviewStatus(t.row.ReviewStatus) {
	case proto.ReviewDraft, proto.ReviewPendingReview, proto.ReviewRejected:
	default:
		return Granted{}, &InvalidStateError{Message: fmt.Sprintf(
			"Tool '%s' is %s; approve needs draft, pending_review or rejected.", t.exposed, t.row.ReviewStatus)}
	}
	if version != int(t.row.LatestVersion) || hash != t.latest.Hash {
		return Granted{}, &VersionChangedError{Message: fmt.Sprintf(
			"Version %d (%s) is no longer the latest version; reload and review version %d.", version, hash, t.row.LatestVersion)}
	}
	if err := verifyHash(t); err != nil {
		return Granted{}, err
	}
	g, err := grant(ctx, q, a, t)
	if err != nil {
		return Granted{}, err
	}
	p := reviewState(t.row)
	approveLatest(&p, t, a.Actor)
	p.ReviewedBy, p.ReviewedAt = &a.Actor, p.ApprovedAt
	if err := q.SetToolReviewState(ctx, p); err != nil {
		return Granted{}, err
	}
	if _, err := revision.Catalog(ctx, q); err != nil {
		return Granted{}, err
	}
	msg := fmt.Sprintf("Approved tool '%s' version %d.", t.exposed, version)
	if n := len(g.Hosts) + len(g.Packages); n > 0 {
		msg = fmt.Sprintf("Approved tool '%s' version %d, granting %s.", t.exposed, version,
			strings.Join(append(append([]string{}, g.Hosts...), g.Packages...), ", "))
	}
	return g, activity.Write(ctx, q, entry(a, "tool.approve", &t.row.ServerID, &t.row.ID, msg, map[string]any{
		"version": version, "hash": hash, "granted": map[string]any{"hosts": g.Hosts, "packages": g.Packages},
	}))
}

// verifyHash recomputes the latest version's hash (§5.3).
func verifyHash(t lockedTool) error {
	var actual string
	var err error
	if t.latest.Code != nil {
		actual, err = canon.HashGo(*t.latest.Code, t.manifest)
	} else {
		var def proto.ExternalDefinition
		if err = json.Unmarshal(t.latest.ExternalDefinition, &def); err == nil {
			actual, err = canon.HashExternal(def, t.manifest)
		}
	}
	if err != nil {
		return fmt.Errorf("hash tool %s version %d: %w", t.exposed, t.row.LatestVersion, err)
	}
	if actual != t.latest.Hash {
		return &CorruptError{Tool: t.exposed, Version: int(t.row.LatestVersion), Stored: t.latest.Hash, Actual: actual}
	}
	return nil
}

// grant approves the latest manifest's uncovered hosts and packages
// (§6.3).
func grant(ctx context.Context, q *dbq.Queries, a Audit, t lockedTool) (Granted, error) {
	miss, err := missing(ctx, q, t.row.ServerID, t.manifest)
	if err != nil {
		return Granted{}, err
	}
	at := now()
	justification := fmt.Sprintf("Approved with %s version %d", t.exposed, t.row.LatestVersion)
	for _, h := range miss.Hosts {
		target := splitTarget(h)
		pending, err := q.FindNetworkRequest(ctx, dbq.FindNetworkRequestParams{
			ServerID: t.row.ServerID, Host: target.Host, Port: target.port32(), Status: StatusPending, ToolID: &t.row.ID,
		})
		switch {
		case err == nil:
			err = q.SetNetworkRequestStatus(ctx, dbq.SetNetworkRequestStatusParams{
				ID: pending.ID, Status: StatusApproved, ReviewedBy: &a.Actor, ReviewedAt: &at,
			})
		case isNotFound(err):
			_, err = q.InsertNetworkRequest(ctx, dbq.InsertNetworkRequestParams{
				ServerID: t.row.ServerID, ToolID: &t.row.ID, Host: target.Host, Port: target.port32(),
				Justification: justification, Status: StatusApproved, RequestedBy: actorSystem,
				ReviewedBy: &a.Actor, ReviewedAt: &at,
			})
		}
		if err != nil {
			return Granted{}, fmt.Errorf("grant host %s: %w", h, err)
		}
	}
	for _, pkg := range miss.Packages {
		if !proto.IsApprovablePackage(pkg) {
			return Granted{}, &PackageForbiddenError{Package: pkg}
		}
		pending, err := q.FindPackageRequest(ctx, dbq.FindPackageRequestParams{Package: pkg, Status: StatusPending, ToolID: &t.row.ID})
		switch {
		case err == nil:
			err = q.SetPackageRequestStatus(ctx, dbq.SetPackageRequestStatusParams{
				ID: pending.ID, Status: StatusApproved, ReviewedBy: &a.Actor, ReviewedAt: &at,
			})
		case isNotFound(err):
			_, err = q.InsertPackageRequest(ctx, dbq.InsertPackageRequestParams{
				ServerID: &t.row.ServerID, ToolID: &t.row.ID, Package: pkg, Justification: justification,
				Status: StatusApproved, RequestedBy: actorSystem, ReviewedBy: &a.Actor, ReviewedAt: &at,
			})
		}
		if err != nil {
			return Granted{}, fmt.Errorf("grant package %s: %w", pkg, err)
		}
	}
	return Granted(miss), nil
}

// Reject rejects the pending version of a tool (§6.1) with a reason of
// 1–2000 characters; the live version, if any, stays live.
func (s *Service) Reject(ctx context.Context, a Audit, id uuid.UUID, version int, reason string) error {
	if err := checkReason(reason); err != nil {
		return err
	}
	err := s.inTx(ctx, func(q *dbq.Queries) error { return rejectTool(ctx, q, a, id, version, reason) })
	if err == nil {
		s.CountDecision(ItemTool, DecisionRejected)
	}
	return wrap("reject tool "+id.String(), err, ErrNotFound)
}

// rejectTool is Reject in q's transaction.
func rejectTool(ctx context.Context, q *dbq.Queries, a Audit, id uuid.UUID, version int, reason string) error {
	t, err := lockTool(ctx, q, id)
	if err != nil {
		return err
	}
	if t.row.ReviewStatus != string(proto.ReviewPendingReview) {
		return &InvalidStateError{Message: fmt.Sprintf("Tool '%s' is %s; reject needs pending_review.", t.exposed, t.row.ReviewStatus)}
	}
	if version != int(t.row.LatestVersion) {
		return &VersionChangedError{Message: fmt.Sprintf(
			"Version %d is no longer the latest version; reload and review version %d.", version, t.row.LatestVersion)}
	}
	p := reviewState(t.row)
	p.ReviewStatus, p.RejectionReason, p.ReviewedBy, p.ReviewedAt = string(proto.ReviewRejected), &reason, &a.Actor, ptr(now())
	if err := q.SetToolReviewState(ctx, p); err != nil {
		return err
	}
	if _, err := revision.Catalog(ctx, q); err != nil {
		return err
	}
	return activity.Write(ctx, q, entry(a, "tool.reject", &t.row.ServerID, &t.row.ID,
		fmt.Sprintf("Rejected tool '%s' version %d: %s", t.exposed, version, reason),
		map[string]any{"version": version, "hash": t.latest.Hash, "reason": reason}))
}

// Revoke removes a tool's approval (§6.1): the tool leaves the catalog,
// and a review_status of approved becomes pending_review. A tool without
// an approved version is an *InvalidStateError.
func (s *Service) Revoke(ctx context.Context, a Audit, id uuid.UUID, reason *string) error {
	if reason != nil {
		if err := checkText("reason", *reason); err != nil {
			return err
		}
	}
	err := s.inTx(ctx, func(q *dbq.Queries) error {
		row, err := q.GetToolForUpdate(ctx, id)
		if err != nil {
			return err
		}
		srv, err := q.GetToolServer(ctx, row.ServerID)
		if err != nil {
			return err
		}
		exposed := proto.ExposedName(srv.Name, row.Name)
		if row.ApprovedVersion == nil {
			return &InvalidStateError{Message: fmt.Sprintf("Tool '%s' is not approved; there is no approval to revoke.", exposed)}
		}
		if err := revokeTool(ctx, q, a, row, exposed, reason, CauseAdmin); err != nil {
			return err
		}
		_, err = revision.Catalog(ctx, q)
		return err
	})
	if err == nil {
		s.CountDecision(ItemTool, DecisionRevoked)
	}
	return wrap("revoke tool "+id.String(), err, ErrNotFound)
}

// revokeTool clears the approval of a locked tool and writes tool.revoke;
// the caller bumps the catalog revision.
func revokeTool(ctx context.Context, q *dbq.Queries, a Audit, row dbq.Tool, exposed string, reason *string, cause string) error {
	p := reviewState(row)
	p.ApprovedVersion, p.ApprovedHash, p.ApprovedAt, p.ApprovedBy = nil, nil, nil, nil
	if row.ReviewStatus == string(proto.ReviewApproved) {
		p.ReviewStatus, p.ReviewRequestedAt = string(proto.ReviewPendingReview), ptr(now())
	}
	if err := q.SetToolReviewState(ctx, p); err != nil {
		return err
	}
	msg := fmt.Sprintf("Revoked the approval of tool '%s' (version %d).", exposed, *row.ApprovedVersion)
	if reason != nil && *reason != "" {
		msg = fmt.Sprintf("Revoked the approval of tool '%s' (version %d): %s", exposed, *row.ApprovedVersion, *reason)
	}
	return activity.Write(ctx, q, entry(a, "tool.revoke", &row.ServerID, &row.ID, msg, map[string]any{
		"version": *row.ApprovedVersion, "reason": reason, "cause": cause,
	}))
}

// revokeUncovered revokes, in q's transaction, every approved tool (of
// serverID, or naming pkg) whose approved manifest is no longer covered
// (§6.3), as 'system' with a reason naming what is missing. It bumps the
// catalog revision once when it revoked any.
func revokeUncovered(ctx context.Context, q *dbq.Queries, a Audit, serverID *uuid.UUID, pkg *string) ([]RevokedTool, error) {
	rows, err := q.ListApprovedToolsForUpdate(ctx, dbq.ListApprovedToolsForUpdateParams{ServerID: serverID, Package: pkg})
	if err != nil {
		return nil, err
	}
	out := []RevokedTool{}
	system := Audit{Actor: actorSystem, RequestID: a.RequestID}
	for _, r := range rows {
		m, err := parseManifest(r.Manifest)
		if err != nil {
			return nil, err
		}
		miss, err := missing(ctx, q, r.ServerID, m)
		if err != nil {
			return nil, err
		}
		if miss.Empty() {
			continue
		}
		var reason string
		if len(miss.Hosts) > 0 {
			reason = fmt.Sprintf("Host '%s' is no longer approved for server '%s'.", miss.Hosts[0], r.ServerName)
		} else {
			reason = fmt.Sprintf("Package '%s' is no longer approved.", miss.Packages[0])
		}
		row, err := q.GetToolForUpdate(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		exposed := proto.ExposedName(r.ServerName, r.Name)
		if err := revokeTool(ctx, q, system, row, exposed, &reason, CauseCoverage); err != nil {
			return nil, err
		}
		out = append(out, RevokedTool{ID: r.ID, ExposedName: exposed})
	}
	if len(out) > 0 {
		if _, err := revision.Catalog(ctx, q); err != nil {
			return nil, err
		}
	}
	return out, nil
}
