package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/buildinfo"

	"golang.org/x/net/html"
)

// signedInPages are the main pages and what their shell marks as current.
var signedInPages = []struct {
	path, title, nav string
	status           int
}{
	{"/", "Dashboard", "dashboard", http.StatusOK},
	{"/servers", "Servers", "servers", http.StatusOK},
	{"/approvals", "Approvals", "approvals", http.StatusOK},
	{"/activity", "Activity", "activity", http.StatusOK},
	{"/remote-access", "Remote access", "remote-access", http.StatusOK},
	{"/settings", "Settings", "settings", http.StatusOK},
	{"/servers/7f9619ff-8b86-d011-b42d-00c04fc964ff", "Page not found", "", http.StatusNotFound},
	{"/tools/7f9619ff-8b86-d011-b42d-00c04fc964ff", "Page not found", "", http.StatusNotFound},
	{"/oauth/callback?state=x&code=y", "The sign-in did not complete", "", http.StatusBadRequest},
}

// Every page the UI renders today, in each state (empty, with errors,
// refusals), full and as an htmx fragment, passes the checks of
// admin-ui.md §13 and carries the §4 headers.
//
// UI-7 (below the browser): every HTML response carries the §4 CSP and no
// inline script, style= or on*= attribute.
// UI-8 (below the browser): each main link's page marks it
// aria-current="page", has one h1 and a distinct <title>.
func TestUI7_EveryPageSafeAndAccessible(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.10")
	hx := []string{"HX-Request", "true"}

	// Fresh database: setup step 1, empty and with every field error.
	p := br.get(t, "/setup")
	wantStatus(t, "setup", p, http.StatusOK)
	checkHTML(t, "setup", p, true)
	checkHTML(t, "setup (htmx)", br.get(t, "/setup", hx...), false)
	bad := url.Values{"_csrf": {p.csrf(t)}, "setup_code": {""}, "username": {"ab"}, "password": {"short"}, "confirm_password": {"other"}}
	p = br.post(t, "/setup", bad)
	wantStatus(t, "setup errors", p, http.StatusUnprocessableEntity)
	checkHTML(t, "setup errors", p, true)
	p = br.post(t, "/setup", bad, hx...)
	wantStatus(t, "setup errors (htmx)", p, http.StatusUnprocessableEntity)
	checkHTML(t, "setup errors (htmx)", p, false)
	if isFullPage(p) || p.byID("setup-account-form") == nil {
		t.Errorf("htmx 422 is not the form fragment: %.200s", p.body)
	}
	// The login page redirects to setup while no admin exists.
	if r := br.get(t, "/login"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/setup" {
		t.Errorf("/login before setup: %d %s", r.status, r.header.Get("Location"))
	}

	// Step 2, and its error state.
	p = br.post(t, "/setup", url.Values{
		"_csrf": {br.get(t, "/setup").csrf(t)}, "setup_code": {b.code}, "username": {adminName},
		"password": {adminPass}, "confirm_password": {adminPass},
	})
	wantStatus(t, "setup account", p, http.StatusSeeOther)
	p = br.get(t, "/setup")
	wantStatus(t, "setup step 2", p, http.StatusOK)
	checkHTML(t, "setup step 2", p, true)
	for _, id := range []string{"profile-strict", "profile-balanced", "profile-permissive", "confirm-balanced", "confirm-permissive"} {
		if p.byID(id) == nil {
			t.Errorf("setup step 2: no #%s", id)
		}
	}
	p = br.post(t, "/setup/security", url.Values{"_csrf": {p.csrf(t)}, "profile": {"reckless"}})
	wantStatus(t, "setup step 2 error", p, http.StatusUnprocessableEntity)
	checkHTML(t, "setup step 2 error", p, true)
	p = br.post(t, "/setup/security", url.Values{"_csrf": {br.token(t)}, "profile": {"strict"}})
	wantStatus(t, "setup step 2 done", p, http.StatusSeeOther)
	p = br.post(t, "/setup/security", url.Values{"_csrf": {br.token(t)}, "profile": {"strict"}})
	wantStatus(t, "setup step 2 again", p, http.StatusConflict)
	checkHTML(t, "setup step 2 again", p, true)

	// The main pages and their fragments.
	titles := map[string]bool{}
	for _, pg := range signedInPages {
		p := br.get(t, pg.path)
		wantStatus(t, pg.path, p, pg.status)
		checkHTML(t, pg.path, p, true)
		title := textOf(find(p.doc, func(n *html.Node) bool { return n.Data == "title" }))
		if title != pg.title+" · MCPbox" || (pg.status == http.StatusOK && titles[title]) {
			t.Errorf("%s: title %q (distinct titles so far: %v)", pg.path, title, titles)
		}
		titles[title] = true
		current := findAll(p.doc, func(n *html.Node) bool { return attr(n, "aria-current") == "page" && attr(n, "data-nav") != "" })
		switch {
		case pg.nav == "" && len(current) != 0:
			t.Errorf("%s: %d main links are current", pg.path, len(current))
		case pg.nav != "" && (len(current) != 1 || attr(current[0], "data-nav") != pg.nav):
			t.Errorf("%s: current links %d, want %s", pg.path, len(current), pg.nav)
		}
		if pg.status == http.StatusNotFound {
			continue // htmx gets a toast for a 404, checked below
		}
		f := br.get(t, pg.path, hx...)
		checkHTML(t, pg.path+" (htmx)", f, false)
		if isFullPage(f) {
			t.Errorf("%s (htmx): not a fragment: %.200s", pg.path, f.body)
		}
	}

	// The badge fragment route, full and fragment (U7).
	p = br.get(t, "/ui/badge")
	wantStatus(t, "badge page", p, http.StatusOK)
	checkHTML(t, "badge page", p, true)
	p = br.get(t, "/ui/badge", hx...)
	checkHTML(t, "badge fragment", p, false)

	// 404, signed in and out; 403.
	p = br.get(t, "/servers/x/nothing-here")
	wantStatus(t, "404", p, http.StatusNotFound)
	checkHTML(t, "404", p, true)
	if p.text("request-id") != p.header.Get("X-Request-Id") || attr(p.byID("error-home"), "href") != "/" {
		t.Errorf("404 page: request id %q (header %q), home link %q", p.text("request-id"), p.header.Get("X-Request-Id"), attr(p.byID("error-home"), "href"))
	}
	p = br.post(t, "/logout", url.Values{})
	wantStatus(t, "403", p, http.StatusForbidden)
	checkHTML(t, "403", p, true)
	if !strings.Contains(p.text("main"), "This form has expired. Reload the page and try again.") {
		t.Errorf("403 page reads %q", p.text("main"))
	}

	// Sign out; the login page: empty, each banner, errors.
	p = br.post(t, "/logout", url.Values{"_csrf": {br.token(t)}})
	wantStatus(t, "logout", p, http.StatusSeeOther)
	out := b.browser(t, "192.0.2.11")
	checkHTML(t, "404 signed out", out.get(t, "/ui/nothing-here"), true)
	p = out.get(t, "/login")
	wantStatus(t, "login", p, http.StatusOK)
	checkHTML(t, "login", p, true)
	for _, reason := range []string{"expired", "password", "everywhere"} {
		checkHTML(t, "login "+reason, out.get(t, "/login?reason="+reason), true)
	}
	p = out.post(t, "/login", url.Values{"_csrf": {p.csrf(t)}, "username": {adminName}, "password": {"wrong password!"}})
	wantStatus(t, "login error", p, http.StatusUnprocessableEntity)
	checkHTML(t, "login error", p, true)
	p = out.post(t, "/login", url.Values{"_csrf": {out.get(t, "/login").csrf(t)}}, hx...)
	wantStatus(t, "login empty (htmx)", p, http.StatusUnprocessableEntity)
	checkHTML(t, "login empty (htmx)", p, false)
	if p.byID("login-form") == nil || isFullPage(p) {
		t.Errorf("login 422 fragment: %.200s", p.body)
	}
	// Setup is over: 404.
	p = out.get(t, "/setup")
	wantStatus(t, "setup after setup", p, http.StatusNotFound)
	checkHTML(t, "setup after setup", p, true)
}

