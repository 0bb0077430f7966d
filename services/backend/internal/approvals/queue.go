package approvals

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// Summary is GET /approvals/summary.
type Summary struct {
	PendingTools, PendingNetwork, PendingPackages, PendingSources int64
	ApprovedLast7d, RejectedLast7d                                int64
}

// Summary counts what waits for review and the decisions of the last 7
// days.
func (s *Service) Summary(ctx context.Context) (Summary, error) {
	r, err := s.store.ApprovalSummary(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("approval summary: %w", err)
	}
	return Summary(r), nil
}

// ToolPage is one page of the tool approval queue: tool ids in order.
type ToolPage struct {
	IDs        []uuid.UUID
	NextCursor string
}

// StatusAll lists tools in every review status.
const StatusAll = "all"

// ListTools is the tool approval queue (GET /approvals/tools): tools in a
// review status (pending_review when empty, or all) whose exposed name or
// server name contains q, sorted by exposed name.
func (s *Service) ListTools(ctx context.Context, status, q string, limit int, cursor string) (ToolPage, error) {
	if status == "" {
		status = string(proto.ReviewPendingReview)
	}
	switch proto.ReviewStatus(status) {
	case proto.ReviewDraft, proto.ReviewPendingReview, proto.ReviewApproved, proto.ReviewRejected, StatusAll:
	default:
		return ToolPage{}, &proto.RuleError{Field: "status", Message: "must be draft, pending_review, approved, rejected or all (absent: pending_review)."}
	}
	if err := page.CheckLimit(limit); err != nil {
		return ToolPage{}, err
	}
	filter := page.Filter("approval_tools", status, q)
	p := dbq.ListApprovalToolsParams{RowLimit: int32(limit) + 1} //nolint:gosec // G115: limit is 1–200 (page.CheckLimit)
	if status != StatusAll {
		p.ReviewStatus = &status
	}
	if q != "" {
		p.Q = &q
	}
	if cursor != "" {
		var server, name string
		var id uuid.UUID
		if err := page.Decode(cursor, filter, &server, &name, &id); err != nil {
			return ToolPage{}, err
		}
		p.AfterServer, p.AfterName, p.AfterID = &server, &name, &id
	}
	rows, err := s.store.ListApprovalTools(ctx, p)
	if err != nil {
		return ToolPage{}, fmt.Errorf("approval queue: %w", err)
	}
	var out ToolPage
	rows, out.NextCursor = page.Cut(rows, limit, filter, func(r dbq.ListApprovalToolsRow) []any { return []any{r.ServerName, r.Name, r.ID} })
	out.IDs = make([]uuid.UUID, len(rows))
	for i, r := range rows {
		out.IDs[i] = r.ID
	}
	return out, nil
}

// Bulk decisions (POST /approvals/bulk).
const (
	ActionApprove = "approve"
	ActionReject  = "reject"
	// MaxBulkItems is the most items one bulk request may hold.
	MaxBulkItems = 100
)

// Item kinds of a bulk decision.
const (
	ItemTool    = "tool"
	ItemNetwork = "network"
	ItemPackage = "package"
	ItemSource  = "source"
)

// BulkItem is one decision of a bulk request; Version and Hash are needed
// to approve a tool, Version to reject one.
type BulkItem struct {
	Kind    string
	ID      uuid.UUID
	Version *int
	Hash    *string
}

// BulkResult is the outcome of one item; Err is nil when it was applied.
type BulkResult struct {
	Kind string
	ID   uuid.UUID
	Err  error
}

// ErrSourcesUnsupported is a bulk item of kind source while no
// SourceDecider is registered (UseSources).
var ErrSourcesUnsupported = errors.New("approvals: source decisions are not served by the approvals service")

// CheckBulk validates a bulk request as a whole: the action, 1–100 items
// and, for reject, a reason of 1–2000 characters.
func CheckBulk(action string, reason *string, items []BulkItem) error {
	switch action {
	case ActionApprove:
		if reason != nil {
			if err := checkText("reason", *reason); err != nil {
				return err
			}
		}
	case ActionReject:
		if reason == nil {
			return &proto.RuleError{Field: "reason", Message: "required to reject: say why, so the requester can fix it."}
		}
		if err := checkReason(*reason); err != nil {
			return err
		}
	default:
		return &proto.RuleError{Field: "action", Message: "must be approve or reject."}
	}
	if len(items) < 1 || len(items) > MaxBulkItems {
		return &proto.RuleError{Field: "items", Message: fmt.Sprintf("must hold 1 to %d items; this request has %d.", MaxBulkItems, len(items))}
	}
	for i, it := range items {
		switch it.Kind {
		case ItemTool, ItemNetwork, ItemPackage, ItemSource:
		default:
			return &proto.RuleError{Field: fmt.Sprintf("items[%d].kind", i), Message: "must be tool, network, package or source."}
		}
	}
	return nil
}

// Bulk applies one decision to every item, each in its own savepoint of
// one transaction: a failed item is undone and reported, the others are
// kept. Item results are in request order.
func (s *Service) Bulk(ctx context.Context, a Audit, action string, reason *string, items []BulkItem) ([]BulkResult, error) {
	if err := CheckBulk(action, reason, items); err != nil {
		return nil, err
	}
	out := make([]BulkResult, len(items))
	err := s.inTx(ctx, func(q *dbq.Queries) error {
		for i, it := range items {
			out[i] = BulkResult{Kind: it.Kind, ID: it.ID}
			if err := q.SavepointBulkItem(ctx); err != nil {
				return err
			}
			err := bulkItem(ctx, q, a, action, reason, it, s.sources)
			if err != nil {
				out[i].Err = err
				if rerr := q.RollbackBulkItem(ctx); rerr != nil {
					return rerr
				}
				continue
			}
			if err := q.ReleaseBulkItem(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bulk %s: %w", action, err)
	}
	decision := DecisionApproved
	if action == ActionReject {
		decision = DecisionRejected
	}
	for _, r := range out {
		if r.Err == nil {
			s.CountDecision(r.Kind, decision)
		}
	}
	return out, nil
}

// bulkItem applies one decision in q's transaction; sources decides the
// items of kind source.
func bulkItem(ctx context.Context, q *dbq.Queries, a Audit, action string, reason *string, it BulkItem, sources SourceDecider) error {
	var err error
	notFound := ErrRequestNotFound
	switch it.Kind {
	case ItemSource:
		if sources == nil {
			return ErrSourcesUnsupported
		}
		why := ""
		if reason != nil {
			why = *reason
		}
		err = sources.DecideSource(ctx, q, a, it.ID, action == ActionApprove, why)
	case ItemTool:
		notFound = ErrNotFound
		if it.Version == nil {
			return &proto.RuleError{Field: "version", Message: "required for a tool: the version you reviewed."}
		}
		if action == ActionApprove {
			if it.Hash == nil {
				return &proto.RuleError{Field: "hash", Message: "required to approve a tool: the hash of the version you reviewed."}
			}
			_, err = approveTool(ctx, q, a, it.ID, *it.Version, *it.Hash)
		} else {
			err = rejectTool(ctx, q, a, it.ID, *it.Version, *reason)
		}
	default:
		kind := KindNetwork
		if it.Kind == ItemPackage {
			kind = KindPackage
		}
		if action == ActionApprove {
			err = approveRequest(ctx, q, a, kind, it.ID)
		} else {
			err = rejectRequest(ctx, q, a, kind, it.ID, *reason)
		}
	}
	return wrap("bulk item "+it.ID.String(), err, notFound)
}
