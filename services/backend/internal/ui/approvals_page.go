package ui

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// approvalsKindLink is one of the kind links, with its pending count.
type approvalsKindLink struct {
	Key, Label, Href string
	Pending          int64
	Current          bool
}

// approvalsStatusOption is one option of the status filter.
type approvalsStatusOption struct {
	Value, Label string
	Selected     bool
}

// approvalsPageData is the queue page.
type approvalsPageData struct {
	Query    approvalsQuery
	Href     string // this view's URL (re-fetched on the approvals event)
	Kinds    []approvalsKindLink
	Statuses []approvalsStatusOption
	KindName string // "tool" etc., for headings and messages
	// Total is the pending count of this kind (the summary); shown with the
	// pending filter, where it is the size of the list.
	Total    int64
	ShowsAll bool // the status filter is pending, so Total is the list's size
	Count    int  // items on this page

	Tools    []*approvalsToolCard
	Requests []*approvalsRequestCard
	Sources  []*approvalsSourceCard

	NextHref, FirstHref string
	Empty               string // the empty state, when nothing is listed
	ClearHref           string // set under a search
	Problem             string // a bad cursor
	Bulk                *approvalsBulkDialogs
	CatalogueProblem    string // the package catalogue could not be read
}

// approvalsPage is GET /approvals: the queue of one kind (U6: kind,
// status, search and cursor in the URL). An htmx request gets the
// content fragment; the page re-fetches parts of it with hx-select.
func (h *handler) approvalsPage(w http.ResponseWriter, r *http.Request, st *state) error {
	q := parseApprovalsQuery(r.URL.Query())
	data, status, err := h.loadApprovals(r.Context(), st, q)
	if err != nil {
		return err
	}
	return h.render(w, r, st, page{Status: status, Name: "approvals", Title: "Approvals", Nav: navApprovals, Data: data})
}

// kindLabel is a kind's link text and singular name.
func kindLabel(kind string) (label, noun string) {
	switch kind {
	case kindTools:
		return "Tools", "tool"
	case kindPackages:
		return "Packages", "package request"
	case kindNetwork:
		return "Network", "network request"
	case kindSources:
		return "Sources", "source"
	}
	return "", ""
}

func (h *handler) loadApprovals(ctx context.Context, st *state, q approvalsQuery) (*approvalsPageData, int, error) {
	sum, err := h.d.Approvals.Summary(ctx)
	if err != nil {
		return nil, 0, err
	}
	pending := map[string]int64{
		kindTools: sum.PendingTools, kindPackages: sum.PendingPackages, kindNetwork: sum.PendingNetwork, kindSources: sum.PendingSources,
	}
	d := &approvalsPageData{Query: q, Href: q.Href(), Total: pending[q.Kind], ShowsAll: q.Status == statusPending, KindName: kindNoun(q.Kind)}
	for _, k := range []string{kindTools, kindPackages, kindNetwork, kindSources} {
		d.Kinds = append(d.Kinds, approvalsKindLink{
			Key: k, Label: kindName(k), Href: q.withKind(k).Href(), Pending: pending[k], Current: k == q.Kind,
		})
	}
	for _, s := range [][2]string{{statusPending, "Pending"}, {statusApproved, "Approved"}, {statusRejected, "Rejected"}, {statusAll, "All"}} {
		d.Statuses = append(d.Statuses, approvalsStatusOption{Value: s[0], Label: s[1], Selected: s[0] == q.Status})
	}
	var next string
	switch q.Kind {
	case kindTools:
		next, err = h.loadToolCards(ctx, st, q, d)
	case kindPackages, kindNetwork:
		next, err = h.loadRequestCards(ctx, st, q, d)
	default:
		next, err = h.loadSourceCards(ctx, st, q, d)
	}
	status := http.StatusOK
	var rule *proto.RuleError
	if errors.As(err, &rule) {
		// A cursor from another list or a tampered one: say so and link
		// to the first page rather than failing the page.
		d.Problem = "This page of the list is no longer valid (" + rule.Message + ") Start again from the first page."
		d.FirstHref = q.withCursor("").Href()
		return d, http.StatusUnprocessableEntity, nil
	}
	if err != nil {
		return nil, 0, err
	}
	d.Count = len(d.Tools) + len(d.Requests) + len(d.Sources)
	if next != "" {
		d.NextHref = q.withCursor(next).Href()
	}
	if q.Cursor != "" {
		d.FirstHref = q.withCursor("").Href()
	}
	if d.Count == 0 {
		d.Empty = emptyText(q)
		if q.Q != "" {
			d.ClearHref = approvalsQuery{Kind: q.Kind, Status: q.Status}.Href()
		}
	}
	if (q.Kind == kindPackages || q.Kind == kindNetwork) && q.Status == statusPending && len(d.Requests) > 0 {
		d.Bulk = newBulkDialogs(st, q, d.Requests)
	}
	return d, status, nil
}

