package approvals

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// Kind is the kind of a request.
type Kind string

// Request kinds.
const (
	KindNetwork Kind = "network"
	KindPackage Kind = "package"
)

// Request is the NetworkRequest or PackageRequest resource of backend.md
// §8.1: Host and Port are set for a network request, Package for a package
// request.
type Request struct {
	Kind            Kind
	ID              uuid.UUID
	ServerID        *uuid.UUID
	ServerName      *string
	ToolID          *uuid.UUID
	ToolName        *string
	Host            string
	Port            *int
	Package         string
	Justification   string
	Status          string
	RequestedBy     string
	ReviewedBy      *string
	ReviewedAt      *time.Time
	RejectionReason *string
	CreatedAt       time.Time
}

// Source is who asked (§8.1): llm, admin, policy or system.
func (r Request) Source() string {
	switch {
	case strings.HasPrefix(r.RequestedBy, "llm:"):
		return "llm"
	case strings.HasPrefix(r.RequestedBy, "admin:"), strings.HasPrefix(r.RequestedBy, "import:"):
		return "admin"
	case r.RequestedBy == actorPolicy:
		return actorPolicy
	}
	return actorSystem
}

// subject is the request's target as messages name it.
func (r Request) subject() string {
	if r.Kind == KindPackage {
		return r.Package
	}
	return Target{Host: r.Host, Port: r.Port}.String()
}

// RequestFilter narrows ListRequests: Status pending (the default when
// empty), approved, rejected or all; the ids and Q are optional.
type RequestFilter struct {
	Status   string
	ServerID *uuid.UUID
	ToolID   *uuid.UUID
	Q        string
}

// RequestPage is one page of ListRequests, newest first.
type RequestPage struct {
	Items      []Request
	NextCursor string
}

// CreateNetwork is an admin grant (§6.2): an approved request of the
// server for host (and port, nil for any), tool_id NULL. A target the
// server already covers is an *AlreadyCoveredError.
func (s *Service) CreateNetwork(ctx context.Context, a Audit, serverID uuid.UUID, host string, port *int, justification string) (Request, error) {
	t, err := ParseTarget(host, port)
	if err != nil {
		return Request{}, err
	}
	if err := checkText("justification", justification); err != nil {
		return Request{}, err
	}
	var id uuid.UUID
	err = s.inTx(ctx, func(q *dbq.Queries) error {
		srv, err := q.GetToolServer(ctx, serverID)
		if isNotFound(err) {
			return ErrServerNotFound
		} else if err != nil {
			return err
		}
		if err := refuseCoveredHost(ctx, q, serverID, srv.Name, t); err != nil {
			return err
		}
		at := now()
		pending, err := q.FindNetworkRequest(ctx, dbq.FindNetworkRequestParams{ServerID: serverID, Host: t.Host, Port: t.port32(), Status: StatusPending})
		switch {
		case err == nil:
			id = pending.ID
			if justification != "" {
				err = q.SetNetworkRequestJustification(ctx, dbq.SetNetworkRequestJustificationParams{ID: id, Justification: justification})
			}
			if err == nil {
				err = q.SetNetworkRequestStatus(ctx, dbq.SetNetworkRequestStatusParams{ID: id, Status: StatusApproved, ReviewedBy: &a.Actor, ReviewedAt: &at})
			}
		case isNotFound(err):
			id, err = q.InsertNetworkRequest(ctx, dbq.InsertNetworkRequestParams{
				ServerID: serverID, Host: t.Host, Port: t.port32(), Justification: justification,
				Status: StatusApproved, RequestedBy: a.Actor, ReviewedBy: &a.Actor, ReviewedAt: &at,
			})
		}
		if err != nil {
			return err
		}
		return activity.Write(ctx, q, entry(a, "network.create", &serverID, nil,
			fmt.Sprintf("Approved host '%s' for server '%s'.", t, srv.Name),
			map[string]any{"request_id": id, "host": t.Host, "port": t.Port}))
	})
	if err != nil {
		return Request{}, wrap("create network request", err, ErrServerNotFound)
	}
	return s.GetRequest(ctx, KindNetwork, id)
}

