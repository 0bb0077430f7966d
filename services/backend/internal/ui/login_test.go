package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// UI-3 (below the browser): a wrong password gives the generic error in an
// alert summary, keeps the username, clears the password and marks it for
// focus; the sixth failure in a minute shows the wait from Retry-After;
// once the failures have aged out the right password works. The session
// cookie is HttpOnly and SameSite=Lax.
func TestUI3_LoginFailuresAndThrottling(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.browser(t, "192.0.2.80").setup(t, "strict")
	br := b.browser(t, "192.0.2.81")
	wrong := func() page {
		return br.post(t, "/login", url.Values{"_csrf": {br.get(t, "/login").csrf(t)}, "username": {adminName}, "password": {"not the password"}})
	}
	p := wrong()
	wantStatus(t, "wrong password", p, http.StatusUnprocessableEntity)
	summary := p.byID("error-summary")
	if summary == nil || attr(summary, "role") != "alert" || !strings.Contains(p.text("error-summary"), "Invalid username or password.") {
		t.Fatalf("summary: %.400s", p.body)
	}
	if hasAttr(summary, "data-autofocus") || !hasAttr(p.byID("login-password"), "data-autofocus") {
		t.Error("the password, not the summary, takes focus after a failed sign-in")
	}
	if attr(p.byID("login-username"), "value") != adminName || attr(p.byID("login-password"), "value") != "" || strings.Contains(p.body, "not the password") {
		t.Error("username not kept, or the password echoed")
	}
	// An unknown user reads the same.
	p = br.post(t, "/login", url.Values{"_csrf": {br.get(t, "/login").csrf(t)}, "username": {"nobody"}, "password": {"not the password"}})
	if !strings.Contains(p.text("error-summary"), "Invalid username or password.") {
		t.Errorf("unknown user: %s", p.text("error-summary"))
	}
	for range 3 {
		wantStatus(t, "wrong password", wrong(), http.StatusUnprocessableEntity)
	}
	p = wrong() // the sixth attempt of the minute from this address
	wantStatus(t, "throttled", p, http.StatusTooManyRequests)
	m := regexp.MustCompile(`Too many attempts\. Try again in (\d+) seconds?\.`).FindStringSubmatch(p.text("error-summary"))
	if m == nil || m[1] != p.header.Get("Retry-After") {
		t.Fatalf("throttled: %q, Retry-After %q", p.text("error-summary"), p.header.Get("Retry-After"))
	}
	if secs, _ := strconv.Atoi(m[1]); secs < 1 || secs > 60 {
		t.Errorf("wait %d s", secs)
	}
	// The right password is refused too while throttled…
	p = br.post(t, "/login", url.Values{"_csrf": {br.get(t, "/login").csrf(t)}, "username": {adminName}, "password": {adminPass}}, "HX-Request", "true")
	if p.status != http.StatusTooManyRequests || isFullPage(p) || p.byID("login-form") == nil {
		t.Errorf("throttled (htmx): %d %.200s", p.status, p.body)
	}
	// …and accepted once the failures are older than the window.
	b.sql(t, "UPDATE login_attempts SET created_at = created_at - interval '2 minutes'")
	p = br.post(t, "/login", url.Values{"_csrf": {br.get(t, "/login").csrf(t)}, "username": {adminName}, "password": {adminPass}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Fatalf("right password: %d %.300s", p.status, p.body)
	}
	c := br.cookie(t, "mcpbox_session")
	if c == nil || c.Value == "" {
		t.Fatal("no session cookie")
	}
	for _, h := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(h, "mcpbox_session=") && (!strings.Contains(h, "HttpOnly") || !strings.Contains(h, "SameSite=Lax") || !strings.Contains(h, "Path=/")) {
			t.Errorf("session cookie %q", h)
		}
	}
	// Empty fields: field errors, no attempt counted.
	p = br.post(t, "/logout", url.Values{"_csrf": {br.token(t)}})
	wantStatus(t, "logout", p, http.StatusSeeOther)
	p = br.post(t, "/login", url.Values{"_csrf": {br.get(t, "/login").csrf(t)}})
	wantStatus(t, "empty", p, http.StatusUnprocessableEntity)
	wantFieldError(t, "empty", p, "login-username", "username: enter your username.", 0)
	wantFieldError(t, "empty", p, "login-password", "password: enter your password.", 0)
}

