package ui

import "html/template"

// Settings, backup and remote access (admin-ui.md §11.9–§11.11): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.

func (h *handler) settingsRoutes() []Route {
	return []Route{
		h.notBuiltRoute("/settings", "Settings", navSettings),
		h.notBuiltRoute("/remote-access", "Remote access", navRemote),
	}
}

// settingsFuncs are the area's template functions (merged into every page's set).
func settingsFuncs() template.FuncMap { return nil }
