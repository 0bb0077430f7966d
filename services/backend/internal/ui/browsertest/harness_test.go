//go:build browser

package browsertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"

	"github.com/mcpbox/mcpbox/proto"
)

// The harness self-tests need only Chromium: they run against pages this
// file serves, so they hold before (and whatever) the UI serves.

// uiCSP is the policy of admin-ui.md §4, so the self-tests meet the
// browser under the same rules as the UI.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// site serves fixed pages under the §4 CSP.
func site(t *testing.T, pages map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, ".js"):
			w.Header().Set("Content-Type", "text/javascript")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", uiCSP)
		}
		_, _ = fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// page is a minimal accessible document.
func htmlPage(title, head, body string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"><title>` + title + `</title>` + head +
		`</head><body><main><h1>` + title + `</h1>` + body + `</main></body></html>`
}

// readyJS marks the document ready as app.js does, and fakes an htmx swap
// on a click of #swap.
const readyJS = `document.body.setAttribute("data-ready", "");
document.getElementById("swap")?.addEventListener("click", () => {
  setTimeout(() => {
    document.getElementById("out").textContent = "swapped";
    document.getElementById("out").dispatchEvent(new CustomEvent("htmx:afterSettle", { bubbles: true }));
  }, 50);
});`

func TestHarnessBlankPageAndScreenshot(t *testing.T) {
	t.Parallel()
	p := NewPage(t, Desktop)
	if status := p.Navigate("about:blank"); status != 0 {
		t.Errorf("about:blank status %d", status)
	}
	if u := p.URL(); u != "about:blank" {
		t.Errorf("location %q", u)
	}
	path := p.Screenshot("harness-blank", "light")
	if !strings.HasSuffix(path, "harness-blank-1280-light.png") {
		t.Errorf("screenshot path %s", path)
	}
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("%s is not a PNG", path)
	}
}

func TestHarnessAxe(t *testing.T) {
	t.Parallel()
	p := NewPage(t, Desktop)
	p.Navigate("data:text/html," + url.PathEscape(htmlPage("Clean", "", `<p>Nothing wrong here.</p>`)))
	for _, v := range p.AxeViolations() {
		if v.Blocking() {
			t.Errorf("clean page: %s", v)
		}
	}
	p.Axe("clean page") // no blocking violation: passes

	// No lang, an image without alt, an unlabelled field: axe must see them.
	broken := `<!doctype html><html><head><title>Broken</title></head><body>` +
		`<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"><input type="text"></body></html>`
	p.Navigate("data:text/html," + url.PathEscape(broken))
	found := map[string]bool{}
	for _, v := range p.AxeViolations() {
		if v.Blocking() {
			found[v.ID] = true
		}
	}
	for _, id := range []string{"html-has-lang", "image-alt", "label"} {
		if !found[id] {
			t.Errorf("axe missed %s on the broken page; blocking: %v", id, found)
		}
	}
}

// recordingTB captures what a Page reports, to test the reporting itself.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// Console errors, uncaught exceptions and CSP violations are captured
// through DevTools and fail the check; an HTTP error status is only logged;
// a declared console error does not fail it.
func TestHarnessCapturesConsoleErrorsAndCSPViolations(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{
		"/": htmlPage("Errors", `<script src="/bad.js"></script>`,
			`<p style="color: red">inline style</p><script>document.title = "inline ran";</script>`),
		"/bad.js": `console.error("deliberate console error");
fetch("/missing");
window.addEventListener("load", () => { throw new Error("deliberate exception"); });`,
		"/clean": htmlPage("Clean", `<script src="/ready.js"></script>`, `<p>fine</p>`),
		"/ready.js": `document.addEventListener("DOMContentLoaded", () => document.body.setAttribute("data-ready", ""));
console.error("declared error");`,
	})
	rec := &recordingTB{TB: t}
	p := NewPage(rec, Desktop)
	p.Navigate(srv.URL + "/")
	// Events the browser sent before the reply to a command are seen
	// before the command returns: one round trip after the load suffices.
	Eval[bool](p, `true`)
	want := map[string]*regexp.Regexp{
		"console.error":       regexp.MustCompile(`^console\.error: deliberate console error$`),
		"uncaught exception":  regexp.MustCompile(`^uncaught exception: .*deliberate exception`),
		"inline style (CSP)":  regexp.MustCompile(`^securitypolicyviolation .*"directive":"style-src-attr"`),
		"inline script (CSP)": regexp.MustCompile(`^securitypolicyviolation .*"directive":"script-src-elem"`),
	}
	problems := p.TakeProblems()
	for name, re := range want {
		ok := false
		for _, pr := range problems {
			ok = ok || re.MatchString(pr)
		}
		if !ok {
			t.Errorf("%s not captured; got %q", name, problems)
		}
	}
	if title := Eval[string](p, `document.title`); title == "inline ran" {
		t.Error("the inline script ran despite the CSP")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(p.Statuses()) == 0 && time.Now().Before(deadline) {
		Eval[bool](p, `new Promise((r) => setTimeout(() => r(true), 20))`) // a round trip
	}
	if st := p.Statuses(); len(st) == 0 || !strings.Contains(st[0], "404") {
		t.Errorf("404 not logged as a status: %q", st)
	}
	for _, pr := range p.TakeProblems() {
		t.Errorf("the 404 counted as a problem: %s", pr)
	}

	// The report at the end of a check: an unexpected error fails it, a
	// declared one does not.
	p.ExpectConsoleError("declared error")
	p.Open(srv.URL + "/clean")
	p.Exec(`console.error("surprise")`)
	p.finish()
	got := rec.reported()
	if len(got) != 1 || !strings.Contains(got[0], "console.error: surprise") {
		t.Errorf("finish reported %q, want only the surprise", got)
	}
	p.TakeProblems() // the Page's own cleanup must not report them again
}

