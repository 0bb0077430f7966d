package ui

import (
	"html/template"
	"net/http"

	"github.com/mcpbox/mcpbox/services/backend/internal/transfer"
)

// Settings, backup and remote access (admin-ui.md §11.9–§11.11): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions.
//
// Decisions of the area:
//
//   - Mutations post to paths under /settings/ and /remote-access/ (the
//     main listener hands every path it does not route itself to the UI).
//   - Relaxing the security policy (or allowing anyone to connect) is
//     confirmed in the browser through data-confirm-from: each less secure
//     option that is not the saved value carries data-confirm, and the
//     dialog lists, through CSS :has(:checked), exactly the relaxations
//     chosen. The htmx request then carries confirm=1 (hx-vals); a request
//     without it (a plain form post) that relaxes a setting is answered
//     with the confirmation panel listing each relaxation, so the server
//     enforces the confirmation too. Tightening saves directly.
//   - Warnings next to less secure choices are rendered with every option
//     and shown by CSS (input:checked ~ .settings-warning): no script.
//   - The settings revision travels in the forms; a stale save is 409
//     "Settings were changed elsewhere" with Reload, and a `settings`
//     event re-checks the revision (GET /settings/stale) to say so before
//     a save.
//   - The import posts the file (multipart) with mode=dry_run or
//     mode=apply; the dry run's answer fills the Import confirmation and
//     enables Import through out-of-band swaps, so the file stays chosen.
//     Imports never restore approvals (restore_approvals=false). A
//     problem of the file (invalid JSON, signature, format) is the file
//     field's error, swapped out of band with the field (which clears the
//     choice); a sandbox failure is the form's.
//   - Progress: the import form carries data-long-action and
//     data-progress="settings-import-progress", a hidden container with a
//     labelled <progress>, a [data-progress-text] and
//     data-progress-unit="tools". app.js sends each request with a fresh
//     X-Request-Id (the handler's st.reqID), shows the container, keeps the
//     bar indeterminate until a progress event carries that id, then
//     follows done/total ("12 of 40 tools"), and hides it when the request
//     ends. The handler publishes the events for the session, as the API
//     does (activity.Reporter).
func (h *handler) settingsRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Pattern: "/settings", Access: Session, h: h.settingsShow},
		{Method: http.MethodGet, Pattern: "/settings/stale", Access: Session, h: h.settingsStale},
		{
			Method: http.MethodPost, Pattern: "/settings/security", Access: Session, h: h.settingsSecuritySave,
			Twins: []string{"PATCH /api/v1/settings/security-policy"},
		},
		{
			Method: http.MethodPost, Pattern: "/settings/password", Access: Session, h: h.settingsPassword,
			Twins: []string{"POST /api/v1/auth/password"},
		},
		{
			Method: http.MethodPost, Pattern: "/settings/sessions/{id}/end", Access: Session, h: h.settingsEndSession,
			Twins: []string{"DELETE /api/v1/auth/sessions/{id}"},
		},
		{
			Method: http.MethodPost, Pattern: "/settings/sessions/end-all", Access: Session, h: h.settingsEndAll,
			Twins: []string{"POST /api/v1/auth/sessions/revoke-all"},
		},
		{Method: http.MethodGet, Pattern: "/settings/export", Access: Session, h: h.settingsExport},
		{
			Method: http.MethodPost, Pattern: "/settings/import", Access: Session, h: h.settingsImport,
			// The export file (16 MiB at most) plus the multipart framing.
			MaxBody: transfer.MaxDocumentBytes + 1<<20,
			Twins:   []string{"POST /api/v1/import"},
		},
		{Method: http.MethodGet, Pattern: "/remote-access", Access: Session, h: h.remoteShow},
		{
			Method: http.MethodPost, Pattern: "/remote-access/config", Access: Session, h: h.remoteConfigSave,
			Twins: []string{"PATCH /api/v1/settings/remote-access"},
		},
		{
			Method: http.MethodPost, Pattern: "/remote-access/allowlist", Access: Session, h: h.remoteAllowlistSave,
			Twins: []string{"PATCH /api/v1/settings/security-policy"},
		},
		{
			Method: http.MethodPost, Pattern: "/remote-access/self-check", Access: Session, h: h.remoteSelfCheck,
			Twins: []string{"POST /api/v1/settings/remote-access/self-check"},
		},
	}
}

// settingsFuncs are the area's template functions (merged into every page's set).
func settingsFuncs() template.FuncMap {
	return template.FuncMap{"settingsClient": clientLabel, "settingsResult": resultLabel}
}

// resultLabel is a self-check step's result for people.
func resultLabel(r string) string {
	switch r {
	case "pass":
		return "Pass"
	case "warning":
		return "Warning"
	case "fail":
		return "Fail"
	case "skipped":
		return "Skipped"
	}
	return r
}
