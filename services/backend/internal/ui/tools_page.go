package ui

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
	"github.com/mcpbox/mcpbox/services/backend/internal/ui/codeview"
)

// The sections of the tool page (admin-ui.md §11.4).
const (
	toolsTabCode     = "code"
	toolsTabManifest = "manifest"
	toolsTabVersions = "versions"
	toolsTabLogs     = "logs"
	toolsTabTest     = "test"
)

// toolsVersionsMax is how many versions the page reads (newest first);
// the service's largest page.
const toolsVersionsMax = 200

// toolsTab is one link of the section navigation.
type toolsTab struct {
	Key, Label, Href string
	Current          bool
}

// toolsSecret is a secret name of a manifest with whether it has a value.
type toolsSecret struct {
	Name string
	Set  bool
}

// toolsCompare is the Versions section's comparison of two versions.
type toolsCompare struct {
	From, To int
	Code     template.HTML // the rendered diff table
	Equal    bool
	TooLarge bool
	Manifest codeview.ManifestDiff
}

// toolsRollback is the confirmation of rolling back to one version.
type toolsRollback struct {
	Version, Next int
	Serving       *int
}

// toolsVersionRow is one row of the Versions table.
type toolsVersionRow struct {
	V        tools.Version
	Serving  bool
	Latest   bool
	Rollback *toolsRollback
	Reason   string // the rejection reason of a rejected latest version
}

// toolsPage is the data of the tool page.
type toolsPage struct {
	Tool    tools.Tool
	Exposed string
	Tab     string
	Tabs    []toolsTab
	// Shown is the version Code, Manifest and Test show (?v=, default the
	// latest); VParam is ?v= as given (0: none).
	Shown  tools.Version
	VParam int
	// Versions are every version, newest first.
	Versions []toolsVersionRow
	// Serving is the approved version; Pending the latest when it awaits
	// review.
	Serving *int
	Pending int
	// ToggleReason says why the enabled toggle is disabled ("" when it is
	// usable).
	ToggleReason string
	Problem      string

	// Code section.
	External     bool
	Source       string
	Code         template.HTML
	CodeTooLarge bool
	Definition   template.HTML

	// Manifest section.
	Secrets      []toolsSecret
	InputSchema  template.HTML
	OutputSchema template.HTML

	// Versions section.
	Compare *toolsCompare

	// Logs and Test sections.
	Logs *toolsLogs
	Test *toolsTestForm
}

// toolID reads the {id} path value; a malformed id is the 404 page.
func toolIDOf(r *http.Request) (uuid.UUID, bool) {
	raw := r.PathValue("id")
	id, err := uuid.Parse(raw)
	return id, err == nil && len(raw) == 36
}

// positive reads a positive decimal query parameter; absent or malformed
// is 0.
func positive(raw string) int {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || strconv.Itoa(n) != raw {
		return 0
	}
	return n
}

// toolShow is GET /tools/{id}: the tool page, section ?tab=.
func (h *handler) toolShow(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := toolIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	q := r.URL.Query()
	tab := q.Get("tab")
	switch tab {
	case toolsTabCode, toolsTabManifest, toolsTabVersions, toolsTabLogs, toolsTabTest:
	default:
		tab = toolsTabCode
	}
	pg, err := h.toolsLoad(r, id, tab, positive(q.Get("v")))
	if errors.Is(err, tools.ErrNotFound) {
		return h.notFound(w, r, st)
	}
	if err != nil {
		return err
	}
	switch tab {
	case toolsTabVersions:
		if err := h.toolsCompare(pg, positive(q.Get("from")), positive(q.Get("to"))); err != nil {
			return err
		}
	case toolsTabLogs:
		logs, err := h.toolsLogsOf(r, pg.Tool, q)
		if err != nil {
			return err
		}
		pg.Logs = logs
	case toolsTabTest:
		pg.Test = newToolsTestForm(pg.Shown.InputSchema)
	}
	return h.toolsRender(w, r, st, http.StatusOK, pg)
}

func (h *handler) toolsRender(w http.ResponseWriter, r *http.Request, st *state, status int, pg *toolsPage) error {
	return h.render(w, r, st, page{Status: status, Name: "tools", Title: "Tool " + pg.Exposed, Nav: navServers, Data: pg})
}

