package ui

import "html/template"

// Servers list and server detail (admin-ui.md §11.2, §11.3, §11.5): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.

func (h *handler) serversRoutes() []Route {
	return []Route{
		h.notBuiltRoute("/servers", "Servers", navServers),
		h.notBuiltRoute("/servers/{id}", "Server", navServers),
		h.notBuiltRoute("/oauth/callback", "Authentication of an external source", ""),
	}
}

// serversFuncs are the area's template functions (merged into every page's set).
func serversFuncs() template.FuncMap { return nil }
