package ui_test

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// wantFieldError checks a re-rendered form: the field's error under it,
// aria-invalid and aria-describedby naming it, the same message linked
// from the error summary, and (n ≥ 0) the client-side message (data-msg,
// {n} = the value's length) identical to the server's.
func wantFieldError(t *testing.T, name string, p page, id, msg string, n int) {
	t.Helper()
	field := p.byID(id)
	if field == nil {
		t.Fatalf("%s: no #%s", name, id)
	}
	if got := p.text(id + "-error"); got != msg || hasAttr(p.byID(id+"-error"), "hidden") {
		t.Errorf("%s: #%s-error = %q, want %q", name, id, got, msg)
	}
	if attr(field, "aria-invalid") != "true" || !strings.Contains(" "+attr(field, "aria-describedby")+" ", " "+id+"-error ") {
		t.Errorf("%s: #%s aria-invalid=%q aria-describedby=%q", name, id, attr(field, "aria-invalid"), attr(field, "aria-describedby"))
	}
	link := find(p.byID("error-summary"), func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#"+id })
	if link == nil || textOf(link) != msg {
		t.Errorf("%s: the error summary does not link %q to #%s", name, msg, id)
	}
	if n < 0 {
		return // a rule only the server can check (the code's value, a mismatch checked below)
	}
	client := strings.ReplaceAll(attr(field, "data-msg"), "{n}", strconv.Itoa(n))
	if client != msg && attr(field, "data-msg-differs") != msg {
		t.Errorf("%s: client message %q differs from the server's %q", name, client, msg)
	}
}

// UI-1 (below the browser): each bad field of step 1 gives its error with
// the backend's own message, which app.js would show too; the form keeps
// the username and never a password; valid input signs the admin in and
// opens step 2; Strict is preselected; finishing opens the dashboard and
// /setup is then 404.
func TestUI1_SetupAccountStep(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.70")
	token := br.get(t, "/setup").csrf(t)
	post := func(code, user, pw, confirm string) page {
		return br.post(t, "/setup", url.Values{"_csrf": {token}, "setup_code": {code}, "username": {user}, "password": {pw}, "confirm_password": {confirm}})
	}

	p := post("WRNG-WRNG-WRNG-WRNG", adminName, adminPass, adminPass)
	wantStatus(t, "wrong code", p, http.StatusUnprocessableEntity)
	wantFieldError(t, "wrong code", p, "setup-code", "The setup code is wrong; it is in the backend's log at start (or MCPBOX_SETUP_CODE).", -1)
	if attr(p.byID("setup-username"), "value") != adminName || attr(p.byID("setup-password"), "value") != "" || attr(p.byID("setup-code"), "value") != "" {
		t.Error("the re-rendered form must keep the username and never echo a password or the code")
	}
	if strings.Contains(p.body, adminPass) || strings.Contains(p.body, "WRNG-WRNG") {
		t.Error("the response echoes a password or the setup code")
	}

	p = post(b.code, "ab", adminPass, adminPass)
	wantStatus(t, "short username", p, http.StatusUnprocessableEntity)
	wantFieldError(t, "short username", p, "setup-username", ruleMsg(auth.CheckUsername("ab")), 2)

	p = post(b.code, adminName, "elevenchars", "elevenchars")
	wantStatus(t, "short password", p, http.StatusUnprocessableEntity)
	wantFieldError(t, "short password", p, "setup-password", ruleMsg(password.CheckNew(adminName, "elevenchars")), 11)

	p = post(b.code, "Administrator", "administrator", "administrator")
	wantFieldError(t, "password = username", p, "setup-password", ruleMsg(password.CheckNew("Administrator", "administrator")), 13)

	p = post(b.code, adminName, adminPass, adminPass+"!")
	wantStatus(t, "mismatch", p, http.StatusUnprocessableEntity)
	wantFieldError(t, "mismatch", p, "setup-confirm", "confirm_password: does not match the password.", 0)
	if s := p.byID("error-summary"); s == nil || attr(s, "role") != "alert" || !hasAttr(s, "data-autofocus") || attr(s, "tabindex") != "-1" {
		t.Error("the error summary is not the focus target")
	}
	var admins int
	dbQueryInt(t, b, "SELECT count(*) FROM admin_users", &admins)
	if admins != 0 {
		t.Fatalf("%d admins after refused setups", admins)
	}

	p = post(b.code, adminName, adminPass, adminPass)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/setup" {
		t.Fatalf("valid setup: %d %q %s", p.status, p.header.Get("Location"), p.body)
	}
	var session, csrf *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		switch c.Name {
		case "mcpbox_session":
			session = c
		case "mcpbox_csrf":
			csrf = c
		}
	}
	for _, c := range []*http.Cookie{session, csrf} {
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge != 0 {
			t.Errorf("cookie %+v", c)
		}
	}
	step2 := br.get(t, "/setup")
	if step2.byID("setup-security-form") == nil || !hasAttr(step2.byID("profile-strict"), "checked") || step2.byID("menu-button") != nil {
		t.Fatalf("step 2: %.300s", step2.body)
	}
	if attr(step2.byID("setup-security-form"), "data-confirm-from") != "input[name=profile]:checked" ||
		attr(step2.byID("profile-permissive"), "data-confirm") != "confirm-permissive" || hasAttr(step2.byID("profile-strict"), "data-confirm") {
		t.Error("step 2 does not confirm relaxations through the dialogs")
	}
	p = br.post(t, "/setup/security", url.Values{"_csrf": {step2.csrf(t)}, "profile": {"strict"}}, "HX-Request", "true")
	if p.status != http.StatusOK || p.header.Get("HX-Redirect") != "/" {
		t.Fatalf("finish (htmx): %d %q", p.status, p.header.Get("HX-Redirect"))
	}
	if p := br.get(t, "/setup"); p.status != http.StatusNotFound {
		t.Errorf("/setup after setup: %d", p.status)
	}
	if p := br.get(t, "/"); p.status != http.StatusOK || p.text("main") == "" || !strings.Contains(p.text("main"), "Dashboard") {
		t.Errorf("dashboard: %d", p.status)
	}
	var audits int
	dbQueryInt(t, b, "SELECT count(*) FROM activity_log WHERE action IN ('auth.setup', 'settings.update') AND actor = 'admin:admin'", &audits)
	if audits != 2 {
		t.Errorf("%d audit rows for setup and the profile, want 2", audits)
	}
}