func TestHarnessReadySettleAndKeyboard(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{
		"/": htmlPage("Ready", `<script src="/app.js" defer></script>`,
			`<label for="a">A</label><input id="a" name="a"><label for="b">B</label><input id="b" name="b">`+
				`<button type="button" id="swap">Swap</button><p id="out">before</p>`),
		"/app.js": readyJS,
	})
	p := NewPage(t, Desktop)
	if status := p.Open(srv.URL + "/"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	p.Settle(Click("#swap"))
	if got := p.Text("#out"); got != "swapped" {
		t.Errorf("after settle: %q", got)
	}
	p.Click("#a")
	p.Key("hi")
	p.Key(KeyTab)
	if f := p.Focused(); f != "input#b[name=b]" {
		t.Errorf("Tab focused %q", f)
	}
	p.ShiftTab()
	if f := p.Focused(); f != "input#a[name=a]" {
		t.Errorf("Shift-Tab focused %q", f)
	}
	if v, _ := p.Attr("#a", "name"); v != "a" {
		t.Errorf("attr %q", v)
	}
	if v := Eval[string](p, `document.getElementById("a").value`); v != "hi" {
		t.Errorf("typed %q", v)
	}
	p.Fill("#b", "filled")
	if v := Eval[string](p, `document.getElementById("b").value`); v != "filled" {
		t.Errorf("filled %q", v)
	}
}

func TestHarnessEmulation(t *testing.T) {
	t.Parallel()
	p := NewPage(t, Mobile)
	p.Navigate("data:text/html," + url.PathEscape(htmlPage("Media", "", "<p>media</p>")))
	if w := Eval[int](p, `window.innerWidth`); w != 375 {
		t.Errorf("mobile innerWidth %d", w)
	}
	p.EmulateColorScheme("dark")
	p.EmulateReducedMotion(true)
	if !Eval[bool](p, `matchMedia("(prefers-color-scheme: dark)").matches && matchMedia("(prefers-reduced-motion: reduce)").matches`) {
		t.Error("dark + reduced motion not emulated")
	}
	p.EmulateColorScheme("light")
	p.EmulateReducedMotion(false)
	if !Eval[bool](p, `matchMedia("(prefers-color-scheme: light)").matches && !matchMedia("(prefers-reduced-motion: reduce)").matches`) {
		t.Error("light + no preference not emulated")
	}
	p.SetViewport(Desktop)
	if w := Eval[int](p, `window.innerWidth`); w != 1280 {
		t.Errorf("desktop innerWidth %d", w)
	}
}

// Cookies are read through DevTools (HttpOnly included), response bodies
// are recorded, and two pages never share cookies.
func TestHarnessCookiesRecorderAndIsolation(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "hidden", Value: "v1", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			http.SetCookie(w, &http.Cookie{Name: "visible", Value: "v2", Path: "/", SameSite: http.SameSiteLaxMode})
			http.Redirect(w, r, "/body", http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprint(w, htmlPage("Body", "", `<p>marker-7f3a</p>`))
	}))
	t.Cleanup(srv.Close)
	p := NewPage(t, Desktop)
	p.Base = srv.URL
	rec := p.Record()
	if status := p.Navigate("/set"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	hidden := p.Cookie("hidden")
	if hidden == nil || !hidden.HTTPOnly || hidden.SameSite != network.CookieSameSiteLax {
		t.Errorf("HttpOnly cookie through DevTools: %+v", hidden)
	}
	if dc := Eval[string](p, `document.cookie`); dc != "visible=v2" {
		t.Errorf("document.cookie %q", dc)
	}
	var sawRedirect, sawBody bool
	for _, r := range rec.Responses() {
		sawRedirect = sawRedirect || (r.Status == http.StatusSeeOther && strings.HasSuffix(r.URL, "/set"))
		sawBody = sawBody || (r.Status == http.StatusOK && strings.Contains(r.Body, "marker-7f3a"))
	}
	if !sawRedirect || !sawBody {
		t.Errorf("recorded responses: redirect %v, body %v", sawRedirect, sawBody)
	}

	other := NewPage(t, Desktop)
	other.Base = srv.URL
	if c := other.Cookies(); len(c) != 0 {
		t.Errorf("a fresh browser context has cookies: %+v", c)
	}
	// A cookie put back through DevTools is sent (UI-4's old cookie).
	other.SetCookie(hidden)
	if c := other.Cookie("hidden"); c == nil || c.Value != "v1" {
		t.Errorf("SetCookie: %+v", c)
	}
}

