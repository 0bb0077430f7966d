package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// The Sources section of the server page (admin-ui.md §11.3 External
// sources): its rows, the Add source dialog and a discovery's answer.

// sourceRow is one external source of the section.
type sourceRow struct {
	S sources.Source
	// Auth and Status are the source's auth type and status for people;
	// Tag is the status tag's class suffix (good, warn, or "").
	Auth, Status, Tag string
	// Discover offers Discover tools (a usable source); SignIn names the
	// OAuth action ("Authenticate", "Re-authenticate") or is "".
	Discover bool
	SignIn   string
	// Pending links to the approvals queue (added by an LLM).
	Pending bool
	Confirm confirmDialog
	// Rename is the row's Rename dialog (open with its errors after a
	// refused rename).
	Rename sourceRename
}

// sourceRename is a source's Rename dialog.
type sourceRename struct {
	Name     field
	Problems formProblems
	Open     bool
}

// sourceForm is the Add source dialog.
type sourceForm struct {
	CSRF     string
	ServerID uuid.UUID
	// Auth's value is the chosen auth type (none, bearer, header, oauth).
	Name, URL, Auth, Secret, Header field
	// Secrets are the server's secret names, the choices of Secret.
	Secrets  []string
	Problems formProblems
	Open     bool
}

// sourceDiscovery is the answer of a discovery: the remote tools, to
// choose the ones to import.
type sourceDiscovery struct {
	CSRF   string
	Source sources.Source
	Tools  []discoveredRow
	// Changed are the imported tools the discovery gave a new version.
	Changed []string
}

// discoveredRow is one remote tool of a discovery.
type discoveredRow struct {
	T       sources.DiscoveredTool
	Key     string // its index: the id-safe suffix of its controls
	Exposed string // the exposed name an import gives it
	Schema  string // its input schema, indented
	Checked bool
	// Mark says why it is unchecked: "Name conflict" or "Already imported".
	Mark string
}

// Labels of the auth types and statuses (§11.3).
var (
	sourceAuthLabels = map[proto.SourceAuthType]string{ //nolint:gochecknoglobals // read-only table
		proto.AuthNone: "None", proto.AuthBearer: "Bearer secret", proto.AuthHeader: "Custom header secret", proto.AuthOAuth: "OAuth 2.1",
	}
	sourceStatusLabels = map[proto.SourceStatus]string{ //nolint:gochecknoglobals // read-only table
		proto.SourcePendingReview: "Pending review", proto.SourceActive: "Active", proto.SourceError: "Error",
		proto.SourceDisabled: "Disabled",
	}
)

// newSourceForm is the empty Add source dialog (auth none).
func newSourceForm(st *state, id uuid.UUID, secretNames []string) sourceForm {
	return sourceForm{CSRF: st.csrf, ServerID: id, Auth: field{Value: string(proto.AuthNone)}, Secrets: secretNames}
}

// sourcesSection reads the section's data into d: a page of the server's
// sources (after cursor), the names of its secrets for the Add source
// dialog and, with ?signed_in=<source id>, the notice of a completed OAuth
// sign-in. all are the server's tools (the imported ones each source's
// Delete confirmation lists). It returns the next page's cursor.
func (h *handler) sourcesSection(r *http.Request, st *state, d *serverDetail, all []tools.Tool, cursor string) (string, error) {
	ctx := r.Context()
	names, err := h.secretNames(r, d.S.ID)
	if err != nil {
		return "", err
	}
	d.AddSource = newSourceForm(st, d.S.ID, names)
	sp, err := h.d.Sources.List(ctx, d.S.ID, serversPageSize, cursor)
	if err != nil {
		return "", pageErr(err)
	}
	signedIn, _ := uuid.Parse(r.URL.Query().Get("signed_in"))
	for _, src := range sp.Items {
		row := sourceRowOf(src, all)
		if src.ID == signedIn && src.OAuthAuthenticated {
			d.SignedIn = "Signed in to " + src.Name + ": the source is " + row.Status + "."
		}
		d.Sources = append(d.Sources, row)
	}
	return sp.NextCursor, nil
}

// secretNames are the names of the server's secrets (the first
// serversCountLimit), the choices of an auth secret.
func (h *handler) secretNames(r *http.Request, server uuid.UUID) ([]string, error) {
	sp, err := h.d.Secrets.List(r.Context(), server, serversCountLimit, "")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(sp.Items))
	for i, s := range sp.Items {
		names[i] = s.Name
	}
	return names, nil
}

// sourceRowOf is a source's row: its labels, actions and the confirmation
// of its Delete, which names the tools imported from it.
func sourceRowOf(src sources.Source, all []tools.Tool) sourceRow {
	row := sourceRow{
		S: src, Auth: sourceAuthLabels[src.AuthType], Status: sourceStatusLabels[src.Status], Discover: src.Usable(),
		Pending: src.Status == proto.SourcePendingReview, Rename: sourceRename{Name: field{Value: src.Name}},
	}
	switch src.Status {
	case proto.SourceActive:
		row.Tag = "good"
	case proto.SourceError, proto.SourcePendingReview:
		row.Tag = "warn"
	}
	if src.AuthType == proto.AuthOAuth && src.Usable() {
		row.SignIn = "Re-authenticate"
		if !src.OAuthAuthenticated {
			row.SignIn, row.Status, row.Tag = "Authenticate", "Needs authentication", "warn"
		}
	}
	var imported []string
	for _, t := range all {
		if t.ExternalSourceID != nil && *t.ExternalSourceID == src.ID {
			imported = append(imported, t.ExposedName())
		}
	}
	row.Confirm = confirmDialog{
		ID: "confirm-source-delete-" + src.ID.String(), Title: "Delete source " + src.Name + "?", Verb: "Delete source",
		Say: []string{"MCPbox stops calling " + src.URL + " and forgets the source's credentials and discovered tools. " +
			"This cannot be undone."},
		ListIntro: "These tools were imported from it and are deleted with it:", Affected: imported,
		None: "No tool was imported from it.",
	}
	return row
}

// discoveryOf is the section's view of a discovery of the server's source.
func discoveryOf(st *state, server string, d sources.Discovery) *sourceDiscovery {
	out := &sourceDiscovery{CSRF: st.csrf, Source: d.Source}
	for i, t := range d.Tools {
		row := discoveredRow{
			T: t, Key: strconv.Itoa(i), Exposed: proto.ExposedName(server, t.ImportName), Schema: indentJSON(t.InputSchema),
			Checked: !t.NameTaken && !t.AlreadyImported,
		}
		switch {
		case t.AlreadyImported:
			row.Mark = "Already imported"
		case t.NameTaken:
			row.Mark = "Name conflict"
		}
		out.Tools = append(out.Tools, row)
	}
	for _, c := range d.ChangedTools {
		out.Changed = append(out.Changed, c.ExposedName)
	}
	return out
}

// indentJSON is raw JSON indented for reading; "" for none (null).
func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}