// toolsLoad reads the tool, its versions and the shown version, and lays
// out what every section shares.
func (h *handler) toolsLoad(r *http.Request, id uuid.UUID, tab string, v int) (*toolsPage, error) {
	ctx := r.Context()
	t, err := h.d.Tools.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	vp, err := h.d.Tools.Versions(ctx, id, toolsVersionsMax, "")
	if err != nil {
		return nil, err
	}
	pg := &toolsPage{Tool: t, Exposed: t.ExposedName(), Tab: tab, Shown: t.Latest, Serving: t.ApprovedVersion}
	if t.ReviewStatus == proto.ReviewPendingReview && (t.ApprovedVersion == nil || *t.ApprovedVersion != t.LatestVersion) {
		pg.Pending = t.LatestVersion
	}
	for _, ver := range vp.Items {
		row := toolsVersionRow{V: ver, Latest: ver.Version == t.LatestVersion}
		row.Serving = t.ApprovedVersion != nil && *t.ApprovedVersion == ver.Version
		if row.Latest && t.ReviewStatus == proto.ReviewRejected && t.RejectionReason != nil {
			row.Reason = *t.RejectionReason
		}
		if !row.Latest && ver.Code != nil {
			row.Rollback = &toolsRollback{Version: ver.Version, Next: t.LatestVersion + 1, Serving: t.ApprovedVersion}
		}
		pg.Versions = append(pg.Versions, row)
		if v == ver.Version {
			pg.Shown, pg.VParam = ver, v
		}
	}
	if t.ReviewStatus != proto.ReviewApproved && t.ApprovedVersion == nil {
		pg.ToggleReason = "Only an approved tool can be enabled or disabled; this tool has no approved version yet."
	}
	pg.Tabs = toolsTabs(t.ID, tab, pg.VParam)
	switch tab {
	case toolsTabCode:
		err = h.toolsCode(pg)
	case toolsTabManifest:
		err = h.toolsManifest(r, pg)
	}
	return pg, err
}

// toolsTabs are the section links, keeping the chosen version.
func toolsTabs(id uuid.UUID, current string, v int) []toolsTab {
	out := []toolsTab{
		{Key: toolsTabCode, Label: "Code"},
		{Key: toolsTabManifest, Label: "Manifest"},
		{Key: toolsTabVersions, Label: "Versions"},
		{Key: toolsTabLogs, Label: "Logs"},
		{Key: toolsTabTest, Label: "Test"},
	}
	for i := range out {
		q := url.Values{"tab": {out[i].Key}}
		if v > 0 && out[i].Key != toolsTabVersions && out[i].Key != toolsTabLogs {
			q.Set("v", strconv.Itoa(v))
		}
		out[i].Href = "/tools/" + id.String() + "?" + q.Encode()
		out[i].Current = out[i].Key == current
	}
	return out
}

// toolsCode highlights the shown version's code (or its external
// definition as JSON).
func (h *handler) toolsCode(pg *toolsPage) error {
	v := pg.Shown
	if v.Code == nil {
		pg.External = true
		def, err := codeview.HighlightJSON(v.ExternalDefinition)
		if err != nil {
			return err
		}
		pg.Definition = def
		return nil
	}
	pg.Source = *v.Code
	pg.CodeTooLarge = codeview.TooLarge(pg.Source)
	code, err := codeview.HighlightWith(pg.Source, codeview.Options{LineIDPrefix: "code-line-"})
	if err != nil {
		return err
	}
	pg.Code = code
	return nil
}

// toolsManifest lays out the shown version's manifest: secret names with
// whether each has a value, and the schemas as JSON.
func (h *handler) toolsManifest(r *http.Request, pg *toolsPage) error {
	v := pg.Shown
	if len(v.Manifest.Secrets) > 0 {
		set := map[string]bool{}
		cursor := ""
		for {
			sp, err := h.d.Secrets.List(r.Context(), pg.Tool.ServerID, toolsVersionsMax, cursor)
			if err != nil {
				return err
			}
			for _, s := range sp.Items {
				set[s.Name] = s.ValueSetAt != nil
			}
			if cursor = sp.NextCursor; cursor == "" {
				break
			}
		}
		for _, name := range v.Manifest.Secrets {
			pg.Secrets = append(pg.Secrets, toolsSecret{Name: name, Set: set[name]})
		}
	}
	var err error
	if pg.InputSchema, err = toolsJSON(v.InputSchema); err != nil {
		return err
	}
	pg.OutputSchema, err = toolsJSON(v.OutputSchema)
	return err
}