// The backend of the harness: both listeners, the fake sandbox, seeding
// through the internal API.
func TestHarnessBackend(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	for _, base := range []string{b.URL, b.InternalURL} {
		if r := Request(t, http.MethodGet, base+"/readyz", nil); r.Status != http.StatusOK {
			t.Errorf("%s/readyz: %d %s", base, r.Status, r.Body)
		}
	}
	var created struct {
		ID string `json:"server_id"`
	}
	b.Manage(t, "mcpbox_create_server", map[string]any{"name": "weather", "description": "Forecasts"}, &created)
	if created.ID == "" {
		t.Fatal("mcpbox_create_server returned no id")
	}
	var listed struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	b.Manage(t, "mcpbox_list_servers", map[string]any{}, &listed)
	if len(listed.Items) != 1 || listed.Items[0].Name != "weather" {
		t.Errorf("listed %+v", listed)
	}
	// A tool through the LLM's path: the fake sandbox analyses it (the
	// secret name comes from the code), and the submission waits for review.
	var tool struct {
		ToolID      string         `json:"tool_id"`
		ExposedName string         `json:"exposed_name"`
		Manifest    proto.Manifest `json:"manifest"`
	}
	b.Manage(t, "mcpbox_create_tool", map[string]any{
		"server_id": created.ID, "name": "forecast", "hosts": []string{"api.example.com"},
		"code": "package main\n\nimport \"net/http\"\n\n// Main fetches a forecast.\nfunc Main() (string, error) {\n\t_ = mcpbox.Secret(\"API_KEY\")\n\t_ = http.Get\n\treturn \"\", nil\n}\n",
	}, &tool)
	if len(tool.Manifest.Secrets) != 1 || tool.Manifest.Secrets[0] != "API_KEY" || b.Sandbox.Hits(proto.PathSandboxAnalyze) == 0 {
		t.Errorf("created tool %+v; analyses %d", tool, b.Sandbox.Hits(proto.PathSandboxAnalyze))
	}
	var submitted struct {
		ReviewStatus proto.ReviewStatus `json:"review_status"`
	}
	b.Manage(t, "mcpbox_request_publish", map[string]any{"tool_id": tool.ToolID}, &submitted)
	if submitted.ReviewStatus != proto.ReviewPendingReview {
		t.Errorf("submitted: %+v", submitted)
	}
	// An execution record through the gateway's path.
	b.PostExecutions(t, proto.ExecutionRecord{
		ID: "5f0c6c1e-4a8e-4c55-9f3e-2b7d0e1a9c01", ToolID: tool.ToolID, ServerID: created.ID, ExposedName: tool.ExposedName,
		Via: proto.ViaDirect, Caller: proto.Caller{Kind: proto.CallerLocal}, Success: true, DurationMS: 12, StartedAt: time.Now().UTC(),
	})

	// The backend's sandbox client reaches the fake (packages).
	b.CreateAdmin(t)
	if r := b.API(t, http.MethodGet, "/api/v1/packages", nil, b.Bearer(t)...); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "encoding/csv") {
		t.Errorf("/api/v1/packages: %d %s", r.Status, r.Body)
	}
	if b.Sandbox.Hits(proto.PathSandboxPackages) == 0 {
		t.Error("the fake sandbox saw no packages request")
	}
	// A page of the browser reaches the main listener.
	p := b.NewPage(t, Desktop)
	if status := p.Navigate("/healthz"); status != http.StatusOK {
		t.Errorf("/healthz in the browser: %d", status)
	}
}

// The vendored axe-core is the file its NOTICE describes.
func TestAxeVendored(t *testing.T) {
	t.Parallel()
	notice, err := os.ReadFile("testdata/NOTICE")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(axeSource))
	if !regexp.MustCompile(`(?m)^\s*SHA-256:\s+` + hex.EncodeToString(sum[:]) + `$`).Match(notice) {
		t.Errorf("testdata/NOTICE does not name the SHA-256 of axe.min.js (%x)", sum)
	}
	if !strings.HasPrefix(axeSource, "/*! axe v4.") || !strings.Contains(string(notice), "axe-core 4.") || !strings.Contains(string(notice), "MPL-2.0") {
		t.Error("axe.min.js is not axe-core 4.x, or NOTICE lacks its version or licence")
	}
}