// refuseCoveredHost is the already_covered refusal of §6.2.
func refuseCoveredHost(ctx context.Context, q *dbq.Queries, serverID uuid.UUID, server string, t Target) error {
	hosts, err := loadHosts(ctx, q, serverID)
	if err != nil {
		return err
	}
	if hosts.covers(t) {
		return &AlreadyCoveredError{Message: fmt.Sprintf("Host '%s' is already approved for server '%s'; no request needed.", t, server)}
	}
	return nil
}

// rejectedBefore is the already_rejected refusal of §6.2.
func rejectedBefore(subject string, reason *string) error {
	r := ""
	if reason != nil {
		r = *reason
	}
	return &AlreadyRejectedError{Message: fmt.Sprintf(
		"A request for '%s' was already rejected for this tool (reason: %s). An admin must delete the rejected request before it can be requested again.",
		subject, r)}
}

// RequestNetwork is a tool's request for a host (§6.2, §10.2
// mcpbox_request_network_access; EnsureVersionRequests makes the automatic
// ones of a new version the same way): pending with requested_by the
// caller, or approved by 'policy' for a public-looking host under
// network_access_policy allow_all_public.
// A pending request of the tool for the same target only gets the new
// justification. Refusals: *AlreadyCoveredError, *AlreadyRejectedError.
func (s *Service) RequestNetwork(ctx context.Context, a Audit, toolID uuid.UUID, host string, port *int, justification string) (Request, error) {
	t, err := ParseTarget(host, port)
	if err != nil {
		return Request{}, err
	}
	if err := checkText("justification", justification); err != nil {
		return Request{}, err
	}
	pol, _, err := s.policy.Current(ctx)
	if err != nil {
		return Request{}, err
	}
	var id uuid.UUID
	err = s.inTx(ctx, func(q *dbq.Queries) error {
		tool, err := q.GetToolDetail(ctx, toolID)
		if err != nil {
			return err
		}
		r := requester{toolID: toolID, serverID: tool.ServerID, serverName: tool.ServerName, exposed: proto.ExposedName(tool.ServerName, tool.Name)}
		id, err = r.requestHost(ctx, q, a, pol, t, justification)
		return err
	})
	if err != nil {
		return Request{}, wrap("request network access", err, ErrNotFound)
	}
	return s.GetRequest(ctx, KindNetwork, id)
}

// checkPackage refuses a package that is malformed (*proto.RuleError),
// in the default set or already approved (*AlreadyCoveredError) or outside
// the approvable set (*PackageForbiddenError).
func checkPackage(ctx context.Context, q *dbq.Queries, pkg string) error {
	covered := &AlreadyCoveredError{Message: fmt.Sprintf("Package '%s' is already allowed; no request needed.", pkg)}
	switch {
	case proto.IsDefaultPackage(pkg):
		return covered
	case !proto.IsApprovablePackage(pkg):
		return &PackageForbiddenError{Package: pkg}
	}
	if _, err := q.FindApprovedPackageRequest(ctx, pkg); err == nil {
		return covered
	} else if !isNotFound(err) {
		return err
	}
	return nil
}