// emptyText is the empty state of a list (admin-ui.md §11.7).
func emptyText(q approvalsQuery) string {
	if q.Q != "" {
		return "Nothing matches “" + q.Q + "”"
	}
	if q.Status != statusPending {
		return "Nothing in this list"
	}
	switch q.Kind {
	case kindTools:
		return "No tools waiting for review"
	case kindPackages:
		return "No package requests"
	case kindNetwork:
		return "No network requests"
	}
	return "No sources waiting for review"
}

// toolStatus maps the queue's status filter to a review status.
func toolStatus(s string) string {
	switch s {
	case statusPending:
		return string(proto.ReviewPendingReview)
	case statusApproved:
		return string(proto.ReviewApproved)
	case statusRejected:
		return string(proto.ReviewRejected)
	}
	return approvals.StatusAll
}

func (h *handler) loadToolCards(ctx context.Context, st *state, q approvalsQuery, d *approvalsPageData) (string, error) {
	res, err := h.d.Approvals.ListTools(ctx, toolStatus(q.Status), q.Q, approvalsPageSize, q.Cursor)
	if err != nil {
		return "", err
	}
	pol, _, err := h.d.Policy.Get(ctx)
	if err != nil {
		return "", err
	}
	for _, id := range res.IDs {
		t, err := h.d.Tools.Get(ctx, id)
		if errors.Is(err, tools.ErrNotFound) {
			continue // deleted since the page was read
		} else if err != nil {
			return "", err
		}
		c, err := h.toolCard(ctx, st, t, pol.NetworkAccessPolicy == string(proto.NetworkAllowAllPublic), d.Href)
		if err != nil {
			return "", err
		}
		d.Tools = append(d.Tools, c)
	}
	return res.NextCursor, nil
}

// requestKind maps a page kind to the approvals service's.
func requestKind(kind string) approvals.Kind {
	if kind == kindPackages {
		return approvals.KindPackage
	}
	return approvals.KindNetwork
}

func (h *handler) loadRequestCards(ctx context.Context, st *state, q approvalsQuery, d *approvalsPageData) (string, error) {
	kind := requestKind(q.Kind)
	res, err := h.d.Approvals.ListRequests(ctx, kind, approvals.RequestFilter{Status: q.Status, Q: q.Q}, approvalsPageSize, q.Cursor)
	if err != nil {
		return "", err
	}
	cx := newRequestContext(ctx, h)
	if kind == approvals.KindPackage && len(res.Items) > 0 {
		if err := cx.loadCatalogue(); err != nil {
			return "", err
		}
		d.CatalogueProblem = cx.catalogueProblem
	}
	for _, r := range res.Items {
		c, err := cx.card(st, r, d.Href)
		if err != nil {
			return "", err
		}
		d.Requests = append(d.Requests, c)
	}
	return res.NextCursor, nil
}

// sourceStatus maps the queue's status filter to a source status.
func sourceStatus(s string) string {
	switch s {
	case statusPending:
		return string(proto.SourcePendingReview)
	case statusApproved:
		return string(proto.SourceActive)
	case statusRejected:
		return string(proto.SourceDisabled)
	}
	return ""
}

func (h *handler) loadSourceCards(ctx context.Context, st *state, q approvalsQuery, d *approvalsPageData) (string, error) {
	res, err := h.d.Sources.ListAll(ctx, sources.Filter{Status: sourceStatus(q.Status), Q: q.Q}, approvalsPageSize, q.Cursor)
	if err != nil {
		return "", err
	}
	for _, s := range res.Items {
		d.Sources = append(d.Sources, sourceCard(st, s, d.Href))
	}
	return res.NextCursor, nil
}

// idParam reads the {id} of a decision route; a malformed id names nothing.
func idParam(r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	return id, err == nil
}

func kindName(kind string) string { l, _ := kindLabel(kind); return l }

func kindNoun(kind string) string { _, n := kindLabel(kind); return n }
