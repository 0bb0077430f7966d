package ui

import "net/http"

// badge is GET /ui/badge: the approvals badge, re-fetched by htmx on the
// approvals event and the offline tick; without htmx, a page saying the
// same (U7).
func (h *handler) badge(w http.ResponseWriter, r *http.Request, st *state) error {
	return h.render(w, r, st, page{Name: "badge", Title: "Pending approvals", Nav: navApprovals, Fragment: "approvals-badge"})
}
