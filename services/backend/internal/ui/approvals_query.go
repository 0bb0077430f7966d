package ui

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// The approval kinds (admin-ui.md §11.7), as the kind parameter names them.
const (
	kindTools    = "tools"
	kindPackages = "packages"
	kindNetwork  = "network"
	kindSources  = "sources"
)

// The status filter of the queue.
const (
	statusPending  = "pending"
	statusApproved = "approved"
	statusRejected = "rejected"
	statusAll      = "all"
)

// Decisions.
const (
	actApprove = "approve"
	actReject  = "reject"
	actRevoke  = "revoke"
)

// approvalsPageSize is the cursor page of the queue (admin-ui.md §11.7).
const approvalsPageSize = 50

// Bounds of the query parameters: longer values are cut (q) or dropped
// (cursor), never an error page.
const (
	maxApprovalsQ      = 200
	maxApprovalsCursor = 1024
)

// approvalsQuery is the state of the queue in the URL (U6).
type approvalsQuery struct {
	Kind, Status, Q, Cursor string
}

// parseApprovalsQuery reads the queue's URL parameters; unknown kinds and
// statuses fall back to the defaults (tools, pending).
func parseApprovalsQuery(v url.Values) approvalsQuery {
	q := approvalsQuery{Kind: kindTools, Status: statusPending}
	switch k := v.Get("kind"); k {
	case kindTools, kindPackages, kindNetwork, kindSources:
		q.Kind = k
	}
	switch s := v.Get("status"); s {
	case statusPending, statusApproved, statusRejected, statusAll:
		q.Status = s
	}
	q.Q = strings.TrimSpace(strings.ToValidUTF8(v.Get("q"), ""))
	if utf8.RuneCountInString(q.Q) > maxApprovalsQ {
		q.Q = strings.TrimSpace(string([]rune(q.Q)[:maxApprovalsQ]))
	}
	if c := v.Get("cursor"); len(c) <= maxApprovalsCursor {
		q.Cursor = c
	}
	return q
}

// values is the query as URL parameters (defaults and empty values left
// out, so links stay short).
func (q approvalsQuery) values() url.Values {
	v := url.Values{}
	v.Set("kind", q.Kind)
	if q.Status != statusPending {
		v.Set("status", q.Status)
	}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	return v
}

// Href is the queue's URL for this query.
func (q approvalsQuery) Href() string { return "/approvals?" + q.values().Encode() }

// withKind is the query of another kind: same status, first page, no search.
func (q approvalsQuery) withKind(kind string) approvalsQuery {
	return approvalsQuery{Kind: kind, Status: q.Status}
}

// withCursor is another page of the same list.
func (q approvalsQuery) withCursor(c string) approvalsQuery {
	q.Cursor = c
	return q
}

// backTo reads the "back" field of a decision form: a link to the queue,
// else the queue's first page.
func backTo(raw string) string {
	next := safeNext(raw)
	if !strings.HasPrefix(next, "/approvals") {
		return "/approvals"
	}
	return next
}
