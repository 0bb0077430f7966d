//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// Settings › Backup (admin-ui.md §11.9): UI-45 (export, then import into
// a fresh database) and UI-55 (the import's progress bar).

// backupSecretValue is the value of the exported secret: it must appear
// in no export.
const backupSecretValue = "s3cret-value-that-never-leaves"

// backupDownloads makes the page's browser context save downloads into
// dir under the names the server suggests (Content-Disposition).
func backupDownloads(p *Page, dir string) {
	p.t.Helper()
	ctxID := chromedp.FromContext(p.Context()).BrowserContextID
	ctx, cancel := p.ctx(ActionTimeout)
	defer cancel()
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: ctxID, DownloadPath: dir,
	}); err != nil {
		p.t.Fatalf("browsertest: allow downloads: %v", err)
	}
}

// backupDownloaded waits for a finished download in dir (Chromium renames
// the partial file when it completes) and returns its name and content.
func backupDownloaded(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if len(names) == 1 && !strings.HasSuffix(names[0], ".crdownload") {
			body, err := os.ReadFile(filepath.Join(dir, names[0]))
			if err == nil && json.Valid(body) {
				return names[0], body
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished download in %s: %v", dir, names)
		}
		time.Sleep(50 * time.Millisecond) // polling the download directory, not asserting on time
	}
}

// backupUpload chooses path in the Backup tab's file field.
func backupUpload(p *Page, path string) {
	p.t.Helper()
	p.Do(chromedp.SetUploadFiles(chromedp.CSS("#backup-file"), []string{path}))
}

