package ui_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The settings tabs below the browser: every tab and state renders as a
// full page and as a fragment with the checks of admin-ui.md §13, and the
// Security and Account forms enforce their rules on the server.

// UI-42 (below the browser): a relaxation posted without confirm=1 (a
// plain form) is answered with the confirmation panel listing it and
// saves nothing; with confirm=1 it saves and the option is badged; a
// tightening saves directly.
// UI-43 (below the browser): out-of-range numbers are 422 with the
// policy's messages; a stale revision is 409 "Settings were changed
// elsewhere".
func TestUI42_UI43_SecurityFormOnTheServer(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.60")
	br.setup(t, "strict")
	hx := []string{"HX-Request", "true"}

	for _, tab := range []string{"", "security", "account", "sessions", "backup"} {
		p := br.get(t, "/settings?tab="+tab)
		wantStatus(t, "settings "+tab, p, http.StatusOK)
		checkHTML(t, "settings "+tab, p, true)
		checkHTML(t, "settings "+tab+" (htmx)", br.get(t, "/settings?tab="+tab, hx...), false)
	}
	p := br.get(t, "/settings?tab=security")
	rev := attr(find(p.doc, func(n *html.Node) bool { return attr(n, "name") == "revision" }), "value")
	form := func(changes map[string]string) url.Values {
		v := url.Values{
			"_csrf": {br.token(t)}, "revision": {rev},
			"tool_approval_mode": {"require_approval"}, "package_approval_mode": {"require_approval"},
			"network_access_policy": {"approved_hosts_only"}, "remote_tool_editing": {"disabled"},
			"redact_secrets_in_output": {"enabled"}, "log_retention_days": {"30"}, "mcp_rate_limit_rpm": {"120"},
		}
		for k, x := range changes {
			v.Set(k, x)
		}
		return v
	}

	// Out of range: 422 with the policy's own message under the field.
	p = br.post(t, "/settings/security", form(map[string]string{"log_retention_days": "0"}))
	wantStatus(t, "retention 0", p, http.StatusUnprocessableEntity)
	checkHTML(t, "retention 0", p, true)
	if got := p.text("sec-log_retention_days-error"); got != "log_retention_days: must be an integer between 1 and 3650 (days)." {
		t.Errorf("retention 0: %q", got)
	}
	p = br.post(t, "/settings/security", form(map[string]string{"mcp_rate_limit_rpm": "5"}), hx...)
	wantStatus(t, "rate 5 (htmx)", p, http.StatusUnprocessableEntity)
	checkHTML(t, "rate 5 (htmx)", p, false)

	// A relaxation without confirmation: the panel, nothing saved.
	p = br.post(t, "/settings/security", form(map[string]string{"tool_approval_mode": "auto_approve"}))
	wantStatus(t, "unconfirmed relaxation", p, http.StatusOK)
	checkHTML(t, "unconfirmed relaxation", p, true)
	if got := p.text("settings-confirm-panel"); !strings.Contains(got, "Tool approval") {
		t.Errorf("confirmation panel reads %q", got)
	}
	if pol, _, err := b.policy.Get(t.Context()); err != nil || pol.ToolApprovalMode != "require_approval" {
		t.Fatalf("unconfirmed relaxation saved: %v %v", pol.ToolApprovalMode, err)
	}
	// Confirmed: saved, badged.
	f := form(map[string]string{"tool_approval_mode": "auto_approve"})
	f.Set("confirm", "1")
	p = br.post(t, "/settings/security", f)
	wantStatus(t, "confirmed relaxation", p, http.StatusSeeOther)
	pol, newRev, err := b.policy.Get(t.Context())
	if err != nil || pol.ToolApprovalMode != "auto_approve" {
		t.Fatalf("confirmed relaxation not saved: %v %v", pol.ToolApprovalMode, err)
	}
	p = br.get(t, "/settings?tab=security")
	if !strings.Contains(textOf(p.byID("sec-tool_approval_mode")), "Less secure") {
		t.Error("no Less secure badge on the saved relaxation")
	}
	// The old revision is stale now: 409, nothing saved.
	p = br.post(t, "/settings/security", form(map[string]string{"log_retention_days": "90"}), hx...)
	wantStatus(t, "stale save", p, http.StatusConflict)
	checkHTML(t, "stale save", p, false)
	if !strings.Contains(p.text("settings-conflict"), "Settings were changed elsewhere") {
		t.Errorf("stale save reads %q", p.text("settings-conflict"))
	}
	// The re-check of the settings event.
	for _, c := range []struct {
		rev   string
		stale bool
	}{{rev, true}, {strconv.FormatInt(newRev, 10), false}} {
		p = br.get(t, "/settings/stale?revision="+c.rev, hx...)
		wantStatus(t, "stale check", p, http.StatusOK)
		if got := p.byID("settings-stale-reload") != nil; got != c.stale {
			t.Errorf("stale check at revision %s: notice %v, want %v", c.rev, got, c.stale)
		}
		checkHTML(t, "stale check page", br.get(t, "/settings/stale?revision="+c.rev), true)
	}
	// Tightening saves directly (htmx: the form with a toast).
	rev = strconv.FormatInt(newRev, 10)
	p = br.post(t, "/settings/security", form(nil), hx...)
	wantStatus(t, "tightening", p, http.StatusOK)
	if p.header.Get("HX-Trigger") == "" {
		t.Error("tightening: no toast")
	}
	if pol, _, _ := b.policy.Get(t.Context()); pol.ToolApprovalMode != "require_approval" {
		t.Fatalf("tightening not saved: %v", pol.ToolApprovalMode)
	}
}

// UI-44 (below the browser): the change-password form's field errors, no
// password echoed; success ends the session and lands on the login banner.
func TestUI44_ChangePasswordOnTheServer(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.61")
	br.setup(t, "strict")
	post := func(current, next, confirm string) page {
		return br.post(t, "/settings/password", url.Values{
			"_csrf": {br.token(t)}, "current_password": {current}, "new_password": {next}, "confirm_password": {confirm},
		})
	}
	const next = "another long passphrase"
	for _, c := range []struct{ name, current, next, confirm, field string }{
		{"empty current", "", next, next, "account-current"},
		{"short new", adminPass, "short", "short", "account-new"},
		{"mismatch", adminPass, next, next + "x", "account-confirm"},
		{"wrong current", "not the password!", next, next, "account-current"},
	} {
		p := post(c.current, c.next, c.confirm)
		wantStatus(t, c.name, p, http.StatusUnprocessableEntity)
		checkHTML(t, c.name, p, true)
		if p.text(c.field+"-error") == "" {
			t.Errorf("%s: no error under #%s", c.name, c.field)
		}
		if strings.Contains(p.body, c.next) || (c.current != "" && strings.Contains(p.body, c.current)) {
			t.Errorf("%s: a password was echoed", c.name)
		}
	}
	p := post(adminPass, next, next)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?reason=password" {
		t.Fatalf("success: %d %s", p.status, p.header.Get("Location"))
	}
	if r := br.get(t, "/settings"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Fatalf("after the change /settings answers %d %s", r.status, r.header.Get("Location"))
	}
}