// CreatePackage is an admin grant of a package (§6.2): approved, global,
// tool_id NULL.
func (s *Service) CreatePackage(ctx context.Context, a Audit, pkg, justification string) (Request, error) {
	if err := checkPackagePath(pkg); err != nil {
		return Request{}, err
	}
	if err := checkText("justification", justification); err != nil {
		return Request{}, err
	}
	var id uuid.UUID
	err := s.inTx(ctx, func(q *dbq.Queries) error {
		if err := checkPackage(ctx, q, pkg); err != nil {
			return err
		}
		at := now()
		pending, err := q.FindPackageRequest(ctx, dbq.FindPackageRequestParams{Package: pkg, Status: StatusPending})
		switch {
		case err == nil:
			id = pending.ID
			if justification != "" {
				err = q.SetPackageRequestJustification(ctx, dbq.SetPackageRequestJustificationParams{ID: id, Justification: justification})
			}
			if err == nil {
				err = q.SetPackageRequestStatus(ctx, dbq.SetPackageRequestStatusParams{ID: id, Status: StatusApproved, ReviewedBy: &a.Actor, ReviewedAt: &at})
			}
		case isNotFound(err):
			id, err = q.InsertPackageRequest(ctx, dbq.InsertPackageRequestParams{
				Package: pkg, Justification: justification, Status: StatusApproved, RequestedBy: a.Actor,
				ReviewedBy: &a.Actor, ReviewedAt: &at,
			})
		}
		if err != nil {
			return err
		}
		return activity.Write(ctx, q, entry(a, "package.create", nil, nil, fmt.Sprintf("Approved package '%s'.", pkg),
			map[string]any{"request_id": id, "package": pkg}))
	})
	if err != nil {
		return Request{}, wrap("create package request", err, ErrRequestNotFound)
	}
	return s.GetRequest(ctx, KindPackage, id)
}

// RequestPackage is a tool's request for a package (§6.2, §10.2
// mcpbox_request_package): pending, or approved by 'policy' under
// package_approval_mode auto_approve. Refusals as CreatePackage, plus
// *AlreadyRejectedError.
func (s *Service) RequestPackage(ctx context.Context, a Audit, toolID uuid.UUID, pkg, justification string) (Request, error) {
	if err := checkPackagePath(pkg); err != nil {
		return Request{}, err
	}
	if err := checkText("justification", justification); err != nil {
		return Request{}, err
	}
	pol, _, err := s.policy.Current(ctx)
	if err != nil {
		return Request{}, err
	}
	var id uuid.UUID
	err = s.inTx(ctx, func(q *dbq.Queries) error {
		tool, err := q.GetToolDetail(ctx, toolID)
		if err != nil {
			return err
		}
		r := requester{toolID: toolID, serverID: tool.ServerID, serverName: tool.ServerName, exposed: proto.ExposedName(tool.ServerName, tool.Name)}
		id, err = r.requestPackage(ctx, q, a, pol, pkg, justification)
		return err
	})
	if err != nil {
		return Request{}, wrap("request package", err, ErrNotFound)
	}
	return s.GetRequest(ctx, KindPackage, id)
}

// GetRequest returns one request, or ErrRequestNotFound.
func (s *Service) GetRequest(ctx context.Context, kind Kind, id uuid.UUID) (Request, error) {
	var out Request
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		var err error
		out, err = getRequest(ctx, q, kind, id)
		return err
	})
	if err != nil {
		return Request{}, wrap("get request "+id.String(), err, ErrRequestNotFound)
	}
	return out, nil
}

func getRequest(ctx context.Context, q *dbq.Queries, kind Kind, id uuid.UUID) (Request, error) {
	if kind == KindPackage {
		r, err := q.GetPackageRequest(ctx, id)
		if err != nil {
			return Request{}, err
		}
		return fromPackageRow(dbq.ListPackageRequestsRow(r)), nil
	}
	r, err := q.GetNetworkRequest(ctx, id)
	if err != nil {
		return Request{}, err
	}
	return fromNetworkRow(dbq.ListNetworkRequestsRow(r)), nil
}

func fromNetworkRow(r dbq.ListNetworkRequestsRow) Request {
	out := Request{
		Kind: KindNetwork, ID: r.ID, ServerID: &r.ServerID, ServerName: &r.ServerName, ToolID: r.ToolID, ToolName: r.ToolName,
		Host: r.Host, Justification: r.Justification, Status: r.Status, RequestedBy: r.RequestedBy,
		ReviewedBy: r.ReviewedBy, ReviewedAt: r.ReviewedAt, RejectionReason: r.RejectionReason, CreatedAt: r.CreatedAt,
	}
	if r.Port != nil {
		out.Port = ptr(int(*r.Port))
	}
	return out
}

