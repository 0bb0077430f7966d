//go:build browser

package browsertest

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
)

// Browser checks of admin-ui.md §16 "Setup, session, security".

// setupFields are the inputs of the first setup step.
type setupFields struct{ code, username, password, confirm string }

func (p *Page) fillSetup(f setupFields) {
	p.t.Helper()
	p.Fill("#setup-code", f.code)
	p.Fill("#setup-username", f.username)
	p.Fill("#setup-password", f.password)
	p.Fill("#setup-confirm", f.confirm)
}

const setupSubmit = `#setup-account-form button[type="submit"]`

// validationAttrs are the attributes app.js validates with; removing them
// through DevTools sends the form to the server as typed.
var validationAttrs = []string{"required", "pattern", "maxlength", "minlength", "data-length", "data-match", "data-differs"}

func (p *Page) stripValidation(form string) {
	p.t.Helper()
	for _, a := range validationAttrs {
		p.Exec(`for (const e of document.querySelectorAll(` + jsString(form+" ["+a+"]") + `)) e.removeAttribute(` + jsString(a) + `); true`)
	}
	if n := Eval[int](p, `document.querySelectorAll(`+jsString(form+" [required], "+form+" [pattern], "+form+" [data-length], "+form+" [data-match]")+`).length`); n != 0 {
		p.t.Fatalf("%d validation attributes left", n)
	}
}

// fieldError returns the visible error text of the field with the id, ""
// when it shows none, and checks aria-invalid agrees.
func (p *Page) fieldError(id string) string {
	p.t.Helper()
	msg := Eval[string](p, `((e) => e && !e.hidden ? e.textContent.trim() : "")(document.getElementById(`+jsString(id+"-error")+`))`)
	invalid, _ := p.Attr("#"+id, "aria-invalid")
	if (msg != "") != (invalid == "true") {
		p.t.Errorf("#%s: error %q but aria-invalid=%q", id, msg, invalid)
	}
	return msg
}

// lastStatus is the status of the last recorded POST to path (every form
// of the UI posts).
func lastStatus(t *testing.T, rec *Recorder, path string) int64 {
	t.Helper()
	var status int64
	for _, r := range rec.Responses() {
		if r.Method == http.MethodPost && strings.HasSuffix(strings.SplitN(r.URL, "?", 2)[0], path) {
			status = r.Status
		}
	}
	return status
}

func TestUI1_FirstRunSetup(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	p := b.NewPage(t, Desktop)
	rec := p.Record()

	// Fresh database: every page leads to /setup.
	if status := p.Open("/servers"); status != http.StatusOK || p.Path() != "/setup" {
		t.Fatalf("/servers on a fresh database: %d at %s, want /setup", status, p.Path())
	}
	valid := setupFields{code: b.SetupCode, username: AdminName, password: AdminPassword, confirm: AdminPassword}
	cases := []struct {
		name  string
		field string // the input whose error shows
		in    setupFields
		// client: app.js catches it before any request.
		client bool
	}{
		{"username ab", "setup-username", setupFields{valid.code, "ab", valid.password, valid.confirm}, true},
		{"11-character password", "setup-password", setupFields{valid.code, AdminName, "abcdefghijk", "abcdefghijk"}, true},
		{"mismatched confirmation", "setup-confirm", setupFields{valid.code, AdminName, valid.password, valid.password + "x"}, true},
		{"wrong setup code", "setup-code", setupFields{"AAAA-BBBB-CCCC-DDDD", AdminName, valid.password, valid.confirm}, false},
	}
	for _, c := range cases {
		var clientMsg string
		if c.client {
			posts := lastStatusCount(rec, "/setup")
			p.fillSetup(c.in)
			p.Click(setupSubmit)
			p.WaitFor(`!document.getElementById(`+jsString(c.field+"-error")+`).hidden`, 5*time.Second, c.name+": the field error")
			clientMsg = p.fieldError(c.field)
			if lastStatusCount(rec, "/setup") != posts {
				t.Errorf("%s: the form was sent despite the client-side error", c.name)
			}
			if f := p.Focused(); f != "div#error-summary" {
				t.Errorf("%s: focus on %q, want the error summary", c.name, f)
			}
			p.stripValidation("#setup-account-form")
		}
		p.fillSetup(c.in)
		p.Settle(Click(setupSubmit))
		if st := lastStatus(t, rec, "/setup"); st != http.StatusUnprocessableEntity {
			t.Errorf("%s: POST /setup answered %d, want 422", c.name, st)
		}
		serverMsg := p.fieldError(c.field)
		switch {
		case serverMsg == "":
			t.Errorf("%s: the server showed no error under #%s", c.name, c.field)
		case c.client && serverMsg != clientMsg:
			t.Errorf("%s: client says %q, server says %q", c.name, clientMsg, serverMsg)
		}
		if v := Eval[string](p, `document.getElementById("setup-password").value + document.getElementById("setup-confirm").value`); v != "" {
			t.Errorf("%s: the server echoed a password", c.name)
		}
		for _, other := range []string{"setup-code", "setup-username", "setup-password", "setup-confirm"} {
			if other != c.field && p.fieldError(other) != "" {
				t.Errorf("%s: #%s shows %q too", c.name, other, p.fieldError(other))
			}
		}
	}

	// Valid input with Strict (preselected) opens the dashboard.
	p.fillSetup(valid)
	p.Submit(Click(setupSubmit))
	if p.Path() != "/setup" || p.Count("#setup-security-form") != 1 {
		t.Fatalf("after the account step: %s, want the security step", p.Path())
	}
	if checked := Eval[string](p, `document.querySelector('input[name="profile"]:checked')?.value || ""`); checked != "strict" {
		t.Errorf("preselected profile %q, want strict", checked)
	}
	p.Submit(Click(`#setup-security-form button[type="submit"]`))
	if p.Path() != "/" || !strings.HasPrefix(Eval[string](p, `document.title`), "Dashboard") {
		t.Errorf("after setup: %s %q, want the dashboard", p.Path(), Eval[string](p, `document.title`))
	}
	// The account exists, onboarding is complete and the policy is Strict's.
	bearer := b.Bearer(t)
	if r := b.API(t, http.MethodGet, "/api/v1/auth/status", nil); !strings.Contains(string(r.Body), `"onboarding_completed":true`) {
		t.Errorf("auth status after setup: %s", r.Body)
	}
	r := b.API(t, http.MethodGet, "/api/v1/settings/security-policy", nil, bearer...)
	for _, want := range []string{`"tool_approval_mode":"require_approval"`, `"package_approval_mode":"require_approval"`, `"network_access_policy":"approved_hosts_only"`, `"remote_tool_editing":"disabled"`} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("security policy after Strict lacks %s: %d %s", want, r.Status, r.Body)
		}
	}
	if status := p.Open("/setup"); status != http.StatusNotFound {
		t.Errorf("/setup after setup: %d, want 404", status)
	}
}

