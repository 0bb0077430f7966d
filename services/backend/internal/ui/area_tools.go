package ui

import (
	"html/template"
	"net/http"
)

// Tool detail and the schema-driven test form (admin-ui.md §11.4, §11.6): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.
//
// Decisions (see also tools_page.go):
//   - Sections are links (?tab=), the version shown in Code, Manifest and
//     Test is ?v=, compared versions ?from=&to=, log filters and cursors
//     are query parameters: every view is a URL (U6).
//   - Enable/disable, delete and rollback are plain form posts answered
//     with 303 (htmx is not needed for them); the test form posts with
//     htmx and gets the test section back (422 with field errors).
//   - "Edit as JSON" and "Edit as fields" are buttons of the test form
//     (action=json|fields): the server assembles or splits the object and
//     re-renders the form, nothing runs, so no app.js change is needed.
//   - On the newest log page a marker row re-fetches
//     GET /tools/{id}/logs?after=<newest id>&<filters> on mcpbox:activity
//     and is replaced by the new rows and a fresh marker, so rows already
//     shown (and expanded) stay as they are.
//   - A log row expands through GET /tools/{id}/logs?exec=<execution>
//     (&expanded=false collapses), which answers the row for htmx and the
//     tool page with that execution open otherwise (U7).
//   - Copy code puts the source in the button's data-copy attribute (the
//     app.js clipboard hook). HTML normalises CR and CRLF to LF in
//     attribute values, so a source with CR characters copies with LF.
//   - The Code section shows no analyzer diagnostics: a version stores
//     none (code with errors is never saved, warnings are not kept), and
//     the page does not re-run the analysis on every view.
//   - Log pages go Older with the service's cursor; Newer pops the chain
//     of earlier cursors carried in ?back= (at most toolsBackMax of them).

func (h *handler) toolsRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Pattern: "/tools/{id}", Access: Session, h: h.toolShow},
		{Method: http.MethodGet, Pattern: "/tools/{id}/logs", Access: Session, h: h.toolLogs},
		{
			Method: http.MethodPost, Pattern: "/tools/{id}/enabled", Access: Session, h: h.toolEnabled,
			Twins: []string{"PATCH /api/v1/tools/{id}"},
		},
		{
			Method: http.MethodPost, Pattern: "/tools/{id}/delete", Access: Session, h: h.toolDelete,
			Twins: []string{"DELETE /api/v1/tools/{id}"},
		},
		{
			Method: http.MethodPost, Pattern: "/tools/{id}/versions/{n}/rollback", Access: Session, h: h.toolRollback,
			Twins: []string{"POST /api/v1/tools/{id}/rollback"},
		},
		{
			Method: http.MethodPost, Pattern: "/tools/{id}/test", Access: Session, h: h.toolTest,
			Twins: []string{"POST /api/v1/tools/{id}/test"},
		},
	}
}

// toolsFuncs are the area's template functions (merged into every page's set).
func toolsFuncs() template.FuncMap {
	return template.FuncMap{
		"toolsStatus":   toolsStatusLabel,
		"toolsShort":    toolsShortHash,
		"toolsAuthor":   toolsAuthor,
		"toolsDuration": toolsDuration,
	}
}
