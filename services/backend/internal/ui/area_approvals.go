package ui

import (
	"html/template"
	"net/http"
	"strings"
)

// Approvals queue (admin-ui.md §11.7): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.
//
// The page is GET /approvals?kind=tools|packages|network|sources&status=pending|approved|rejected|all&q=&cursor=
// (approvals_page.go); every decision is a POST under /approvals/<kind>/{id}/ naming the action
// (approvals_actions.go), answering the updated card for htmx and 303 back to the list otherwise.
// Decisions in bulk (packages and network) are POST /approvals/bulk.
//
// Decisions of the area, made within app.js as it is (no script of its own):
//   - Dialogs open through app.js's data-confirm: a Reject button is a small
//     GET form carrying data-confirm="<dialog id>"; the dialog holds the real
//     reject form (hx-post, novalidate, target itself), so an empty reason is
//     stopped by app.js with the server's message and a blank one comes back
//     as a 422 form inside the still-open dialog. Revoke uses a destructive
//     confirm dialog the same way.
//   - Bulk decisions (pending packages and network requests): "Approve
//     several…" and "Reject several…" open dialogs listing every request of
//     the page with a ticked checkbox (select all on this page by default;
//     untick to leave one out); the reject dialog has the one reason.
//   - Live refresh: the kind links and the results re-fetch the page's own
//     URL on mcpbox:approvals (delay:300ms, so the last event always
//     refetches) and hx-select their part. Dialogs carry hx-preserve with ids
//     keyed by the item (and version), so an open dialog and its text survive
//     a refresh; htmx keeps focus on a control whose id survives. Holding a
//     whole card while focus is inside needs an app.js hook (not built).
//   - Approve posts version and hash (U8); a 409 answers the new card with
//     "A newer version was submitted while you were reviewing." and the diff
//     against the last approved version.
//   - Diagnostics: versions keep none (code with errors is never stored), so
//     the card says so rather than running an analysis per card.

func (h *handler) approvalsRoutes() []Route {
	post := func(pattern string, fn handlerFunc, twins ...string) Route {
		return Route{Method: http.MethodPost, Pattern: pattern, Access: Session, Twins: twins, h: fn}
	}
	return []Route{
		{Method: http.MethodGet, Pattern: "/approvals", Access: Session, h: h.approvalsPage},
		post("/approvals/tools/{id}/approve", h.approvalsToolApprove, "POST /api/v1/tools/{id}/approve"),
		post("/approvals/tools/{id}/reject", h.approvalsToolReject, "POST /api/v1/tools/{id}/reject"),
		post("/approvals/tools/{id}/revoke", h.approvalsToolRevoke, "POST /api/v1/tools/{id}/revoke"),
		post("/approvals/network/{id}/approve", h.approvalsRequestDecide(kindNetwork, actApprove), "POST /api/v1/network-requests/{id}/approve"),
		post("/approvals/network/{id}/reject", h.approvalsRequestDecide(kindNetwork, actReject), "POST /api/v1/network-requests/{id}/reject"),
		post("/approvals/network/{id}/revoke", h.approvalsRequestDecide(kindNetwork, actRevoke), "POST /api/v1/network-requests/{id}/revoke"),
		post("/approvals/packages/{id}/approve", h.approvalsRequestDecide(kindPackages, actApprove), "POST /api/v1/package-requests/{id}/approve"),
		post("/approvals/packages/{id}/reject", h.approvalsRequestDecide(kindPackages, actReject), "POST /api/v1/package-requests/{id}/reject"),
		post("/approvals/packages/{id}/revoke", h.approvalsRequestDecide(kindPackages, actRevoke), "POST /api/v1/package-requests/{id}/revoke"),
		post("/approvals/sources/{id}/approve", h.approvalsSourceDecide(actApprove), "POST /api/v1/external-sources/{id}/approve"),
		post("/approvals/sources/{id}/reject", h.approvalsSourceDecide(actReject), "POST /api/v1/external-sources/{id}/reject"),
		post("/approvals/bulk", h.approvalsBulk, "POST /api/v1/approvals/bulk"),
	}
}

// approvalsFuncs are the area's template functions (merged into every page's set).
func approvalsFuncs() template.FuncMap {
	return template.FuncMap{
		"approvalsJoin": func(s []string) string { return strings.Join(s, ", ") },
		"approvalsRevoke": func(domID, action, csrf, back, title, effect string) approvalsRevokeDialog {
			return approvalsRevokeDialog{DOMID: domID, Action: action, CSRF: csrf, Back: back, Title: title, Effect: effect}
		},
		"approvalsBulkItems": func(b *approvalsBulkDialogs, prefix string) approvalsBulkItemsView {
			return approvalsBulkItemsView{Bulk: b, Prefix: prefix + "-" + b.Key}
		},
		"approvalsReasonMessage": func() string { return msgReasonNeeded },
	}
}

// approvalsRevokeDialog is a Revoke control and its confirmation dialog.
type approvalsRevokeDialog struct {
	DOMID, Action, CSRF, Back, Title, Effect string
}

// approvalsBulkItemsView is the checkbox list of one bulk dialog.
type approvalsBulkItemsView struct {
	Bulk   *approvalsBulkDialogs
	Prefix string
}