func fromPackageRow(r dbq.ListPackageRequestsRow) Request {
	return Request{
		Kind: KindPackage, ID: r.ID, ServerID: r.ServerID, ServerName: r.ServerName, ToolID: r.ToolID, ToolName: r.ToolName,
		Package: r.Package, Justification: r.Justification, Status: r.Status, RequestedBy: r.RequestedBy,
		ReviewedBy: r.ReviewedBy, ReviewedAt: r.ReviewedAt, RejectionReason: r.RejectionReason, CreatedAt: r.CreatedAt,
	}
}

// ValidateRequestFilter checks a ListRequests filter's status.
func ValidateRequestFilter(f RequestFilter) error {
	switch f.Status {
	case "", StatusPending, StatusApproved, StatusRejected, "all":
		return nil
	}
	return &proto.RuleError{Field: "status", Message: "must be pending, approved, rejected or all (absent: pending)."}
}

// ListRequests returns requests of a kind matching f, newest first, limit
// of them after cursor.
func (s *Service) ListRequests(ctx context.Context, kind Kind, f RequestFilter, limit int, cursor string) (RequestPage, error) {
	if err := ValidateRequestFilter(f); err != nil {
		return RequestPage{}, err
	}
	if err := page.CheckLimit(limit); err != nil {
		return RequestPage{}, err
	}
	status := f.Status
	if status == "" {
		status = StatusPending
	}
	idText := func(id *uuid.UUID) string {
		if id == nil {
			return ""
		}
		return id.String()
	}
	filter := page.Filter(string(kind)+"_requests", status, idText(f.ServerID), idText(f.ToolID), f.Q)
	var statusArg, qArg *string
	if status != "all" {
		statusArg = &status
	}
	if f.Q != "" {
		qArg = &f.Q
	}
	var before *time.Time
	var beforeID *uuid.UUID
	if cursor != "" {
		var at time.Time
		var id uuid.UUID
		if err := page.Decode(cursor, filter, &at, &id); err != nil {
			return RequestPage{}, err
		}
		before, beforeID = &at, &id
	}
	var out RequestPage
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		if kind == KindPackage {
			rows, err := q.ListPackageRequests(ctx, dbq.ListPackageRequestsParams{
				Status: statusArg, ServerID: f.ServerID, ToolID: f.ToolID, Q: qArg, BeforeCreatedAt: before, BeforeID: beforeID,
				RowLimit: int32(limit) + 1, //nolint:gosec // G115: limit is 1–200 (page.CheckLimit)
			})
			if err != nil {
				return err
			}
			rows, out.NextCursor = page.Cut(rows, limit, filter, func(r dbq.ListPackageRequestsRow) []any { return []any{r.CreatedAt, r.ID} })
			out.Items = make([]Request, len(rows))
			for i, r := range rows {
				out.Items[i] = fromPackageRow(r)
			}
			return nil
		}
		rows, err := q.ListNetworkRequests(ctx, dbq.ListNetworkRequestsParams{
			Status: statusArg, ServerID: f.ServerID, ToolID: f.ToolID, Q: qArg, BeforeCreatedAt: before, BeforeID: beforeID,
			RowLimit: int32(limit) + 1, //nolint:gosec // G115: limit is 1–200 (page.CheckLimit)
		})
		if err != nil {
			return err
		}
		rows, out.NextCursor = page.Cut(rows, limit, filter, func(r dbq.ListNetworkRequestsRow) []any { return []any{r.CreatedAt, r.ID} })
		out.Items = make([]Request, len(rows))
		for i, r := range rows {
			out.Items[i] = fromNetworkRow(r)
		}
		return nil
	})
	if err != nil {
		return RequestPage{}, wrap("list requests", err, ErrRequestNotFound)
	}
	return out, nil
}

