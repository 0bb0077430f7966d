package ui

import "html/template"

// Tool detail and the schema-driven test form (admin-ui.md §11.4, §11.6): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.

func (h *handler) toolsRoutes() []Route {
	return []Route{
		h.notBuiltRoute("/tools/{id}", "Tool", navServers),
	}
}

// toolsFuncs are the area's template functions (merged into every page's set).
func toolsFuncs() template.FuncMap { return nil }
