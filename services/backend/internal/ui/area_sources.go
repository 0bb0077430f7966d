package ui

import (
	"net/http"

	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
)

// External sources of a server and their OAuth sign-in (admin-ui.md
// §11.3 External sources, §11.5): the routes of the server page's Sources
// section, each mutation with its /api/v1 twins, and the OAuth callback.
// They belong to the servers area (serversRoutes appends them).
//
// Decisions of the section (see also sources_section.go):
//   - The section is /servers/{id}?tab=sources; its mutations post under
//     /servers/{id}/sources/ and answer as the other sections do (the
//     page's main content with a toast for htmx, else 303 to the section).
//     A source of another server is not found (404).
//   - Discovery and the OAuth start are long actions: their forms carry
//     data-long-action (app.js sends a fresh X-Request-Id, which the main
//     listener keeps as the request id), the handler has the long write
//     deadline and reports the seconds elapsed on the session's streams
//     (operation discover, oauth_start). A discovery's answer is the
//     section with the remote tools to import: a tool whose import name
//     the server already has is unchecked and marked "Name conflict" (one
//     imported before, "Already imported"). The sources service keeps no
//     readable copy of a discovery, so a refused import (nothing chosen)
//     says so above the section rather than listing the tools again.
//   - An import by the admin creates the tools approved (the sources
//     service pins and approves the definitions); the toast counts the
//     tools imported and the discovered ones not imported ("2 tools
//     imported, 1 skipped.").
//   - Delete removes the source with its imported tools (delete_tools=
//     true), which its confirmation lists.
//   - The OAuth start answers the interstitial page (§4, §11.5): the
//     authorization server's host and a plain same-window Continue link to
//     the authorization URL; form-action 'self' forbids redirecting a form
//     post off the site. GET /oauth/callback is the one GET that changes
//     state (U2), bound by its single-use state and the session that
//     started the flow; it calls the service of POST /api/v1/oauth/callback,
//     its declared twin (the one GET route with one). It redirects to the section with signed_in=<source id>,
//     which shows a status notice (a full-page navigation carries no
//     toast); an unknown, used or expired state is the 400 error page and
//     stores nothing.
//   - Rename (a dialog per row) changes the source's name only: the tools
//     imported from it keep theirs. Approve and Reject of a source an LLM
//     added are the approvals queue's (the row links there).
func (h *handler) sourcesRoutes() []Route {
	post := func(pattern string, fn handlerFunc, twins ...string) Route {
		return Route{Method: http.MethodPost, Pattern: pattern, Access: Session, h: fn, Twins: twins}
	}
	return []Route{
		post("/servers/{id}/sources", h.sourceCreate, "POST /api/v1/servers/{id}/external-sources"),
		post("/servers/{id}/sources/{src}/discover", h.sourceDiscover, "POST /api/v1/external-sources/{id}/discover"),
		post("/servers/{id}/sources/{src}/import", h.sourceImport, "POST /api/v1/external-sources/{id}/import"),
		post("/servers/{id}/sources/{src}/rename", h.sourceRename, "PATCH /api/v1/external-sources/{id}"),
		post("/servers/{id}/sources/{src}/delete", h.sourceDelete, "DELETE /api/v1/external-sources/{id}"),
		post("/servers/{id}/sources/{src}/oauth/start", h.sourceOAuthStart, "POST /api/v1/external-sources/{id}/oauth/start"),
		{
			Method: http.MethodGet, Pattern: oauthflow.CallbackPath, Access: Session, h: h.oauthCallback,
			Twins: []string{"POST /api/v1/oauth/callback"},
		},
	}
}