// lockedRequest is a request locked for a state change.
type lockedRequest struct {
	Request
}

func lockRequest(ctx context.Context, q *dbq.Queries, kind Kind, id uuid.UUID) (lockedRequest, error) {
	var err error
	if kind == KindPackage {
		_, err = q.GetPackageRequestForUpdate(ctx, id)
	} else {
		_, err = q.GetNetworkRequestForUpdate(ctx, id)
	}
	if err != nil {
		return lockedRequest{}, err
	}
	r, err := getRequest(ctx, q, kind, id)
	return lockedRequest{r}, err
}

// setStatus writes a request's state.
func setStatus(ctx context.Context, q *dbq.Queries, r lockedRequest, status string, by *string, reason *string) error {
	var at *time.Time
	if by != nil {
		at = ptr(now())
	}
	if r.Kind == KindPackage {
		return q.SetPackageRequestStatus(ctx, dbq.SetPackageRequestStatusParams{
			ID: r.ID, Status: status, ReviewedBy: by, ReviewedAt: at, RejectionReason: reason,
		})
	}
	return q.SetNetworkRequestStatus(ctx, dbq.SetNetworkRequestStatusParams{
		ID: r.ID, Status: status, ReviewedBy: by, ReviewedAt: at, RejectionReason: reason,
	})
}

func (r lockedRequest) wrongState(op, need string) error {
	return &InvalidStateError{Message: fmt.Sprintf("The %s request for '%s' is %s; %s needs %s.", r.Kind, r.subject(), r.Status, op, need)}
}

// requestEntry is the audit row of a request decision.
func requestEntry(a Audit, r lockedRequest, verb, msg string, details map[string]any) activity.Entry {
	details["request_id"] = r.ID
	if r.Kind == KindPackage {
		details["package"] = r.Package
	} else {
		details["host"], details["port"] = r.Host, r.Port
	}
	return entry(a, string(r.Kind)+"."+verb, r.ServerID, r.ToolID, msg, details)
}

// ApproveRequest approves a pending request (§6.2).
func (s *Service) ApproveRequest(ctx context.Context, a Audit, kind Kind, id uuid.UUID) (Request, error) {
	err := s.inTx(ctx, func(q *dbq.Queries) error { return approveRequest(ctx, q, a, kind, id) })
	if err != nil {
		return Request{}, wrap("approve request "+id.String(), err, ErrRequestNotFound)
	}
	s.CountDecision(string(kind), DecisionApproved)
	return s.GetRequest(ctx, kind, id)
}

func approveRequest(ctx context.Context, q *dbq.Queries, a Audit, kind Kind, id uuid.UUID) error {
	r, err := lockRequest(ctx, q, kind, id)
	if err != nil {
		return err
	}
	if r.Status != StatusPending {
		return r.wrongState("approve", "pending")
	}
	if kind == KindPackage {
		if err := checkPackage(ctx, q, r.Package); err != nil {
			return err
		}
	} else {
		exact, err := q.FindApprovedNetworkRequest(ctx, dbq.FindApprovedNetworkRequestParams{ServerID: *r.ServerID, Host: r.Host, Port: Target{Host: r.Host, Port: r.Port}.port32()})
		if err == nil && exact.ID != r.ID {
			return &AlreadyCoveredError{Message: fmt.Sprintf("Host '%s' is already approved for server '%s'; no request needed.", r.subject(), *r.ServerName)}
		} else if err != nil && !isNotFound(err) {
			return err
		}
	}
	if err := setStatus(ctx, q, r, StatusApproved, &a.Actor, nil); err != nil {
		return err
	}
	return activity.Write(ctx, q, requestEntry(a, r, "approve", fmt.Sprintf("Approved the %s request for '%s'.", kind, r.subject()), map[string]any{}))
}

