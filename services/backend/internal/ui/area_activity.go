package ui

import "html/template"

// Activity (admin-ui.md §11.8): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.

func (h *handler) activityRoutes() []Route {
	return []Route{
		h.notBuiltRoute("/activity", "Activity", navActivity),
	}
}

// activityFuncs are the area's template functions (merged into every page's set).
func activityFuncs() template.FuncMap { return nil }