// lastStatusCount counts the recorded POSTs to path.
func lastStatusCount(rec *Recorder, path string) int {
	n := 0
	for _, r := range rec.Responses() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL, path) {
			n++
		}
	}
	return n
}

var tooMany = regexp.MustCompile(`Too many attempts\. Try again in \d+ seconds?\.`)

func TestUI3_LoginFailuresThrottlingAndCookie(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	rec := p.Record()
	p.Open("/login")
	for i := 1; i <= 6; i++ {
		p.Fill("#login-username", AdminName)
		p.Fill("#login-password", "wrong password number "+string(rune('0'+i)))
		p.Settle(Click(`#login-form button[type="submit"]`))
		summary := p.Text("#error-summary")
		status := lastStatus(t, rec, "/login")
		if i <= 5 {
			if status != http.StatusUnprocessableEntity || !strings.Contains(summary, "Invalid username or password.") {
				t.Errorf("failure %d: %d %q, want 422 and the generic message", i, status, summary)
			}
		} else if status != http.StatusTooManyRequests || !tooMany.MatchString(summary) {
			t.Errorf("sixth failure: %d %q, want 429 and the wait", status, summary)
		}
		if v := Eval[string](p, `document.getElementById("login-username").value`); v != AdminName {
			t.Errorf("failure %d: username %q not kept", i, v)
		}
		if v := Eval[string](p, `document.getElementById("login-password").value`); v != "" {
			t.Errorf("failure %d: the password field is not empty", i)
		}
		if f := p.Focused(); f != "input#login-password[name=password]" {
			t.Errorf("failure %d: focus on %q, want the password", i, f)
		}
	}
	// A minute later the right password works.
	b.Clock.Advance(61 * time.Second)
	p.Fill("#login-password", AdminPassword)
	p.Submit(Click(`#login-form button[type="submit"]`))
	if p.Path() != "/" || p.Count("#signed-in-user") != 1 {
		t.Fatalf("after the right password: %s", p.Path())
	}
	c := p.Cookie("mcpbox_session")
	if c == nil {
		t.Fatalf("no mcpbox_session cookie; cookies: %+v", p.Cookies())
	}
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" {
		t.Errorf("session cookie HttpOnly=%v SameSite=%q Path=%q, want HttpOnly, Lax, /", c.HTTPOnly, c.SameSite, c.Path)
	}
	if dc := Eval[string](p, `document.cookie`); strings.Contains(dc, "mcpbox_session") || strings.Contains(dc, c.Value) {
		t.Errorf("document.cookie exposes the session: %q", dc)
	}
	if keys := Eval[[]string](p, `[...Object.keys(localStorage).map((k) => "localStorage " + k), ...Object.keys(sessionStorage).map((k) => "sessionStorage " + k)]`); len(keys) != 0 {
		t.Errorf("browser storage is not empty: %q", keys)
	}
}