// The shell's DOM contract (admin-ui.md §5) that app.js and the browser
// checks rely on.
//
// UI-9 (below the browser): the theme cookie is rendered as data-theme in
// the raw HTML, with its radio checked.
// UI-10 (below the browser): the Menu button controls the drawer and
// starts collapsed.
// UI-11 (below the browser): the badge's accessible text reads "N pending
// approvals" and it is hidden at zero.
func TestShellDOMContract(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.20")
	br.setup(t, "strict")
	p := br.get(t, "/approvals", "Cookie", "mcpbox_theme=dark")
	root := find(p.doc, func(n *html.Node) bool { return n.Data == "html" })
	if attr(root, "data-theme") != "dark" {
		t.Errorf("data-theme %q from the theme cookie", attr(root, "data-theme"))
	}
	for _, c := range []struct{ id, attr, want string }{
		{"menu-button", "aria-controls", "nav-drawer"},
		{"menu-button", "aria-expanded", "false"},
		{"nav-drawer", "aria-label", "Main"},
		{"menu-close", "aria-label", "Close menu"},
		{"live-indicator", "role", "status"},
		{"live-indicator", "data-state", "connecting"},
		{"approvals-badge", "hx-get", "/ui/badge"},
		{"approvals-badge", "data-count", "0"},
		{"main", "tabindex", "-1"},
		{"theme-dark", "value", "dark"},
	} {
		n := p.byID(c.id)
		if n == nil || attr(n, c.attr) != c.want {
			t.Errorf("#%s[%s] = %q, want %q", c.id, c.attr, attr(n, c.attr), c.want)
		}
	}
	if n := p.byID("approvals-badge"); n == nil || !hasAttr(n, "hidden") || !strings.Contains(attr(n, "hx-trigger"), "mcpbox:approvals from:body") {
		t.Errorf("badge at zero: %v", n)
	}
	if n := p.byID("theme-dark"); n == nil || !hasAttr(n, "checked") {
		t.Error("the Dark radio is not checked")
	}
	if got := p.text("signed-in-user"); got != adminName {
		t.Errorf("signed-in admin %q", got)
	}
	if got := p.text("version"); got != buildinfo.Version {
		t.Errorf("footer version %q", got)
	}
	body := find(p.doc, func(n *html.Node) bool { return n.Data == "body" })
	if attr(body, "data-offline-after") != "10000" || attr(body, "data-fallback-tick") != "30000" {
		t.Errorf("timers %q %q", attr(body, "data-offline-after"), attr(body, "data-fallback-tick"))
	}
	if hasAttr(body, "data-ready") {
		t.Error("data-ready is app.js's to set")
	}
	legend := find(p.byID("theme-switch"), func(n *html.Node) bool { return n.Data == "legend" })
	if legend == nil || textOf(legend) != "Theme" {
		t.Error("theme group without its legend")
	}

	// Pending approvals show on the badge with their accessible text.
	b.sql(t, `INSERT INTO package_requests (package, status) VALUES ('acme/lib1', 'pending')`)
	b.sql(t, `INSERT INTO package_requests (package, status) VALUES ('acme/lib2', 'pending')`)
	p = br.get(t, "/ui/badge", "HX-Request", "true")
	n := p.byID("approvals-badge")
	if n == nil || hasAttr(n, "hidden") || attr(n, "data-count") != "2" || !strings.Contains(textOf(n), "2 pending approvals") {
		t.Errorf("badge with two pending: %q", p.body)
	}
}

