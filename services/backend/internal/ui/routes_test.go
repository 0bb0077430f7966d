package ui_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/ui"
)

// mutations are the non-GET routes of the table, with a form that reaches
// their handler once the guard lets it through.
func mutations(t *testing.T) []ui.Route {
	t.Helper()
	var out []ui.Route
	for _, rt := range ui.Table() {
		if rt.Method != http.MethodGet {
			out = append(out, rt)
		}
	}
	if len(out) < 4 {
		t.Fatalf("only %d mutation routes in the table", len(out))
	}
	return out
}

// formFor is a body for a mutation route (the _csrf field set apart).
func formFor(b *backend, pattern string) url.Values {
	switch pattern {
	case "/setup":
		return url.Values{"setup_code": {b.code}, "username": {"other"}, "password": {adminPass}, "confirm_password": {adminPass}}
	case "/setup/security":
		return url.Values{"profile": {"permissive"}}
	case "/login":
		return url.Values{"username": {adminName}, "password": {adminPass}}
	}
	return url.Values{}
}

// UI-5 (below the browser): every non-GET route refuses, with 403 and
// nothing changed, a request without the CSRF token, with another
// session's token, from another origin (Origin, else Sec-Fetch-Site); the
// same request with the right token from the page itself passes the guard.
func TestUI5_MutationsRefuseMissingTokenAndForeignOrigin(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	admin := b.browser(t, "192.0.2.30")
	admin.setup(t, "strict")
	other := b.browser(t, "192.0.2.31")
	other.login(t)
	otherToken := other.token(t)

	for _, rt := range mutations(t) {
		// A browser in the state the route expects: signed in, or holding
		// a pre-session cookie from the login page.
		br := b.browser(t, "192.0.2.32")
		var token string
		if rt.Access == ui.Session {
			br.login(t)
			token = br.token(t)
		} else {
			token = br.get(t, "/login").csrf(t)
		}
		name := rt.Method + " " + rt.Pattern
		path := wildcard.ReplaceAllString(rt.Pattern, "7f9619ff-8b86-d011-b42d-00c04fc964ff")
		send := func(tok string, header ...string) page {
			f := formFor(b, rt.Pattern)
			if tok != "" {
				f.Set("_csrf", tok)
			}
			return br.post(t, path, f, header...)
		}
		for _, c := range []struct {
			what   string
			token  string
			header []string
		}{
			{"no token", "", nil},
			{"another session's token", otherToken, nil},
			{"a made-up token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil},
			{"cross-site Origin", token, []string{"Origin", "https://evil.example"}},
			{"Origin of another port", token, []string{"Origin", strings.Replace(b.srv.URL, "127.0.0.1:", "127.0.0.1:1", 1)}},
			{"cross-site Sec-Fetch-Site", token, []string{"Sec-Fetch-Site", "cross-site"}},
			{"same-site Sec-Fetch-Site", token, []string{"Sec-Fetch-Site", "same-site"}},
		} {
			p := send(c.token, c.header...)
			if p.status != http.StatusForbidden || !strings.Contains(p.body, "This form has expired. Reload the page and try again.") {
				t.Errorf("%s with %s: %d %.200s", name, c.what, p.status, p.body)
			}
			checkHeaders(t, name+" "+c.what, p)
			if p.header.Get("Set-Cookie") != "" && strings.Contains(p.header.Get("Set-Cookie"), "mcpbox_session=") {
				t.Errorf("%s with %s set a session cookie", name, c.what)
			}
		}
		// htmx: 403 and the same text as a toast.
		p := send("", "HX-Request", "true")
		if p.status != http.StatusForbidden || !strings.Contains(p.header.Get("HX-Trigger"), "This form has expired. Reload the page and try again.") {
			t.Errorf("%s (htmx) without token: %d, HX-Trigger %q", name, p.status, p.header.Get("HX-Trigger"))
		}
		// The token in the header instead of the field is accepted, and
		// the request reaches the handler (except the one that would sign
		// out every session of the admin, the check below included).
		if name == "POST /settings/sessions/end-all" {
			continue
		}
		f := formFor(b, rt.Pattern)
		p = br.post(t, path, f, "X-CSRF-Token", token, "Origin", b.srv.URL, "Sec-Fetch-Site", "same-origin")
		if p.status == http.StatusForbidden {
			t.Errorf("%s with the right token: 403 %.200s", name, p.body)
		}
	}
	// Nothing the refusals touched changed: the first admin is still
	// signed in and the policy is still Strict.
	if p := admin.get(t, "/servers"); p.status != http.StatusOK {
		t.Errorf("the admin's session after the refusals: %d", p.status)
	}
	pol, _, err := b.policy.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if pol.ToolApprovalMode != "require_approval" || pol.NetworkAccessPolicy != "approved_hosts_only" {
		t.Errorf("policy changed: %+v", pol)
	}
}

// UI-4 (below the browser): a signed-out request for any page is sent to
// /login with the page as next (htmx: 401 with HX-Redirect, never a
// fragment); the stream answers 401; signing in lands on next, and a next
// pointing elsewhere lands on /.
func TestUI4_SignedOutGoesToLoginAndBack(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.browser(t, "192.0.2.40").setup(t, "strict")
	anon := b.browser(t, "192.0.2.41")
	for _, rt := range ui.Table() {
		if rt.Method != http.MethodGet || rt.Access == ui.Public || rt.Access == ui.PreSession {
			continue
		}
		path := wildcard.ReplaceAllString(strings.ReplaceAll(rt.Pattern, "{$}", ""), "7f9619ff-8b86-d011-b42d-00c04fc964ff")
		p := anon.get(t, path)
		if rt.Access == ui.Stream {
			if p.status != http.StatusUnauthorized {
				t.Errorf("%s signed out: %d", path, p.status)
			}
			continue
		}
		want := "/login?next=" + url.QueryEscape(path)
		if path == "/" {
			want = "/login"
		}
		if p.status != http.StatusSeeOther || p.header.Get("Location") != want {
			t.Errorf("%s signed out: %d Location %q, want %q", path, p.status, p.header.Get("Location"), want)
		}
		checkHeaders(t, path+" redirect", p)
		p = anon.get(t, path, "HX-Request", "true", "HX-Current-URL", b.srv.URL+"/approvals?kind=tools")
		if p.status != http.StatusUnauthorized || p.header.Get("HX-Redirect") != "/login?next="+url.QueryEscape("/approvals?kind=tools") || strings.TrimSpace(p.body) != "" {
			t.Errorf("%s signed out (htmx): %d HX-Redirect %q body %q", path, p.status, p.header.Get("HX-Redirect"), p.body)
		}
	}
	// A POST without a session (and with the pre-session token it cannot
	// have) goes to login too, once its origin is ours.
	if p := anon.post(t, "/logout", url.Values{}); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login") {
		t.Errorf("POST /logout signed out: %d %s", p.status, p.header.Get("Location"))
	}

	// The login round trip keeps the page and its query.
	p := anon.get(t, "/approvals?kind=network")
	loc := p.header.Get("Location")
	lp := anon.get(t, loc)
	if got := attr(find(lp.doc, func(n *html.Node) bool { return attr(n, "name") == "next" }), "value"); got != "/approvals?kind=network" {
		t.Fatalf("login form next = %q", got)
	}
	r := anon.post(t, "/login", url.Values{"_csrf": {lp.csrf(t)}, "username": {adminName}, "password": {adminPass}, "next": {"/approvals?kind=network"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/approvals?kind=network" {
		t.Errorf("login with next: %d %q", r.status, r.header.Get("Location"))
	}
	// next=//evil.example lands on /.
	evil := b.browser(t, "192.0.2.42")
	lp = evil.get(t, "/login?next=%2F%2Fevil.example")
	if got := attr(find(lp.doc, func(n *html.Node) bool { return attr(n, "name") == "next" }), "value"); got != "/" {
		t.Errorf("login form next for //evil.example = %q", got)
	}
	r = evil.post(t, "/login", url.Values{"_csrf": {lp.csrf(t)}, "username": {adminName}, "password": {adminPass}, "next": {"//evil.example"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Errorf("login with next=//evil.example: %d %q", r.status, r.header.Get("Location"))
	}
	// Signed in, /login goes straight to next.
	if p := evil.get(t, "/login?next=/settings"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/settings" {
		t.Errorf("/login signed in: %d %q", p.status, p.header.Get("Location"))
	}
}

// U1: every UI mutation declares its /api/v1 twins, and each twin is a
// route of /api/v1 (the API answers it, not "No API route").
func TestU1_EveryMutationHasAnAPITwin(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.browser(t, "192.0.2.50").setup(t, "strict")
	for _, rt := range ui.Table() {
		// GET never changes state (U2), except the OAuth return point,
		// bound by its single-use state: it has the API's POST as twin.
		if rt.Method == http.MethodGet && rt.Pattern != oauthflow.CallbackPath {
			if len(rt.Twins) != 0 {
				t.Errorf("GET %s declares twins: GET never changes state (U2)", rt.Pattern)
			}
			continue
		}
		if len(rt.Twins) == 0 {
			t.Errorf("%s %s declares no /api/v1 twin", rt.Method, rt.Pattern)
		}
		for _, twin := range rt.Twins {
			method, path, ok := strings.Cut(twin, " ")
			if !ok || !strings.HasPrefix(path, "/api/v1/") {
				t.Errorf("%s %s: twin %q is not \"METHOD /api/v1/...\"", rt.Method, rt.Pattern, twin)
				continue
			}
			tok := apiToken(t, b)
			req, err := http.NewRequestWithContext(t.Context(), method, b.srv.URL+path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := b.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error struct{ Message string } `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed || strings.HasPrefix(body.Error.Message, "No API route") {
				t.Errorf("%s %s: twin %s is not an API route (%d %q)", rt.Method, rt.Pattern, twin, resp.StatusCode, body.Error.Message)
			}
		}
	}
}

// apiToken logs in through /api/v1 in token mode.
func apiToken(t *testing.T, b *backend) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/api/v1/auth/login",
		strings.NewReader(`{"username":"`+adminName+`","password":"`+adminPass+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("api login: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

// The UI's paths are served by the UI; /api/v1, /healthz, /readyz,
// /internal and /metrics keep their own answers on the main listener.
func TestMainListenerMounts(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.60")
	for _, c := range []struct {
		path   string
		status int
		ctype  string
	}{
		{"/setup", http.StatusOK, "text/html"},
		{"/healthz", http.StatusOK, ""},
		{"/internal/v1/catalog", http.StatusNotFound, "application/json"},
		{"/metrics", http.StatusNotFound, "application/json"},
		{"/api/v1/auth/status", http.StatusOK, "application/json"},
		{"/api/v1/servers", http.StatusUnauthorized, "application/json"},
		{"/static/app.js", http.StatusNotFound, "text/plain"},
	} {
		p := br.get(t, c.path)
		if p.status != c.status || !strings.HasPrefix(p.header.Get("Content-Type"), c.ctype) {
			t.Errorf("GET %s: %d %s", c.path, p.status, p.header.Get("Content-Type"))
		}
	}
	// A fresh database: every UI page redirects to /setup (UI-1 below
	// the browser), htmx with HX-Redirect.
	for _, path := range []string{"/", "/servers", "/approvals?kind=network", "/settings", "/login", "/ui/badge"} {
		p := br.get(t, path)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/setup" {
			t.Errorf("GET %s before setup: %d %q", path, p.status, p.header.Get("Location"))
		}
		p = br.get(t, path, "HX-Request", "true")
		if p.header.Get("HX-Redirect") != "/setup" {
			t.Errorf("GET %s before setup (htmx): %d %q", path, p.status, p.header.Get("HX-Redirect"))
		}
	}
	if p := br.get(t, "/ui/events"); p.status != http.StatusUnauthorized {
		t.Errorf("/ui/events before setup: %d", p.status)
	}
}

// wildcard matches a route pattern's {name} segment.
var wildcard = regexp.MustCompile(`\{[a-z]+\}`)