// toolsJSON pretty-prints and highlights a JSON document ("" for none).
func toolsJSON(raw json.RawMessage) (template.HTML, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return "", nil
	}
	return codeview.HighlightJSON(raw)
}

// toolsCompare fills the Versions section's comparison: ?from=&to=, by
// default the serving version against the latest (else the one before the
// latest).
func (h *handler) toolsCompare(pg *toolsPage, from, to int) error {
	latest := pg.Tool.LatestVersion
	if to == 0 || to > latest {
		to = latest
	}
	if from == 0 || from > latest {
		switch {
		case pg.Serving != nil && *pg.Serving != to:
			from = *pg.Serving
		case to > 1:
			from = to - 1
		default:
			return nil // one version: nothing to compare
		}
	}
	var fv, tv *tools.Version
	for i := range pg.Versions {
		switch pg.Versions[i].V.Version {
		case from:
			fv = &pg.Versions[i].V
		case to:
			tv = &pg.Versions[i].V
		}
	}
	if from == to {
		tv = fv
	}
	if fv == nil || tv == nil {
		return nil
	}
	view, err := codeview.Diff("version "+strconv.Itoa(from), "version "+strconv.Itoa(to), toolsContent(*fv), toolsContent(*tv))
	if err != nil {
		return err
	}
	pg.Compare = &toolsCompare{
		From: from, To: to, Code: codeview.RenderDiff(view), Equal: view.Equal(), TooLarge: view.TooLarge,
		Manifest: codeview.DiffManifests(&fv.Manifest, tv.Manifest),
	}
	return nil
}

// toolsContent is a version's code, or its external definition as
// indented JSON, so both kinds compare line by line.
func toolsContent(v tools.Version) string {
	if v.Code != nil {
		return *v.Code
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, v.ExternalDefinition, "", "  "); err != nil {
		return string(v.ExternalDefinition)
	}
	return buf.String() + "\n"
}

// toolEnabled is POST /tools/{id}/enabled (twin: PATCH /api/v1/tools/{id}
// {enabled}): enabled=true or false, then back to the page.
func (h *handler) toolEnabled(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := toolIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	var on bool
	switch r.PostFormValue("enabled") {
	case "true":
		on = true
	case "false":
	default:
		return h.toolsRefuse(w, r, st, id, http.StatusUnprocessableEntity, "enabled: must be true or false.")
	}
	_, err := h.d.Tools.Update(r.Context(), h.toolsAudit(st), id, tools.UpdateInput{Enabled: &on})
	if err != nil {
		return h.toolsFailed(w, r, st, id, err)
	}
	h.redirect(w, r, st, "/tools/"+id.String()+toolsBackTo(r))
	return nil
}

// toolDelete is POST /tools/{id}/delete (twin: DELETE /api/v1/tools/{id}),
// confirmed in a dialog; then the server's page.
func (h *handler) toolDelete(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := toolIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	t, err := h.d.Tools.Get(r.Context(), id)
	if err != nil {
		return h.toolsFailed(w, r, st, id, err)
	}
	if err := h.d.Tools.Delete(r.Context(), h.toolsAudit(st), id); err != nil {
		return h.toolsFailed(w, r, st, id, err)
	}
	h.redirect(w, r, st, "/servers/"+t.ServerID.String()+"?tab=tools")
	return nil
}