// backupWrite writes body into a new file of the test's temporary
// directory and returns its path.
func backupWrite(t *testing.T, name string, body []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// backupExportJSON is the part of an export the checks read.
type backupExportJSON struct {
	Format    string `json:"format"`
	Signature string `json:"signature"`
	Servers   []struct {
		Name    string `json:"name"`
		Secrets []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"secrets"`
		Tools []struct {
			Name     string           `json:"name"`
			Latest   *backupVersionJS `json:"latest"`
			Approved *backupVersionJS `json:"approved"`
		} `json:"tools"`
	} `json:"servers"`
}

type backupVersionJS struct {
	Content json.RawMessage `json:"content"`
	Hash    string          `json:"hash"`
}

// backupServers lists the servers through the API (name → id).
func backupServers(t *testing.T, b *Backend, bearer []string) map[string]string {
	t.Helper()
	r := b.API(t, http.MethodGet, "/api/v1/servers", nil, bearer...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET servers: %d %s", r.Status, r.Body)
	}
	var out struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	r.JSON(t, &out)
	m := map[string]string{}
	for _, s := range out.Items {
		m[s.Name] = s.ID
	}
	return m
}

// UI-45: Export downloads mcpbox-export-<YYYYMMDD>.json with servers,
// tools, their latest and approved versions and a secret key whose value
// was set, but not the value; importing it into a fresh database shows
// the dry-run counts, then creates everything with every published tool
// pending review; invalid JSON shows an error and creates nothing.
func TestUI45_ExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	src := NewBackend(t)
	src.CreateAdmin(t)
	bearer := src.Bearer(t)
	srv := approvalsServer(t, src, "weather")
	if r := src.API(t, http.MethodPost, "/api/v1/servers/"+srv+"/secrets",
		map[string]any{"name": "API_KEY", "description": "Key of the forecast API", "value": backupSecretValue}, bearer...); r.Status != http.StatusCreated {
		t.Fatalf("create the secret: %d %s", r.Status, r.Body)
	}
	// forecast: version 1 approved, version 2 pending; alerts: approved;
	// radar: pending, never approved.
	forecast, _ := approvalsTool(t, src, srv, "forecast", approvalsCode("fetches a forecast.", "\t_ = \"approved-v1\"\n"), nil)
	approvalsApproveAPI(t, src, bearer, forecast)
	approvalsUpdate(t, src, forecast, approvalsCode("fetches a forecast.", "\t_ = \"latest-v2\"\n"), nil)
	alerts, _ := approvalsTool(t, src, srv, "alerts", approvalsCode("lists alerts.", ""), nil)
	approvalsApproveAPI(t, src, bearer, alerts)
	approvalsTool(t, src, srv, "radar", approvalsCode("shows the radar.", ""), nil)

	// Export: the download, named after today's UTC date.
	p := src.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/settings?tab=backup")
	dir := t.TempDir()
	backupDownloads(p, dir)
	before := time.Now().UTC().Format("20060102")
	p.Click("#settings-export")
	name, body := backupDownloaded(t, dir)
	after := time.Now().UTC().Format("20060102")
	if name != "mcpbox-export-"+before+".json" && name != "mcpbox-export-"+after+".json" {
		t.Fatalf("downloaded %q, want mcpbox-export-%s.json", name, before)
	}
	if strings.Contains(string(body), backupSecretValue) {
		t.Fatal("the export holds the secret's value")
	}
	var doc backupExportJSON
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Format != "mcpbox-export" || !strings.HasPrefix(doc.Signature, "hmac-sha256:") || len(doc.Servers) != 1 || doc.Servers[0].Name != "weather" {
		t.Fatalf("export: format %q, signature %q, servers %+v", doc.Format, doc.Signature, doc.Servers)
	}
	s := doc.Servers[0]
	if len(s.Secrets) != 1 || s.Secrets[0].Name != "API_KEY" || s.Secrets[0].Description != "Key of the forecast API" {
		t.Errorf("exported secrets %+v", s.Secrets)
	}
	tools := map[string]int{}
	for i, tl := range s.Tools {
		tools[tl.Name] = i
	}
	if len(s.Tools) != 3 {
		t.Fatalf("exported tools %v", tools)
	}
	fc := s.Tools[tools["forecast"]]
	if fc.Latest == nil || fc.Approved == nil || !strings.Contains(string(fc.Latest.Content), "latest-v2") ||
		!strings.Contains(string(fc.Approved.Content), "approved-v1") || fc.Latest.Hash == fc.Approved.Hash {
		t.Errorf("forecast: latest %+v, approved %+v", fc.Latest, fc.Approved)
	}
	if al := s.Tools[tools["alerts"]]; al.Approved == nil || al.Latest == nil || al.Approved.Hash != al.Latest.Hash {
		t.Errorf("alerts: latest %+v, approved %+v", al.Latest, al.Approved)
	}
	if rd := s.Tools[tools["radar"]]; rd.Latest == nil || rd.Approved != nil {
		t.Errorf("radar: latest %+v, approved %+v", rd.Latest, rd.Approved)
	}

	// A fresh database: invalid JSON first, then the export.
	dst := NewBackend(t)
	dst.CreateAdmin(t)
	dstBearer := dst.Bearer(t)
	q := dst.NewPage(t, Desktop)
	q.SignIn()
	q.Open("/settings?tab=backup")
	backupUpload(q, backupWrite(t, "broken.json", []byte(`{"format": "mcpbox-export", "servers": [`)))
	q.Settle(Click("#backup-dry-run"))
	q.WaitFor(`!document.getElementById("backup-file-error").hidden`, 5*time.Second, "the file's error")
	if got := q.fieldError("backup-file"); !strings.HasPrefix(got, "file: ") || !strings.Contains(got, "not valid JSON") {
		t.Errorf("invalid JSON: the file field reads %q", got)
	}
	if inv, _ := q.Attr("#backup-file", "aria-invalid"); inv != "true" {
		t.Errorf("invalid JSON: aria-invalid %q", inv)
	}
	if _, disabled := q.Attr("#backup-apply", "disabled"); !disabled {
		t.Error("invalid JSON: Import is enabled")
	}
	q.Screenshot("settings-backup-invalid", "light")
	if got := backupServers(t, dst, dstBearer); len(got) != 0 {
		t.Fatalf("invalid JSON created servers: %v", got)
	}

	backupUpload(q, backupWrite(t, name, body))
	q.Settle(Click("#backup-dry-run"))
	q.WaitFor(`!!document.getElementById("settings-import-counts")`, 5*time.Second, "the dry run's counts")
	if got := q.Text("#settings-import-counts"); !strings.HasPrefix(got, "Would create 1 server and 3 tools; 0 errors") {
		t.Errorf("dry run counts %q", got)
	}
	if got := q.Text("#settings-import-result-title"); got != "Dry run: nothing was written" {
		t.Errorf("dry run title %q", got)
	}
	if got := q.Text("#settings-import-servers tbody"); !strings.Contains(got, "weather") || !strings.Contains(got, "would be created") {
		t.Errorf("dry run servers %q", got)
	}
	if !Eval[bool](q, `document.getElementById("backup-file-error").hidden`) {
		t.Error("the invalid file's error is still shown after a valid dry run")
	}
	if inv, _ := q.Attr("#backup-file", "aria-invalid"); inv == "true" {
		t.Error("the file field is still aria-invalid after a valid file was chosen")
	}
	if got := backupServers(t, dst, dstBearer); len(got) != 0 {
		t.Fatalf("the dry run created servers: %v", got)
	}
	q.Screenshot("settings-backup-dry-run", "light")
	q.Click("#backup-apply")
	q.WaitFor(`document.getElementById("settings-confirm-import").open`, 5*time.Second, "the import confirmation")
	if got := q.Text("#settings-confirm-import-desc"); !strings.Contains(got, "1 server and 3 tools to create") {
		t.Errorf("the confirmation reads %q", got)
	}
	q.Screenshot("settings-backup-confirm", "light")
	q.Settle(Click("#settings-confirm-import [data-dialog-confirm]"))
	q.WaitFor(`document.getElementById("settings-import-result-title")?.textContent === "Import finished"`, 10*time.Second, "the import's result")
	if got := q.Text("#settings-import-counts"); !strings.HasPrefix(got, "Created 1 server and 3 tools; 0 errors") {
		t.Errorf("import counts %q", got)
	}
	q.Screenshot("settings-backup-imported", "light")

	// Everything exists, every tool pending review, the secret without value.
	servers := backupServers(t, dst, dstBearer)
	id, ok := servers["weather"]
	if !ok || len(servers) != 1 {
		t.Fatalf("after the import: servers %v", servers)
	}
	r := dst.API(t, http.MethodGet, "/api/v1/servers/"+id+"/tools", nil, dstBearer...)
	var list struct {
		Items []struct {
			Name            string `json:"name"`
			ReviewStatus    string `json:"review_status"`
			LatestVersion   int    `json:"latest_version"`
			ApprovedVersion *int   `json:"approved_version"`
		} `json:"items"`
	}
	r.JSON(t, &list)
	if len(list.Items) != 3 {
		t.Fatalf("imported tools: %d %s", r.Status, r.Body)
	}
	// A published tool (one with an approved version) waits for review;
	// radar was never approved, and the export keeps no review state, so
	// it arrives as a draft (backend.md §14.4).
	for _, tl := range list.Items {
		want := map[string]string{"forecast": "pending_review", "alerts": "pending_review", "radar": "draft"}[tl.Name]
		if tl.ReviewStatus != want || tl.ApprovedVersion != nil {
			t.Errorf("imported %s: %s, approved %v; want %s, none", tl.Name, tl.ReviewStatus, tl.ApprovedVersion, want)
		}
		if want := map[string]int{"forecast": 2, "alerts": 1, "radar": 1}[tl.Name]; tl.LatestVersion != want {
			t.Errorf("imported %s: latest version %d, want %d", tl.Name, tl.LatestVersion, want)
		}
	}
	r = dst.API(t, http.MethodGet, "/api/v1/servers/"+id+"/secrets", nil, dstBearer...)
	var secrets struct {
		Items []struct {
			Name     string `json:"name"`
			HasValue bool   `json:"has_value"`
		} `json:"items"`
	}
	r.JSON(t, &secrets)
	if len(secrets.Items) != 1 || secrets.Items[0].Name != "API_KEY" || secrets.Items[0].HasValue {
		t.Errorf("imported secrets: %s", r.Body)
	}
}

// backupObserver records, in window.__ui55, every state of the import's
// progress container and bar (a MutationObserver), and in window.__ui55seen
// every mcpbox:progress event app.js dispatches.
const backupObserver = `(() => {
  const box = document.getElementById("settings-import-progress");
  const bar = document.getElementById("settings-import-bar");
  const text = box.querySelector("[data-progress-text]");
  window.__ui55 = [];
  window.__ui55seen = [];
  const record = () => {
    const s = { hidden: box.hidden, value: bar.hasAttribute("value") ? bar.value : null, max: bar.hasAttribute("max") ? bar.max : null, text: text.textContent.trim() };
    const last = window.__ui55[window.__ui55.length - 1];
    if (!last || JSON.stringify(last) !== JSON.stringify(s)) window.__ui55.push(s);
  };
  new MutationObserver(record).observe(box, { attributes: true, childList: true, characterData: true, subtree: true });
  document.body.addEventListener("mcpbox:progress", (e) => {
    const { request_id, operation, done, total } = e.detail || {};
    window.__ui55seen.push({ request_id, operation, done, total });
  });
  return true;
})()`

// backupState is one recorded state of the progress container.
type backupState struct {
	Hidden bool     `json:"hidden"`
	Value  *float64 `json:"value"`
	Max    *float64 `json:"max"`
	Text   string   `json:"text"`
}

func (s backupState) String() string {
	n := func(f *float64) string {
		if f == nil {
			return "-"
		}
		return fmt.Sprint(*f)
	}
	return fmt.Sprintf("{hidden %v value %s max %s %q}", s.Hidden, n(s.Value), n(s.Max), s.Text)
}

// backupSeen is a progress event as app.js dispatched it.
type backupSeen struct {
	RequestID string `json:"request_id"`
	Operation string `json:"operation"`
	Done      int    `json:"done"`
	Total     int    `json:"total"`
}

// backupProgressName is the role and accessible name of the import's
// progress bar, as the browser's accessibility tree computes them.
// (DOM.getDocument is not used: it would invalidate the node ids chromedp
// holds for later clicks.)
func backupProgressName(p *Page) (role, name string) {
	p.t.Helper()
	p.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		obj, err := cdp.Call(ctx, tg, runtime.Evaluate, runtime.EvaluateParams{Expression: `document.getElementById("settings-import-bar")`})
		if err != nil {
			return err
		}
		if obj.Result == nil || obj.Result.ObjectID == "" {
			return errors.New("no #settings-import-bar")
		}
		defer func() {
			_, _ = cdp.Call(ctx, tg, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: obj.Result.ObjectID})
		}()
		res, err := cdp.Call(ctx, tg, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{ObjectID: obj.Result.ObjectID, FetchRelatives: new(false)})
		if err != nil {
			return err
		}
		if len(res.Nodes) == 0 || res.Nodes[0].Ignored || res.Nodes[0].Role == nil || res.Nodes[0].Name == nil {
			return errors.New("the progress bar is not in the accessibility tree")
		}
		if err := json.Unmarshal([]byte(res.Nodes[0].Role.Value), &role); err != nil {
			return err
		}
		return json.Unmarshal([]byte(res.Nodes[0].Name.Value), &name)
	}))
	return role, name
}

// backupCheckRun checks the recorded states of one run: shown, first
// indeterminate, then the values of its own events rising to total of
// total ("N of total tools"), never another request's, and hidden at the
// end. It returns the run's request id.
func backupCheckRun(t *testing.T, p *Page, run string, total int) string {
	t.Helper()
	states := Eval[[]backupState](p, `window.__ui55`)
	seen := Eval[[]backupSeen](p, `window.__ui55seen`)
	t.Logf("%s: states %s", run, fmt.Sprint(states))
	var shown []backupState
	for _, s := range states {
		if !s.Hidden {
			shown = append(shown, s)
		}
	}
	if len(shown) == 0 {
		t.Fatalf("%s: the progress bar never showed", run)
	}
	if shown[0].Value != nil {
		t.Errorf("%s: the bar showed with value %v, want indeterminate until the first event", run, *shown[0].Value)
	}
	var values []float64
	for _, s := range shown {
		if s.Value == nil {
			continue
		}
		if s.Max == nil || *s.Max != float64(total) {
			t.Errorf("%s: state %+v, want max %d", run, s, total)
		}
		if n := len(values); n == 0 || values[n-1] != *s.Value {
			if n > 0 && *s.Value < values[n-1] {
				t.Errorf("%s: the value fell from %v to %v", run, values[n-1], *s.Value)
			}
			values = append(values, *s.Value)
		}
		if want := fmt.Sprintf("%d of %d tools", int(*s.Value), total); s.Text != want {
			t.Errorf("%s: value %v reads %q, want %q", run, *s.Value, s.Text, want)
		}
	}
	if len(values) < 3 || values[len(values)-1] != float64(total) {
		t.Errorf("%s: values %v, want a rise through at least three values to %d", run, values, total)
	}
	if last := states[len(states)-1]; !last.Hidden {
		t.Errorf("%s: the progress bar is still shown after the answer: %+v", run, last)
	}
	ids := map[string]bool{}
	for _, e := range seen {
		if e.Total == total {
			ids[e.RequestID] = true
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%s: progress events of %d requests: %+v", run, len(ids), seen)
	}
	for id := range ids {
		return id
	}
	return ""
}

// backupSessionID is the id of the page's session (GET
// /api/v1/auth/sessions with its cookie: current).
func backupSessionID(t *testing.T, b *Backend, p *Page) uuid.UUID {
	t.Helper()
	c := p.Cookie("mcpbox_session")
	if c == nil {
		t.Fatal("no session cookie")
	}
	r := b.API(t, http.MethodGet, "/api/v1/auth/sessions", nil, "Cookie", "mcpbox_session="+c.Value)
	var out struct {
		Items []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	r.JSON(t, &out)
	for _, s := range out.Items {
		if s.Current {
			id, err := uuid.Parse(s.ID)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
	}
	t.Fatalf("no current session: %d %s", r.Status, r.Body)
	return uuid.Nil
}

// UI-55: importing a signed file of 40 tools, against a fake sandbox that
// answers each analysis after a short delay, shows a progress bar with an
// accessible name whose value (recorded by a DOM observer) rises with the
// progress events to 40 of 40 before the result replaces it; the dry run
// shows one too; a progress event carrying another request id changes
// nothing.
func TestUI55_ImportProgress(t *testing.T) {
	t.Parallel()
	const total = 40
	src := NewBackend(t)
	src.CreateAdmin(t)
	srv := approvalsServer(t, src, "many")
	for i := range total {
		// Distinct code: the import analyses each distinct code once.
		b := map[string]any{"server_id": srv, "name": fmt.Sprintf("tool_%02d", i), "code": approvalsCode(fmt.Sprintf("is tool %d.", i), "")}
		src.Manage(t, "mcpbox_create_tool", b, nil)
	}
	r := src.API(t, http.MethodGet, "/api/v1/export", nil, src.Bearer(t)...)
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	file := backupWrite(t, "mcpbox-export-40.json", r.Body)

	dst := NewBackend(t)
	dst.CreateAdmin(t)
	// 40 analyses of 75 ms: about 3 s per run, so at least one event
	// between the first (0 of 40) and the last.
	dst.Sandbox.SetAnalyzeDelay(75 * time.Millisecond)
	p := dst.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/settings?tab=backup")
	if _, hidden := p.Attr("#settings-import-progress", "hidden"); !hidden {
		t.Fatal("the progress bar shows before any import")
	}
	p.Exec(backupObserver)
	backupUpload(p, file)

	// The dry run.
	p.Click("#backup-dry-run")
	p.WaitFor(`!document.getElementById("settings-import-progress").hidden`, 10*time.Second, "the dry run's progress bar")
	if role, name := backupProgressName(p); role != "progressbar" || name != "Import progress" {
		t.Errorf("the progress bar: role %q, accessible name %q", role, name)
	}
	p.WaitFor(`window.__ui55.some((s) => s.value !== null)`, 30*time.Second, "the first progress value")
	p.Screenshot("settings-backup-progress", "light")
	p.WaitFor(`!!document.getElementById("settings-import-result-title")`, 60*time.Second, "the dry run's result")
	dryID := backupCheckRun(t, p, "dry run", total)
	if got := p.Text("#settings-import-counts"); !strings.HasPrefix(got, fmt.Sprintf("Would create 1 server and %d tools", total)) {
		t.Errorf("dry run counts %q", got)
	}

	// The import, with another request's progress event in the middle:
	// published for this page's session through the backend, as any long
	// action of the same session would, so app.js receives it.
	p.Exec(`window.__ui55 = []; window.__ui55seen = []; true`)
	p.Click("#backup-apply")
	p.WaitFor(`document.getElementById("settings-confirm-import").open`, 5*time.Second, "the import confirmation")
	p.Click("#settings-confirm-import [data-dialog-confirm]")
	p.WaitFor(`window.__ui55.some((s) => s.value !== null)`, 30*time.Second, "the import's first progress value")
	const other = "ui55-another-request"
	if err := activity.PublishProgress(t.Context(), dst.Store, activity.ProgressEvent{
		Session: backupSessionID(t, dst, p), RequestID: other, Operation: activity.OpImport, Done: 1, Total: 3,
	}); err != nil {
		t.Fatal(err)
	}
	p.WaitFor(`window.__ui55seen.some((e) => e.request_id === `+jsString(other)+`)`, 30*time.Second, "the other request's event to reach the page")
	p.WaitFor(`document.getElementById("settings-import-result-title")?.textContent === "Import finished"`, 60*time.Second, "the import's result")
	importID := backupCheckRun(t, p, "import", total)
	if importID == dryID || importID == other {
		t.Errorf("request ids: dry run %q, import %q", dryID, importID)
	}
	for _, s := range Eval[[]backupState](p, `window.__ui55`) {
		if (s.Max != nil && *s.Max == 3) || strings.Contains(s.Text, "of 3") {
			t.Errorf("the other request's event changed the bar: %+v", s)
		}
	}
	if got := p.Text("#settings-import-counts"); !strings.HasPrefix(got, fmt.Sprintf("Created 1 server and %d tools", total)) {
		t.Errorf("import counts %q", got)
	}
}
