package ui

import "html/template"

// Approvals queue (admin-ui.md §11.7): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.

func (h *handler) approvalsRoutes() []Route {
	return []Route{
		h.notBuiltRoute("/approvals", "Approvals", navApprovals),
	}
}

// approvalsFuncs are the area's template functions (merged into every page's set).
func approvalsFuncs() template.FuncMap { return nil }