func TestUI4_SignOutBackAndNext(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	if p.Path() != "/" {
		t.Fatalf("signed in at %s", p.Path())
	}
	old := p.Cookie("mcpbox_session")
	if old == nil {
		t.Fatal("no session cookie after sign-in")
	}
	p.SignOut()
	signedOutLanding(t, p)
	// Back never shows the signed-in page again.
	p.Back()
	p.WaitFor(readyExpr+` && location.pathname === "/login"`, 10*time.Second, "Back to show the login page, not the cached dashboard")
	if p.Count("#signed-in-user") != 0 {
		t.Error("Back shows signed-in content")
	}
	// The old cookie is refused.
	p.SetCookie(old)
	p.Open("/")
	if path := p.Path(); !strings.HasPrefix(path, "/login") || p.Count("#signed-in-user") != 0 {
		t.Errorf("the old session cookie opened %s", path)
	}

	// Signed out, a deep link leads through login to that URL.
	q := NewPage(t, Desktop)
	q.Base = b.URL
	q.Open("/approvals?kind=network")
	if path := q.Path(); path != "/login?next=%2Fapprovals%3Fkind%3Dnetwork" {
		t.Errorf("signed out /approvals?kind=network went to %s", path)
	}
	q.SignInHere(AdminName, AdminPassword)
	if path := q.Path(); path != "/approvals?kind=network" {
		t.Errorf("after sign-in: %s, want /approvals?kind=network", path)
	}
	q.SignOut()
	signedOutLanding(t, q)
	// A next that leaves the site lands on /.
	q.Open("/login?next=//evil.example")
	q.SignInHere(AdminName, AdminPassword)
	if u := q.URL(); u != b.URL+"/" {
		t.Errorf("next=//evil.example landed on %s, want %s/", u, b.URL)
	}
}

// signedOutLanding checks that signing out landed on the plain login page:
// /login, with no banner (not "Your session expired", which would tell the
// admin something that did not happen).
func signedOutLanding(t *testing.T, p *Page) {
	t.Helper()
	if path := p.Path(); path != "/login" {
		t.Errorf("sign-out landed on %s (banner %q), want /login", path, p.Text("#login-banner"))
	}
	if p.Count("#login-form") != 1 {
		t.Error("sign-out did not land on the login form")
	}
}

// fetchStatus POSTs to path from the page with fetch, with optional
// headers, and returns the status (redirects not followed).
func fetchStatus(p *Page, path string, headers map[string]string) int {
	p.t.Helper()
	h := "{"
	for k, v := range headers {
		h += jsString(k) + ":" + jsString(v) + ","
	}
	h += "}"
	return Eval[int](p, `fetch(`+jsString(path)+`, {method: "POST", redirect: "manual", headers: `+h+`,
  body: new URLSearchParams({}), credentials: "same-origin"}).then((r) => r.type === "opaqueredirect" ? 303 : r.status)`)
}

// signedIn reports whether the page's session still opens the dashboard,
// asking outside the page so its DOM stays.
func signedIn(p *Page) bool {
	p.t.Helper()
	return Eval[bool](p, `fetch("/", {redirect: "manual"}).then((r) => r.type !== "opaqueredirect")`)
}

func TestUI5_CSRFAndOriginRefused(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	other := b.NewPage(t, Desktop)
	other.SignIn()
	otherToken := other.CSRFToken()
	own := p.CSRFToken()
	if own == "" || otherToken == "" || own == otherToken {
		t.Fatalf("CSRF tokens %q and %q", own, otherToken)
	}
	// Sign-out is the mutation: refused, it changes nothing.
	if st := fetchStatus(p, "/logout", nil); st != http.StatusForbidden {
		t.Errorf("POST /logout without a token: %d, want 403", st)
	}
	if st := fetchStatus(p, "/logout", map[string]string{"X-CSRF-Token": otherToken}); st != http.StatusForbidden {
		t.Errorf("POST /logout with another session's token: %d, want 403", st)
	}
	stop := p.OverrideRequestHeader("*/logout", "Origin", "https://evil.example")
	if st := fetchStatus(p, "/logout", map[string]string{"X-CSRF-Token": own}); st != http.StatusForbidden {
		t.Errorf("POST /logout from Origin https://evil.example: %d, want 403", st)
	}
	stop()
	if !signedIn(p) || !signedIn(other) {
		t.Fatal("a refused request ended a session")
	}
	// The same action through the UI succeeds.
	p.SignOut()
	signedOutLanding(t, p)
	if signedIn(p) {
		t.Error("still signed in after signing out through the UI")
	}
	if !signedIn(other) {
		t.Error("signing out one session ended the other")
	}
}

