package approvals

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

// NewVersion is a tool version just inserted, for EnsureVersionRequests.
type NewVersion struct {
	ToolID     uuid.UUID
	ServerID   uuid.UUID
	ServerName string
	ToolName   string
	Number     int
	Manifest   proto.Manifest
}

// EnsureVersionRequests makes the automatic requests of a new version
// (backend.md §6.2 first row) in q's transaction: for each host and package
// of the manifest that is not covered (§6.3) a request of the tool with
// justification "Needed by <server>__<tool> version N", requested_by the
// caller, pending or approved by 'policy' per pol (§6.6). It never refuses
// the version: a covered entry, a default-tier or non-approvable package
// and an entry this tool already had rejected are skipped; a pending
// request of the tool for the entry only gets the new justification.
func EnsureVersionRequests(ctx context.Context, q *dbq.Queries, pol policy.Policy, a Audit, v NewVersion) error {
	tool := requester{
		toolID: v.ToolID, serverID: v.ServerID, serverName: v.ServerName,
		exposed: proto.ExposedName(v.ServerName, v.ToolName),
	}
	why := fmt.Sprintf("Needed by %s version %d", tool.exposed, v.Number)
	for _, h := range v.Manifest.Hosts {
		if _, err := tool.requestHost(ctx, q, a, pol, splitTarget(h), why); err != nil && !skippable(err) {
			return fmt.Errorf("automatic request for host %s: %w", h, err)
		}
	}
	for _, p := range v.Manifest.Packages {
		if _, err := tool.requestPackage(ctx, q, a, pol, p, why); err != nil && !skippable(err) {
			return fmt.Errorf("automatic request for package %s: %w", p, err)
		}
	}
	return nil
}

// skippable reports whether an automatic request's refusal only means no
// request is needed or allowed.
func skippable(err error) bool {
	var (
		covered   *AlreadyCoveredError
		rejected  *AlreadyRejectedError
		forbidden *PackageForbiddenError
	)
	return errors.As(err, &covered) || errors.As(err, &rejected) || errors.As(err, &forbidden)
}

// requester is the tool a request is made for.
type requester struct {
	toolID     uuid.UUID
	serverID   uuid.UUID
	serverName string
	exposed    string
}

// requestHost is the one way a tool's network request is made (§6.2): it
// refuses a covered target (*AlreadyCoveredError) or one this tool had
// rejected (*AlreadyRejectedError), updates the justification of the
// tool's pending request for the target, or inserts one, pending or
// approved by 'policy' for a public-looking host under allow_all_public,
// with its audit row. It returns the request's id.
func (r requester) requestHost(ctx context.Context, q *dbq.Queries, a Audit, pol policy.Policy, t Target, justification string) (uuid.UUID, error) {
	if err := refuseCoveredHost(ctx, q, r.serverID, r.serverName, t); err != nil {
		return uuid.Nil, err
	}
	key := dbq.FindNetworkRequestParams{ServerID: r.serverID, Host: t.Host, Port: t.port32(), ToolID: &r.toolID, Status: StatusRejected}
	if old, err := q.FindNetworkRequest(ctx, key); err == nil {
		return uuid.Nil, rejectedBefore(t.String(), old.RejectionReason)
	} else if !isNotFound(err) {
		return uuid.Nil, err
	}
	key.Status = StatusPending
	if old, err := q.FindNetworkRequest(ctx, key); err == nil {
		return old.ID, q.SetNetworkRequestJustification(ctx, dbq.SetNetworkRequestJustificationParams{ID: old.ID, Justification: justification})
	} else if !isNotFound(err) {
		return uuid.Nil, err
	}
	p := dbq.InsertNetworkRequestParams{
		ServerID: r.serverID, ToolID: &r.toolID, Host: t.Host, Port: t.port32(), Justification: justification,
		Status: StatusPending, RequestedBy: a.Actor,
	}
	status := "pending"
	if pol.NetworkAccessPolicy == string(proto.NetworkAllowAllPublic) && PublicLooking(t.Host) {
		p.Status, p.ReviewedBy, p.ReviewedAt = StatusApproved, ptr(actorPolicy), ptr(now())
		status = "approved by policy"
	}
	id, err := q.InsertNetworkRequest(ctx, p)
	if err != nil {
		return uuid.Nil, err
	}
	return id, activity.Write(ctx, q, entry(a, "network.request", &r.serverID, &r.toolID,
		fmt.Sprintf("Tool '%s' requested host '%s' (%s).", r.exposed, t, status),
		map[string]any{"request_id": id, "host": t.Host, "port": t.Port, "status": p.Status}))
}

// requestPackage is the one way a tool's package request is made (§6.2):
// the refusals of checkPackage and *AlreadyRejectedError, else the
// justification of the tool's pending request is updated or a request is
// inserted, pending or approved by 'policy' under package_approval_mode
// auto_approve, with its audit row. It returns the request's id.
func (r requester) requestPackage(ctx context.Context, q *dbq.Queries, a Audit, pol policy.Policy, pkg, justification string) (uuid.UUID, error) {
	if err := checkPackage(ctx, q, pkg); err != nil {
		return uuid.Nil, err
	}
	key := dbq.FindPackageRequestParams{Package: pkg, Status: StatusRejected, ToolID: &r.toolID}
	if old, err := q.FindPackageRequest(ctx, key); err == nil {
		return uuid.Nil, rejectedBefore(pkg, old.RejectionReason)
	} else if !isNotFound(err) {
		return uuid.Nil, err
	}
	key.Status = StatusPending
	if old, err := q.FindPackageRequest(ctx, key); err == nil {
		return old.ID, q.SetPackageRequestJustification(ctx, dbq.SetPackageRequestJustificationParams{ID: old.ID, Justification: justification})
	} else if !isNotFound(err) {
		return uuid.Nil, err
	}
	p := dbq.InsertPackageRequestParams{
		ServerID: &r.serverID, ToolID: &r.toolID, Package: pkg, Justification: justification,
		Status: StatusPending, RequestedBy: a.Actor,
	}
	status := "pending"
	if pol.PackageApprovalMode == string(proto.ApprovalAuto) {
		p.Status, p.ReviewedBy, p.ReviewedAt = StatusApproved, ptr(actorPolicy), ptr(now())
		status = "approved by policy"
	}
	id, err := q.InsertPackageRequest(ctx, p)
	if err != nil {
		return uuid.Nil, err
	}
	return id, activity.Write(ctx, q, entry(a, "package.request", &r.serverID, &r.toolID,
		fmt.Sprintf("Tool '%s' requested package '%s' (%s).", r.exposed, pkg, status),
		map[string]any{"request_id": id, "package": pkg, "status": p.Status}))
}