// UI-2 (below the browser): Permissive chosen at setup is applied with the
// profile's five settings.
func TestUI2_SetupPermissive(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.browser(t, "192.0.2.71").setup(t, "permissive")
	pol, _, err := b.policy.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if pol.ToolApprovalMode != "auto_approve" || pol.NetworkAccessPolicy != "allow_all_public" ||
		pol.PackageApprovalMode != "auto_approve" || pol.RemoteToolEditing != "enabled" || pol.RedactSecretsInOutput != "enabled" {
		t.Errorf("policy after Permissive: %+v", pol)
	}
}

// Of two concurrent setups one wins; the other reads "Setup was already
// completed" and no second admin exists.
func TestSetupConcurrentOneWins(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	brs := []*browser{b.browser(t, "192.0.2.72"), b.browser(t, "192.0.2.73")}
	tokens := []string{brs[0].get(t, "/setup").csrf(t), brs[1].get(t, "/setup").csrf(t)}
	results := make([]page, 2)
	var wg sync.WaitGroup
	for i := range brs {
		wg.Go(func() {
			results[i] = brs[i].post(t, "/setup", url.Values{
				"_csrf": {tokens[i]}, "setup_code": {b.code}, "username": {"admin" + strconv.Itoa(i)},
				"password": {adminPass}, "confirm_password": {adminPass},
			})
		})
	}
	wg.Wait()
	var won, lost int
	for _, p := range results {
		switch {
		case p.status == http.StatusSeeOther:
			won++
		case p.status == http.StatusConflict && p.text("setup-done") != "" && strings.Contains(p.text("setup-done"), "Setup was already completed."):
			lost++
		default:
			t.Errorf("setup: %d %.300s", p.status, p.body)
		}
	}
	var admins int
	dbQueryInt(t, b, "SELECT count(*) FROM admin_users", &admins)
	if won != 1 || lost != 1 || admins != 1 {
		t.Errorf("won %d, lost %d, admins %d", won, lost, admins)
	}
	// A late setup form gets the same answer.
	late := b.browser(t, "192.0.2.74")
	p := late.post(t, "/setup", url.Values{
		"_csrf": {late.get(t, "/login").csrf(t)}, "setup_code": {b.code}, "username": {"late"},
		"password": {adminPass}, "confirm_password": {adminPass},
	}, "HX-Request", "true")
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Setup was already completed.") || isFullPage(p) {
		t.Errorf("late setup (htmx): %d %.200s", p.status, p.body)
	}
}

func ruleMsg(err error) string {
	var re *password.RuleError
	if errors.As(err, &re) {
		return re.Message
	}
	return "<no rule error>"
}

func dbQueryInt(t *testing.T, b *backend, query string, dest *int) {
	t.Helper()
	var n int64
	dbtest.QueryRow(t, b.url, query, []any{&n})
	*dest = int(n)
}
