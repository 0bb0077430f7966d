package ui

import "html/template"

// Dashboard (admin-ui.md §11.1): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.

func (h *handler) dashboardRoutes() []Route {
	return []Route{
		h.notBuiltRoute("/{$}", "Dashboard", navDashboard),
	}
}

// dashboardFuncs are the area's template functions (merged into every page's set).
func dashboardFuncs() template.FuncMap { return nil }