// toolRollback is POST /tools/{id}/versions/{n}/rollback (twin: POST
// /api/v1/tools/{id}/rollback {version}), confirmed in a dialog; the new
// version opens afterwards.
func (h *handler) toolRollback(w http.ResponseWriter, r *http.Request, st *state) error {
	id, ok := toolIDOf(r)
	if !ok {
		return h.notFound(w, r, st)
	}
	n := positive(r.PathValue("n"))
	if n == 0 {
		return h.notFound(w, r, st)
	}
	t, err := h.d.Tools.Rollback(r.Context(), h.toolsAudit(st), id, n)
	if err != nil {
		return h.toolsFailed(w, r, st, id, err)
	}
	h.redirect(w, r, st, fmt.Sprintf("/tools/%s?tab=versions&v=%d", id, t.LatestVersion))
	return nil
}

func (h *handler) toolsAudit(st *state) tools.Audit {
	return tools.Audit{Actor: st.p.Actor(), RequestID: st.reqID}
}

// toolsBackTo keeps the section a form was posted from (its tab field).
func toolsBackTo(r *http.Request) string {
	switch tab := r.PostFormValue("tab"); tab {
	case toolsTabCode, toolsTabManifest, toolsTabVersions, toolsTabLogs, toolsTabTest:
		return "?tab=" + tab
	}
	return ""
}

// toolsFailed maps the tools service's refusals as the API does (404,
// 409 conflicts, 422 rule errors); anything else is the 500 page.
func (h *handler) toolsFailed(w http.ResponseWriter, r *http.Request, st *state, id uuid.UUID, err error) error {
	var (
		version *tools.VersionNotFoundError
		state   *tools.InvalidStateError
		rule    *proto.RuleError
	)
	switch {
	case errors.Is(err, tools.ErrNotFound), errors.As(err, &version):
		return h.notFound(w, r, st)
	case errors.As(err, &state):
		return h.toolsRefuse(w, r, st, id, http.StatusConflict, state.Message)
	case errors.As(err, &rule):
		return h.toolsRefuse(w, r, st, id, http.StatusUnprocessableEntity, rule.Field+": "+rule.Message)
	}
	return err
}

// toolsRefuse answers a refused action with the page, fresh data and the
// explanation (htmx: a toast).
func (h *handler) toolsRefuse(w http.ResponseWriter, r *http.Request, st *state, id uuid.UUID, status int, msg string) error {
	if st.htmx {
		toast(w, "error", msg, st.reqID)
		w.WriteHeader(status)
		return nil
	}
	tab := cmp.Or(strings.TrimPrefix(toolsBackTo(r), "?tab="), toolsTabCode)
	pg, err := h.toolsLoad(r, id, tab, 0)
	if errors.Is(err, tools.ErrNotFound) {
		return h.notFound(w, r, st)
	}
	if err != nil {
		return err
	}
	pg.Problem = msg
	if tab == toolsTabVersions {
		if err := h.toolsCompare(pg, 0, 0); err != nil {
			return err
		}
	}
	if tab == toolsTabLogs {
		if pg.Logs, err = h.toolsLogsOf(r, pg.Tool, url.Values{}); err != nil {
			return err
		}
	}
	if tab == toolsTabTest {
		pg.Test = newToolsTestForm(pg.Shown.InputSchema)
	}
	return h.toolsRender(w, r, st, status, pg)
}

// toolsStatusLabel names a review or version status.
func toolsStatusLabel(s string) string {
	switch s {
	case string(proto.ReviewDraft):
		return "Draft"
	case string(proto.ReviewPendingReview):
		return "Pending review"
	case string(proto.ReviewApproved):
		return "Approved"
	case string(proto.ReviewRejected):
		return "Rejected"
	case tools.StatusSuperseded:
		return "Superseded"
	}
	return s
}

// toolsShortHash is a content hash's first 12 hex digits.
func toolsShortHash(h string) string {
	h = strings.TrimPrefix(h, "sha256:")
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// toolsAuthor names who made a version from its created_by actor.
func toolsAuthor(actor string) string {
	kind, who, _ := strings.Cut(actor, ":")
	switch {
	case actor == "llm:local":
		return "local LLM"
	case actor == "llm:remote":
		return "remote LLM"
	case kind == "llm":
		return who // a remote caller's email
	case kind == "admin" && who != "":
		return "admin " + who
	}
	return actor
}

// toolsDuration is "12 ms" or "1.4 s".
func toolsDuration(ms int64) string {
	if ms < 1000 {
		return strconv.FormatInt(ms, 10) + " ms"
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + " s"
}
