package manage

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// pendingItem is an item of mcpbox_list_pending_requests: a tool waiting
// for review, a pending network or package request, or an external source
// waiting for review.
type pendingItem struct {
	Kind          string     `json:"kind"`
	ID            uuid.UUID  `json:"id"`
	ToolID        *uuid.UUID `json:"tool_id"`
	ExposedName   *string    `json:"exposed_name"`
	ServerName    *string    `json:"server_name"`
	Detail        string     `json:"detail"`
	Justification string     `json:"justification"`
	RequestedAt   time.Time  `json:"requested_at"`
}

// pendingFilter names the list in its cursors.
const pendingFilter = "manage_pending_requests"

// newer orders pending items newest first; ties by kind, then id.
func newer(a, b pendingItem) int {
	if c := b.RequestedAt.Compare(a.RequestedAt); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return cmp.Compare(a.ID.String(), b.ID.String())
}

func pendingKeys(it pendingItem) []any { return []any{it.RequestedAt, it.Kind, it.ID} }

// pendingItems reads every tool in pending_review, every pending network
// and package request and every external source in pending_review.
func (s *Service) pendingItems(ctx context.Context) ([]pendingItem, error) {
	var out []pendingItem
	cursor := ""
	for {
		p, err := s.d.Approvals.ListTools(ctx, string(proto.ReviewPendingReview), "", proto.MaxListLimit, cursor)
		if err != nil {
			return nil, err
		}
		for _, id := range p.IDs {
			t, err := s.d.Tools.Get(ctx, id)
			if err != nil {
				return nil, err
			}
			it := pendingItem{
				Kind: approvals.ItemTool, ID: t.ID, ToolID: &t.ID, ExposedName: ptrTo(t.ExposedName()),
				ServerName: ptrTo(t.ServerName), Detail: "version " + strconv.Itoa(t.LatestVersion), RequestedAt: t.UpdatedAt,
			}
			if t.PublishNotes != nil {
				it.Justification = *t.PublishNotes
			}
			if t.ReviewRequestedAt != nil {
				it.RequestedAt = *t.ReviewRequestedAt
			}
			out = append(out, it)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	for _, kind := range []approvals.Kind{approvals.KindNetwork, approvals.KindPackage} {
		reqs, err := s.allRequests(ctx, kind, approvals.RequestFilter{Status: approvals.StatusPending})
		if err != nil {
			return nil, err
		}
		for _, r := range reqs {
			it := pendingItem{
				Kind: string(kind), ID: r.ID, ToolID: r.ToolID, ServerName: r.ServerName,
				Justification: r.Justification, RequestedAt: r.CreatedAt,
			}
			if r.ServerName != nil && r.ToolName != nil {
				it.ExposedName = ptrTo(proto.ExposedName(*r.ServerName, *r.ToolName))
			}
			if kind == approvals.KindPackage {
				it.Detail = r.Package
			} else {
				it.Detail = approvals.Target{Host: r.Host, Port: r.Port}.String()
			}
			out = append(out, it)
		}
	}
	srcs, err := s.pendingSources(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out, srcs...)
	slices.SortFunc(out, newer)
	return out, nil
}

func (s *Service) listPendingRequests(ctx context.Context, c *call) (any, error) {
	limit, cursor, err := c.args.page()
	if err != nil {
		return nil, err
	}
	var after *pendingItem
	if cursor != "" {
		var it pendingItem
		if err := page.Decode(cursor, pendingFilter, &it.RequestedAt, &it.Kind, &it.ID); err != nil {
			return nil, err
		}
		after = &it
	}
	sum, err := s.d.Approvals.Summary(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.pendingItems(ctx)
	if err != nil {
		return nil, err
	}
	if after != nil {
		all = slices.DeleteFunc(all, func(it pendingItem) bool { return newer(it, *after) <= 0 })
	}
	if len(all) > limit+1 {
		all = all[:limit+1]
	}
	items, next := page.Cut(all, limit, pendingFilter, pendingKeys)
	if items == nil {
		items = []pendingItem{}
	}
	hint := "Nothing waits for review."
	if len(items) > 0 {
		hint = "An admin reviews these in the MCPbox UI; check a tool with mcpbox_get_tool_status."
	}
	type counts struct {
		Tools    int64 `json:"tools"`
		Network  int64 `json:"network"`
		Packages int64 `json:"packages"`
		Sources  int64 `json:"sources"`
	}
	return struct {
		Counts     counts        `json:"counts"`
		Items      []pendingItem `json:"items"`
		NextCursor string        `json:"next_cursor,omitempty"`
		NextSteps  string        `json:"next_steps"`
	}{
		Counts: counts{
			Tools: sum.PendingTools, Network: sum.PendingNetwork, Packages: sum.PendingPackages, Sources: sum.PendingSources,
		},
		Items: items, NextCursor: next, NextSteps: hint,
	}, nil
}

func ptrTo[T any](v T) *T { return &v }
