package adminapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// BE-9: on an empty database setup is required.
func TestBE9_StatusOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	r := b.call(t, http.MethodGet, "/api/v1/auth/status", nil)
	if r.status != http.StatusOK || r.body["setup_required"] != true || r.body["onboarding_completed"] != false || r.body["version"] != "test" {
		t.Fatalf("status: %d %s", r.status, r.raw)
	}
}

// BE-10: a wrong setup code is 403, the right one 201, a second setup 409.
func TestBE10_SetupNeedsTheCodeOnce(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	r := b.call(t, http.MethodPost, "/api/v1/auth/setup", map[string]string{"username": adminName, "password": adminPass, "setup_code": "AAAA-BBBB-CCCC-DDDD"})
	wantError(t, r, http.StatusForbidden, proto.CodeSetupCodeInvalid)
	// The code is compared ignoring case and hyphens.
	r = b.call(t, http.MethodPost, "/api/v1/auth/setup", map[string]string{
		"username": adminName, "password": adminPass, "setup_code": strings.ToLower(strings.ReplaceAll(b.code, "-", "")),
	})
	if r.status != http.StatusCreated || r.body["username"] != adminName {
		t.Fatalf("setup: %d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodPost, "/api/v1/auth/setup", map[string]string{"username": "second", "password": adminPass, "setup_code": b.code})
	wantError(t, r, http.StatusConflict, proto.CodeAlreadySetup)
	if r = b.call(t, http.MethodGet, "/api/v1/auth/status", nil); r.body["setup_required"] != false {
		t.Fatalf("status after setup: %s", r.raw)
	}
}

// BE-11: two concurrent setups on two replicas create exactly one admin.
func TestBE11_ConcurrentSetupsCreateOneAdmin(t *testing.T) {
	t.Parallel()
	a := newBackend(t)
	b := replica(t, a.url)
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, be := range []*backend{a, b} {
		wg.Go(func() {
			r := be.call(t, http.MethodPost, "/api/v1/auth/setup", map[string]string{
				"username": fmt.Sprintf("admin%d", i), "password": adminPass, "setup_code": be.code,
			})
			statuses[i] = r.status
		})
	}
	wg.Wait()
	n, err := a.store.CountAdminUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for _, s := range statuses {
		if s == http.StatusCreated {
			created++
		} else if s != http.StatusConflict {
			t.Errorf("status %d", s)
		}
	}
	if n != 1 || created != 1 {
		t.Fatalf("%d admins, statuses %v", n, statuses)
	}
}

// BE-12: setup names the failing field: an 11-character password, a
// username starting with a digit.
func TestBE12_SetupValidationNamesTheField(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	r := b.call(t, http.MethodPost, "/api/v1/auth/setup", map[string]string{"username": adminName, "password": "elevenchars", "setup_code": b.code})
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "password" {
		t.Errorf("field %q: %s", r.err.Field, r.raw)
	}
	r = b.call(t, http.MethodPost, "/api/v1/auth/setup", map[string]string{"username": "1abc", "password": adminPass, "setup_code": b.code})
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "username" {
		t.Errorf("field %q: %s", r.err.Field, r.raw)
	}
	// Strict bodies: an unknown field and a missing one are named too.
	r = b.call(t, http.MethodPost, "/api/v1/auth/setup", map[string]any{"username": adminName, "password": adminPass, "setup_code": b.code, "role": "x"})
	if r.status != http.StatusBadRequest || r.err.Field != "role" {
		t.Errorf("unknown field: %d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodPost, "/api/v1/auth/setup", map[string]any{"username": adminName, "password": adminPass})
	if r.status != http.StatusBadRequest || r.err.Field != "setup_code" {
		t.Errorf("missing field: %d %s", r.status, r.raw)
	}
}

// BE-13: a wrong password, an unknown user and an inactive user get the
// same 401 body.
func TestBE13_LoginFailuresAreIdentical(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	b.sql(t, "INSERT INTO admin_users (username, password_hash, is_active) SELECT 'retired', password_hash, false FROM admin_users", nil)
	var bodies []string
	for i, creds := range [][2]string{{adminName, "wrong password!"}, {"nobody", adminPass}, {"retired", adminPass}} {
		r := b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": creds[0], "password": creds[1]}, from(fmt.Sprintf("198.51.100.%d", i+1))...)
		wantError(t, r, http.StatusUnauthorized, proto.CodeInvalidCredentials)
		bodies = append(bodies, withoutRequestID(r.raw))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatalf("bodies differ:\n%s", strings.Join(bodies, "\n"))
	}
}

// BE-14: the 6th failed login from one IP within 60 s is 429 with
// Retry-After, even with the right password.
func TestBE14_FailuresFromOneIPThrottle(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	for range 5 {
		r := b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": adminName, "password": "wrong password!"}, from("203.0.113.9")...)
		wantError(t, r, http.StatusUnauthorized, proto.CodeInvalidCredentials)
	}
	r := b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": adminName, "password": adminPass}, from("203.0.113.9")...)
	wantError(t, r, http.StatusTooManyRequests, proto.CodeTooManyAttempts)
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	// Another IP is not affected.
	b.login(t, from("203.0.113.10")...)
}

// BE-15: 20 failures for one username from 20 IPs throttle that username
// from any IP.
func TestBE15_FailuresForOneUsernameThrottle(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	for i := range 20 {
		r := b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "Admin", "password": "wrong password!"}, from(fmt.Sprintf("192.0.2.%d", i+1))...)
		wantError(t, r, http.StatusUnauthorized, proto.CodeInvalidCredentials)
	}
	r := b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": adminName, "password": adminPass}, from("192.0.2.100")...)
	wantError(t, r, http.StatusTooManyRequests, proto.CodeTooManyAttempts)
}

// BE-16: a stored hash with t=2 verifies and is rewritten with the pinned
// parameters at login.
func TestBE16_LoginRehashesWithPinnedParameters(t *testing.T) {
	t.Parallel()
	b := newBackend(t, func(o *options) { o.hasher = password.New(password.Pinned(), 2) })
	old := password.Pinned()
	old.Iterations = 2
	hash, err := password.New(old, 1).Hash(t.Context(), adminPass)
	if err != nil {
		t.Fatal(err)
	}
	b.sql(t, "INSERT INTO admin_users (username, password_hash) VALUES ($1, $2)", nil, adminName, hash)
	b.login(t)
	u, err := b.store.GetAdminUserByUsername(t.Context(), adminName)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash not rewritten: %s", u.PasswordHash[:30])
	}
}

// BE-17 (API layer): a token that is not one of ours is 401 token_invalid.
func TestBE17_ForeignTokensAreRefused(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	hs256 := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiZXhwIjo0MTAyNDQ0ODAwfQ.2Yh2tFJk1sZKrUvIpc5Kb9bhgmYzO3PHkQ1Yg6JA6bM"
	for _, token := range []string{hs256, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "garbage"} {
		r := b.call(t, http.MethodGet, "/api/v1/auth/me", nil, "Authorization", "Bearer "+token)
		wantError(t, r, http.StatusUnauthorized, proto.CodeTokenInvalid)
		if r.header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
	}
	me := b.call(t, http.MethodGet, "/api/v1/auth/me", nil, bearer(b.login(t))...)
	if me.status != http.StatusOK || me.body["username"] != adminName {
		t.Fatalf("me: %d %s", me.status, me.raw)
	}
	// Timestamps are RFC 3339 UTC with milliseconds (backend.md §2).
	for _, k := range []string{"created_at", "last_login_at"} {
		if v, _ := me.body[k].(string); len(v) != len("2006-01-02T15:04:05.000Z") || !strings.HasSuffix(v, "Z") {
			t.Errorf("%s = %q", k, v)
		}
	}
}

// BE-18: refresh returns a new refresh token; presenting the old one again
// revokes the session, and the new one is then rejected too.
func TestBE18_RefreshRotationDetectsReuse(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	first := b.login(t)
	r := b.call(t, http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": first["refresh_token"].(string)})
	if r.status != http.StatusOK || r.body["refresh_token"] == first["refresh_token"] || r.body["token_type"] != "Bearer" {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	second := r.body
	if me := b.call(t, http.MethodGet, "/api/v1/auth/me", nil, bearer(second)...); me.status != http.StatusOK {
		t.Fatalf("new access token: %d %s", me.status, me.raw)
	}
	r = b.call(t, http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": first["refresh_token"].(string)})
	wantError(t, r, http.StatusUnauthorized, proto.CodeSessionRevoked)
	r = b.call(t, http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": second["refresh_token"].(string)})
	wantError(t, r, http.StatusUnauthorized, proto.CodeSessionRevoked)
	wantError(t, b.call(t, http.MethodGet, "/api/v1/auth/me", nil, bearer(second)...), http.StatusUnauthorized, proto.CodeSessionRevoked)
	var rows int
	b.sql(t, "SELECT count(*) FROM activity_log WHERE action = 'auth.refresh_reuse' AND level = 'warning'", []any{&rows})
	if rows != 1 {
		t.Fatalf("security rows %d", rows)
	}
	wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": "nope"}), http.StatusUnauthorized, proto.CodeTokenInvalid)
}

// BE-19: after logout the access token is refused, on another replica too.
func TestBE19_LogoutEndsTheTokenEverywhere(t *testing.T) {
	t.Parallel()
	a := newBackend(t)
	b := replica(t, a.url)
	a.setup(t)
	tok := a.login(t)
	if r := b.call(t, http.MethodGet, "/api/v1/auth/me", nil, bearer(tok)...); r.status != http.StatusOK {
		t.Fatalf("replica b before logout: %d %s", r.status, r.raw)
	}
	if r := a.call(t, http.MethodPost, "/api/v1/auth/logout", nil, bearer(tok)...); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.raw)
	}
	for _, be := range []*backend{a, b} {
		for _, path := range []string{"/api/v1/auth/me", "/api/v1/auth/sessions", "/api/v1/servers"} {
			wantError(t, be.call(t, http.MethodGet, path, nil, bearer(tok)...), http.StatusUnauthorized, proto.CodeSessionRevoked)
		}
	}
}

// BE-20: a password change signs every session out; the same password as
// the current one is refused.
func TestBE20_PasswordChangeRevokesEverySession(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	one, two := b.login(t), b.login(t)
	r := b.call(t, http.MethodPost, "/api/v1/auth/password", map[string]string{"current_password": adminPass, "new_password": adminPass}, bearer(one)...)
	if r.status != http.StatusBadRequest || r.err.Field != "new_password" {
		t.Fatalf("same password: %d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodPost, "/api/v1/auth/password", map[string]string{"current_password": "not it at all", "new_password": "a new long passphrase"}, bearer(one)...)
	if r.status != http.StatusBadRequest || r.err.Field != "current_password" {
		t.Fatalf("wrong current: %d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodPost, "/api/v1/auth/password", map[string]string{"current_password": adminPass, "new_password": "a new long passphrase"}, bearer(one)...)
	if r.status != http.StatusOK || r.body["relogin_required"] != true {
		t.Fatalf("change: %d %s", r.status, r.raw)
	}
	for _, tok := range []map[string]any{one, two} {
		wantError(t, b.call(t, http.MethodGet, "/api/v1/auth/me", nil, bearer(tok)...), http.StatusUnauthorized, proto.CodeSessionRevoked)
		wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": tok["refresh_token"].(string)}), http.StatusUnauthorized, proto.CodeSessionRevoked)
	}
	r = b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": adminName, "password": "a new long passphrase"})
	if r.status != http.StatusOK {
		t.Fatalf("login with the new password: %d %s", r.status, r.raw)
	}
}

// cookieLogin logs in in cookie mode and returns the cookie and CSRF token.
func cookieLogin(t *testing.T, b *backend, header ...string) (*http.Cookie, string) {
	t.Helper()
	r := b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": adminName, "password": adminPass, "mode": "cookie"}, header...)
	if r.status != http.StatusOK || r.body["csrf_token"] == nil {
		t.Fatalf("cookie login: %d %s", r.status, r.raw)
	}
	resp := &http.Response{Header: r.header}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", r.header["Set-Cookie"])
	}
	return cookies[0], r.body["csrf_token"].(string)
}

// BE-21: a cookie-authenticated mutation needs the CSRF token and our own
// origin; a Bearer request needs neither.
func TestBE21_CookieMutationsNeedCSRF(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	ck, csrf := cookieLogin(t, b)
	cookie := ck.Name + "=" + ck.Value
	if r := b.call(t, http.MethodGet, "/api/v1/auth/me", nil, "Cookie", cookie); r.status != http.StatusOK {
		t.Fatalf("GET with cookie: %d %s", r.status, r.raw)
	}
	wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/sessions/revoke-all", nil, "Cookie", cookie), http.StatusForbidden, proto.CodeCSRFFailed)
	wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/sessions/revoke-all", nil, "Cookie", cookie, "X-CSRF-Token", "wrong"), http.StatusForbidden, proto.CodeCSRFFailed)
	wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/sessions/revoke-all", nil, "Cookie", cookie, "X-CSRF-Token", csrf, "Origin", "https://evil.example"), http.StatusForbidden, proto.CodeCSRFFailed)
	wantError(t, b.call(t, http.MethodPost, "/api/v1/auth/sessions/revoke-all", nil, "Cookie", cookie, "X-CSRF-Token", csrf, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden, proto.CodeCSRFFailed)
	if r := b.call(t, http.MethodPost, "/api/v1/auth/logout", nil, "Cookie", cookie, "X-CSRF-Token", csrf, "Origin", b.srv.URL); r.status != http.StatusNoContent {
		t.Fatalf("logout with CSRF token: %d %s", r.status, r.raw)
	}
	// A Bearer token needs no CSRF header, and with an Authorization header
	// the cookie is ignored.
	tok := b.login(t)
	if r := b.call(t, http.MethodPost, "/api/v1/auth/sessions/revoke-all", nil, bearer(tok)...); r.status != http.StatusNoContent {
		t.Fatalf("bearer mutation: %d %s", r.status, r.raw)
	}
}

// BE-22: the session cookie is HttpOnly, SameSite=Lax, Path=/, and Secure
// with the __Host- name exactly over HTTPS (a trusted X-Forwarded-Proto) or
// with MCPBOX_COOKIE_SECURE=true.
func TestBE22_SessionCookieAttributes(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	plain, _ := cookieLogin(t, b)
	if plain.Name != "mcpbox_session" || plain.Secure || !plain.HttpOnly || plain.SameSite != http.SameSiteLaxMode || plain.Path != "/" || plain.MaxAge != 0 {
		t.Errorf("plain cookie %+v", plain)
	}
	secure, _ := cookieLogin(t, b, "X-Forwarded-Proto", "https")
	if secure.Name != "__Host-mcpbox_session" || !secure.Secure || !secure.HttpOnly {
		t.Errorf("https cookie %+v", secure)
	}
	always := replica(t, b.url, func(o *options) {
		o.cfgMore = func(d *adminapi.Deps) { d.CookieAlwaysSecure = true }
	})
	forced, _ := cookieLogin(t, always)
	if forced.Name != "__Host-mcpbox_session" || !forced.Secure {
		t.Errorf("MCPBOX_COOKIE_SECURE=true cookie %+v", forced)
	}
}

// BE-23: a 401 carries the security headers; HSTS only over HTTPS.
func TestBE23_SecurityHeadersOnErrors(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	r := b.call(t, http.MethodGet, "/api/v1/auth/me", nil)
	wantError(t, r, http.StatusUnauthorized, proto.CodeUnauthenticated)
	for k, v := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Resource-Policy": "same-origin",
		"Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()", "Cache-Control": "no-store",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	} {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if r.header.Get("Strict-Transport-Security") != "" || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("HSTS or CORS on plain HTTP: %v", r.header)
	}
	r = b.call(t, http.MethodGet, "/api/v1/auth/me", nil, "X-Forwarded-Proto", "https")
	if r.header.Get("Strict-Transport-Security") != "max-age=31536000; includeSubDomains" {
		t.Errorf("HSTS over trusted https: %q", r.header.Get("Strict-Transport-Security"))
	}
}

// The error shape of backend.md §15.1 for the API's own failures: unknown
// route (401 before sign-in, then 404), wrong content type, malformed JSON.
func TestAPIErrorShapes(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	tok := b.login(t)
	r := b.call(t, http.MethodGet, "/api/v1/no-such-route", nil, bearer(tok)...)
	wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
	wantError(t, b.call(t, http.MethodGet, "/api/v1/no-such-route", nil), http.StatusUnauthorized, proto.CodeUnauthenticated)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/api/v1/auth/login", strings.NewReader(`{"username":"a"`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d", resp.StatusCode)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, b.srv.URL+"/api/v1/auth/login", strings.NewReader(`username=a`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = b.srv.Client().Do(req); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d", resp.StatusCode)
	}
	r = b.call(t, http.MethodGet, "/api/v1/auth/login", nil)
	wantError(t, r, http.StatusMethodNotAllowed, proto.CodeMethodNotAllowed)
	if !strings.Contains(r.header.Get("Allow"), http.MethodPost) {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}
	r = b.call(t, http.MethodGet, "/internal/v1/catalog", nil)
	wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
}
