package ui

import (
	"html/template"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

// Servers list and server detail (admin-ui.md §11.2, §11.3, §11.5): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.
//
// Decisions of this area (see also servers_detail.go):
//   - Each section of /servers/{id} is its own URL (?tab=); every section
//     mutation answers, for htmx, the page's main content (header counts and
//     the section together) with a toast, else 303 to the section.
//   - Form dialogs (Add secret, Set value, Delete server, Add source) are
//     native <dialog>s opened by app.js from a button with
//     data-dialog-open="<dialog id>" (showModal, first field focused, Tab
//     kept inside, Escape, backdrop and [data-dialog-cancel] close it,
//     focus back on the opener); the Delete server dialog's typed name
//     carries data-confirm-match, so its submit stays disabled until the
//     exact name is typed. Confirmations are app.js's data-confirm dialogs,
//     all from the shared "dialog-confirm" template (confirmDialog).
//   - Rule errors of the services become field errors through one helper
//     (formProblems.addRules).
//   - Start is refused (409, shown in the card) while no tool of a stopped
//     server is approved and enabled, as the disabled button says; Delete
//     server is refused (409) while the server runs and (422, field
//     confirm_name) unless the exact name is typed.
//   - External sources and the OAuth callback are in area_sources.go.
func (h *handler) serversRoutes() []Route {
	post := func(pattern string, fn handlerFunc, twins ...string) Route {
		return Route{Method: http.MethodPost, Pattern: pattern, Access: Session, h: fn, Twins: twins}
	}
	rs := []Route{
		{Method: http.MethodGet, Pattern: "/servers", Access: Session, h: h.serversList},
		{Method: http.MethodGet, Pattern: "/servers/{id}", Access: Session, h: h.serverDetailPage},
		post("/servers/{id}/start", h.serverStart, "POST /api/v1/servers/{id}/start"),
		post("/servers/{id}/stop", h.serverStop, "POST /api/v1/servers/{id}/stop"),
		post("/servers/{id}/settings", h.serverSettings, "PATCH /api/v1/servers/{id}"),
		post("/servers/{id}/delete", h.serverDelete, "DELETE /api/v1/servers/{id}"),
		post("/servers/{id}/tools/{tool}/enabled", h.serverToolEnabled, "PATCH /api/v1/tools/{id}"),
		post("/servers/{id}/tools/{tool}/delete", h.serverToolDelete, "DELETE /api/v1/tools/{id}"),
		post("/servers/{id}/secrets", h.serverSecretCreate, "POST /api/v1/servers/{id}/secrets"),
		post("/servers/{id}/secrets/{name}/value", h.serverSecretSet, "PUT /api/v1/servers/{id}/secrets/{name}"),
		post("/servers/{id}/secrets/{name}/clear", h.serverSecretClear, "DELETE /api/v1/servers/{id}/secrets/{name}/value"),
		post("/servers/{id}/secrets/{name}/delete", h.serverSecretDelete, "DELETE /api/v1/servers/{id}/secrets/{name}"),
		post("/servers/{id}/hosts", h.serverHostAdd, "POST /api/v1/servers/{id}/network-requests"),
		post("/servers/{id}/hosts/{req}/remove", h.serverHostRemove,
			"POST /api/v1/network-requests/{id}/revoke", "DELETE /api/v1/network-requests/{id}"),
		post("/servers/{id}/packages/{req}/revoke", h.serverPackageRevoke, "POST /api/v1/package-requests/{id}/revoke"),
	}
	return append(rs, h.sourcesRoutes()...)
}

// serversFuncs are the area's template functions (merged into every page's set).
func serversFuncs() template.FuncMap {
	return template.FuncMap{
		"serversPlural":  serversPlural,
		"serversPattern": regexp.QuoteMeta,
		"serversJoin":    func(s []string) string { return strings.Join(s, ", ") },
		"serversTime": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
		"serversShortValue": func() string { return "Value " + secrets.ShortValueMessage },
	}
}

// serversPlural is "1 tool" or "3 tools".
func serversPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