// RejectRequest rejects a pending request with a reason (§6.2).
func (s *Service) RejectRequest(ctx context.Context, a Audit, kind Kind, id uuid.UUID, reason string) (Request, error) {
	if err := checkReason(reason); err != nil {
		return Request{}, err
	}
	err := s.inTx(ctx, func(q *dbq.Queries) error { return rejectRequest(ctx, q, a, kind, id, reason) })
	if err != nil {
		return Request{}, wrap("reject request "+id.String(), err, ErrRequestNotFound)
	}
	s.CountDecision(string(kind), DecisionRejected)
	return s.GetRequest(ctx, kind, id)
}

func rejectRequest(ctx context.Context, q *dbq.Queries, a Audit, kind Kind, id uuid.UUID, reason string) error {
	r, err := lockRequest(ctx, q, kind, id)
	if err != nil {
		return err
	}
	if r.Status != StatusPending {
		return r.wrongState("reject", "pending")
	}
	if err := setStatus(ctx, q, r, StatusRejected, &a.Actor, &reason); err != nil {
		return err
	}
	return activity.Write(ctx, q, requestEntry(a, r, "reject",
		fmt.Sprintf("Rejected the %s request for '%s': %s", kind, r.subject(), reason), map[string]any{"reason": reason}))
}

// RevokeRequest moves an approved request back to pending (§6.2) and, in
// the same transaction, revokes every tool approval it no longer covers
// (§6.3); it returns the request and those tools.
func (s *Service) RevokeRequest(ctx context.Context, a Audit, kind Kind, id uuid.UUID) (Request, []RevokedTool, error) {
	var revoked []RevokedTool
	err := s.inTx(ctx, func(q *dbq.Queries) error {
		r, err := lockRequest(ctx, q, kind, id)
		if err != nil {
			return err
		}
		if r.Status != StatusApproved {
			return r.wrongState("revoke", "approved")
		}
		if err := setStatus(ctx, q, r, StatusPending, nil, nil); err != nil {
			return err
		}
		if kind == KindPackage {
			revoked, err = revokeUncovered(ctx, q, a, nil, &r.Package)
		} else {
			revoked, err = revokeUncovered(ctx, q, a, r.ServerID, nil)
		}
		if err != nil {
			return err
		}
		names := make([]string, len(revoked))
		for i, t := range revoked {
			names[i] = t.ExposedName
		}
		msg := fmt.Sprintf("Revoked the %s approval of '%s'.", kind, r.subject())
		if len(names) > 0 {
			msg = fmt.Sprintf("Revoked the %s approval of '%s'; revoked tools: %s.", kind, r.subject(), strings.Join(names, ", "))
		}
		return activity.Write(ctx, q, requestEntry(a, r, "revoke", msg, map[string]any{"revoked_tools": names}))
	})
	if err != nil {
		return Request{}, nil, wrap("revoke request "+id.String(), err, ErrRequestNotFound)
	}
	s.CountDecision(string(kind), DecisionRevoked)
	out, err := s.GetRequest(ctx, kind, id)
	return out, revoked, err
}

// DeleteRequest deletes a pending or rejected request (§6.2); an approved
// one is an *InvalidStateError.
func (s *Service) DeleteRequest(ctx context.Context, a Audit, kind Kind, id uuid.UUID) error {
	err := s.inTx(ctx, func(q *dbq.Queries) error {
		r, err := lockRequest(ctx, q, kind, id)
		if err != nil {
			return err
		}
		if r.Status == StatusApproved {
			return &InvalidStateError{Message: "Revoke the approved request first, then delete it."}
		}
		if kind == KindPackage {
			err = q.DeletePackageRequest(ctx, id)
		} else {
			err = q.DeleteNetworkRequest(ctx, id)
		}
		if err != nil {
			return err
		}
		return activity.Write(ctx, q, requestEntry(a, r, "delete",
			fmt.Sprintf("Deleted the %s %s request for '%s'.", r.Status, kind, r.subject()), map[string]any{"status": r.Status}))
	})
	return wrap("delete request "+id.String(), err, ErrRequestNotFound)
}