// Static files are content-addressed and cached for a year; a name
// without its hash is 404.
func TestStaticAssetsImmutable(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.21")
	p := br.get(t, "/setup")
	urls := map[string]string{} // URL → wanted content type
	for _, n := range findAll(p.doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "link" || n.Data == "use" }) {
		u := attr(n, "src") + attr(n, "href")
		u, _, _ = strings.Cut(u, "#")
		switch {
		case strings.HasSuffix(u, ".js"):
			urls[u] = "text/javascript; charset=utf-8"
		case strings.HasSuffix(u, ".css"):
			urls[u] = "text/css; charset=utf-8"
		case strings.HasSuffix(u, ".svg"):
			urls[u] = "image/svg+xml"
		}
	}
	if len(urls) != 12 { // htmx, app.js, app.css, code.css, favicon, icons and the six area sheets
		t.Fatalf("assets %v", urls)
	}
	for u, ctype := range urls {
		r := br.get(t, u)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != ctype || r.body == "" ||
			r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d %q %q", u, r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
		}
	}
	for _, u := range []string{"/static/app.js", "/static/NOTICE", "/static/app.0000000000.js", "/static/../templates/layout.html"} {
		if r := br.get(t, u); r.status == http.StatusOK || strings.Contains(r.body, "{{define") {
			t.Errorf("GET %s: %d", u, r.status)
		}
	}
}