// Banners explain why the admin is at /login.
func TestLoginBanners(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.browser(t, "192.0.2.82").setup(t, "strict")
	br := b.browser(t, "192.0.2.83")
	for reason, want := range map[string]string{
		"expired": "Your session expired. Sign in again.", "password": "Password changed. Sign in again.",
		"everywhere": "Signed out everywhere.", "": "", "<script>": "",
	} {
		p := br.get(t, "/login?reason="+url.QueryEscape(reason))
		if got := p.text("login-banner"); got != want {
			t.Errorf("reason %q: banner %q, want %q", reason, got, want)
		}
	}
}

// UI-4 (below the browser): signing out lands on /login, deletes the
// cookies and revokes the session: the old cookie is refused by the UI
// (back to login, "expired") and by /api/v1.
func TestUI4_SignOut(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.84")
	br.setup(t, "strict")
	old, oldCSRF := br.cookie(t, "mcpbox_session").Value, br.cookie(t, "mcpbox_csrf").Value
	p := br.post(t, "/logout", url.Values{"_csrf": {br.token(t)}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", p.status, p.header.Get("Location"))
	}
	if br.cookie(t, "mcpbox_session") != nil || br.cookie(t, "mcpbox_csrf") != nil {
		t.Error("cookies kept after sign-out")
	}
	replay := b.browser(t, "192.0.2.85")
	p = replay.get(t, "/settings?tab=sessions", "Cookie", "mcpbox_session="+old+"; mcpbox_csrf="+oldCSRF)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?next=%2Fsettings%3Ftab%3Dsessions&reason=expired" {
		t.Errorf("old cookie: %d %q", p.status, p.header.Get("Location"))
	}
	p = replay.get(t, "/api/v1/auth/me", "Cookie", "mcpbox_session="+old)
	if p.status != http.StatusUnauthorized {
		t.Errorf("old cookie on /api/v1: %d", p.status)
	}
	// A session opened by /api/v1's cookie login (no CSRF cookie of the
	// UI) counts as signed out here.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/api/v1/auth/login",
		strings.NewReader(`{"username":"`+adminName+`","password":"`+adminPass+`","mode":"cookie"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	var apiCookie string
	for _, c := range resp.Cookies() {
		if c.Name == "mcpbox_session" {
			apiCookie = c.Value
		}
	}
	if apiCookie == "" {
		t.Fatalf("API cookie login: %d", resp.StatusCode)
	}
	p = replay.get(t, "/servers", "Cookie", "mcpbox_session="+apiCookie)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login?next=%2Fservers") {
		t.Errorf("API-only session on a page: %d %q", p.status, p.header.Get("Location"))
	}
}

// Over HTTPS (a trusted proxy's X-Forwarded-Proto) the cookies are Secure
// with the __Host- prefix, and pages carry HSTS.
func TestSecureCookiesAndHSTS(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.86")
	tls := []string{"X-Forwarded-Proto", "https"}
	p := br.get(t, "/setup", tls...)
	if p.header.Get("Strict-Transport-Security") != "max-age=31536000; includeSubDomains" {
		t.Errorf("HSTS %q", p.header.Get("Strict-Transport-Security"))
	}
	set := strings.Join(p.header.Values("Set-Cookie"), "\n")
	if !strings.Contains(set, "__Host-mcpbox_presession=") || !strings.Contains(set, "Secure") || !strings.Contains(set, "HttpOnly") ||
		!strings.Contains(set, "Max-Age=600") {
		t.Errorf("pre-session cookie over HTTPS: %q", set)
	}
	// The cookie jar would not send a Secure cookie over http: send it by
	// hand, as the proxy would.
	token := p.csrf(t)
	p = br.post(t, "/setup", url.Values{
		"_csrf": {token}, "setup_code": {b.code}, "username": {adminName}, "password": {adminPass}, "confirm_password": {adminPass},
	}, append(tls, "Cookie", "__Host-mcpbox_presession="+token, "Origin", "https://"+strings.TrimPrefix(b.srv.URL, "http://"))...)
	if p.status != http.StatusSeeOther {
		t.Fatalf("setup over HTTPS: %d %.300s", p.status, p.body)
	}
	set = strings.Join(p.header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"__Host-mcpbox_session=", "__Host-mcpbox_csrf="} {
		line := ""
		for _, l := range p.header.Values("Set-Cookie") {
			if strings.HasPrefix(l, want) {
				line = l
			}
		}
		if line == "" || !strings.Contains(line, "Secure") || !strings.Contains(line, "HttpOnly") || !strings.Contains(line, "SameSite=Lax") || !strings.Contains(line, "Path=/") {
			t.Errorf("%s over HTTPS: %q", want, set)
		}
	}
}