// uiPolicy is the Content-Security-Policy of admin-ui.md §4, exactly.
const uiPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// TestUI7_CSPEverywhere walks every page the UI serves, signed out and in:
// every HTML response carries the §4 policy, the DOM holds no inline code,
// and no securitypolicyviolation fires (the harness fails any check on
// one, so the whole suite holds UI-7's first clause).
func TestUI7_CSPEverywhere(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	p := b.NewPage(t, Desktop)
	rec := p.Record()
	scan := func(what string) {
		t.Helper()
		for _, bad := range p.InlineCode() {
			t.Errorf("%s: %s", what, bad)
		}
	}
	p.Open("/setup")
	scan("setup")
	p.Open(notFoundPath)
	scan("404 signed out")
	b.CreateAdmin(t)
	p.Open("/login")
	scan("login")
	p.SignInHere(AdminName, AdminPassword)
	for _, path := range shellPages {
		p.Open(path)
		scan(path)
	}
	p.Open(notFoundPath)
	scan("404")
	html := 0
	for _, r := range rec.Responses() {
		if !strings.HasPrefix(r.MIME, "text/html") {
			continue
		}
		html++
		if got := strings.TrimSuffix(r.Header["content-security-policy"], ";"); got != uiPolicy {
			t.Errorf("%s %s (%d): Content-Security-Policy %q", r.Method, r.URL, r.Status, got)
		}
	}
	if html < len(shellPages)+4 {
		t.Errorf("only %d HTML responses recorded", html)
	}
}

// UI-6 in the browser: two signed-in contexts are listed under Settings ›
// Sessions; a confirmed "Sign out everywhere" in one sends the other to
// /login within 5 s (the session event on its stream); an htmx request
// there with its cookie from before gets HX-Redirect, never a fragment.
func TestUI6_SignOutEverywhereBrowser(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	other := b.NewPage(t, Desktop)
	other.SignIn()
	old := other.Cookie("mcpbox_session")
	oldToken := other.CSRFToken()
	other.Open("/servers")
	other.WaitFor(`document.querySelector("#live-indicator")?.dataset.state === "live"`, 10*time.Second, "the other context's event stream")
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/settings?tab=sessions")
	if n := p.Count("#settings-sessions tbody tr"); n != 2 {
		t.Fatalf("Sessions lists %d sessions, want 2", n)
	}
	p.Click("#settings-end-all")
	p.WaitFor(`document.getElementById("settings-confirm-end-all").open`, 5*time.Second, "the sign-out-everywhere dialog")
	p.Click("#settings-confirm-end-all [data-dialog-confirm]")
	p.WaitFor(`location.pathname === "/login"`, 10*time.Second, "this context at /login")
	other.WaitFor(`location.pathname === "/login"`, 5*time.Second, "the other context at /login (the session event)")
	if other.Count("#signed-in-user") != 0 {
		t.Error("the other context still shows signed-in content")
	}

	// An htmx action with the cookie from before: HX-Redirect, no fragment.
	other.SetCookie(old)
	type answer struct {
		Status   int    `json:"status"`
		Redirect string `json:"redirect"`
		Body     string `json:"body"`
	}
	for _, req := range []struct{ method, path string }{{"GET", "/servers"}, {"POST", "/settings/sessions/end-all"}} {
		got := Eval[answer](other, `fetch(`+jsString(req.path)+`, {method: `+jsString(req.method)+`, redirect: "manual",
  headers: {"HX-Request": "true", "HX-Current-URL": location.origin + "/servers", "X-CSRF-Token": `+jsString(oldToken)+`}})
  .then(async (r) => ({status: r.status, redirect: r.headers.get("HX-Redirect") || "", body: await r.text()}))`)
		if got.Status != http.StatusUnauthorized || !strings.HasPrefix(got.Redirect, "/login") {
			t.Errorf("%s %s with the old cookie: %d, HX-Redirect %q; want 401 and /login", req.method, req.path, got.Status, got.Redirect)
		}
		if strings.Contains(got.Body, "<h1") || strings.Contains(got.Body, `id="servers-`) || strings.Contains(got.Body, `id="settings-`) {
			t.Errorf("%s %s with the old cookie answered a fragment: %.200s", req.method, req.path, got.Body)
		}
	}
}
