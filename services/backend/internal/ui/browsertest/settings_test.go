//go:build browser

package browsertest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// Browser checks of admin-ui.md §16 "Settings, backup, remote access"
// (UI-42 to UI-48) and UI-49/UI-53 for the settings tabs and remote
// access.

// settingsPolicy reads the security policy through the API.
func settingsPolicy(t *testing.T, b *Backend, bearer []string) map[string]any {
	t.Helper()
	r := b.API(t, http.MethodGet, "/api/v1/settings/security-policy", nil, bearer...)
	if r.Status != http.StatusOK {
		t.Fatalf("GET security-policy: %d %s", r.Status, r.Body)
	}
	var out map[string]any
	r.JSON(t, &out)
	return out
}

// settingsVisible reports whether the element matching selector is
// rendered (not display:none, not hidden).
func settingsVisible(p *Page, selector string) bool {
	return Eval[bool](p, `((e) => !!e && e.getClientRects().length > 0)(document.querySelector(`+jsString(selector)+`))`)
}

// settingsListed is the visible items of the relaxation dialog.
func settingsListed(p *Page) []string {
	return Eval[[]string](p, `[...document.querySelectorAll("#settings-confirm-relax li")].filter((li) => li.getClientRects().length > 0).map((li) => li.textContent.trim())`)
}

// settingsSaves counts the recorded POSTs of the Security form.
func settingsSaves(rec *Recorder) int {
	n := 0
	for _, r := range rec.Responses() {
		if r.Method == http.MethodPost && strings.HasSuffix(strings.SplitN(r.URL, "?", 2)[0], "/settings/security") {
			n++
		}
	}
	return n
}

func TestUI42_SecurityRelaxationIsConfirmed(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	bearer := b.Bearer(t)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/settings?tab=security")
	const auto = "#sec-tool_approval_mode-auto_approve"
	if settingsVisible(p, auto+"-warn") {
		t.Fatal("the auto-approve warning shows before it is chosen")
	}
	p.Click(`label[for="sec-tool_approval_mode-auto_approve"]`)
	if !settingsVisible(p, auto+"-warn") || !strings.Contains(p.Text(auto+"-warn"), "LLM-written code will run without review") {
		t.Fatalf("no warning at once after choosing Auto-approve: %q", p.Text(auto+"-warn"))
	}
	// Save lists the relaxation; Cancel saves nothing.
	p.Click("#settings-security-save")
	p.WaitFor(`document.getElementById("settings-confirm-relax").open`, 5*time.Second, "the confirmation dialog")
	if got := settingsListed(p); len(got) != 1 || !strings.HasPrefix(got[0], "Tool approval") {
		t.Fatalf("the dialog lists %q, want the tool approval relaxation only", got)
	}
	p.Click("#settings-confirm-relax [data-dialog-cancel]")
	p.WaitFor(`!document.getElementById("settings-confirm-relax").open`, 5*time.Second, "Cancel to close the dialog")
	if v := settingsPolicy(t, b, bearer)["tool_approval_mode"]; v != "require_approval" {
		t.Fatalf("after Cancel tool_approval_mode is %v", v)
	}
	// Confirm saves, with the "Less secure" badge.
	p.Click("#settings-security-save")
	p.WaitFor(`document.getElementById("settings-confirm-relax").open`, 5*time.Second, "the confirmation dialog")
	p.Settle(Click("#settings-confirm-relax [data-dialog-confirm]"))
	if v := settingsPolicy(t, b, bearer)["tool_approval_mode"]; v != "auto_approve" {
		t.Fatalf("after Confirm tool_approval_mode is %v", v)
	}
	if legend := p.Text("#sec-tool_approval_mode legend"); !strings.Contains(legend, "Less secure") {
		t.Fatalf("saved relaxation: legend %q has no Less secure badge", legend)
	}
	// Tightening saves without a dialog.
	p.Click(`label[for="sec-tool_approval_mode-require_approval"]`)
	p.Settle(Click("#settings-security-save"))
	if Eval[bool](p, `document.getElementById("settings-confirm-relax").open`) {
		t.Fatal("tightening opened the confirmation dialog")
	}
	if v := settingsPolicy(t, b, bearer)["tool_approval_mode"]; v != "require_approval" {
		t.Fatalf("after tightening tool_approval_mode is %v", v)
	}
	if legend := p.Text("#sec-tool_approval_mode legend"); strings.Contains(legend, "Less secure") {
		t.Fatalf("after tightening the legend still reads %q", legend)
	}
}

func TestUI43_SecurityNumbersOneRequestAndStaleSave(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	bearer := b.Bearer(t)
	p := b.NewPage(t, Desktop)
	rec := p.Record()
	p.SignIn()
	p.Open("/settings?tab=security")
	const retention = "#sec-log_retention_days"
	const want = "log_retention_days: must be an integer between 1 and 3650 (days)."
	for _, v := range []string{"0", "5000"} {
		p.Fill(retention, v)
		p.Click("#settings-security-save")
		p.WaitFor(`!document.getElementById("sec-log_retention_days-error").hidden`, 5*time.Second, "the range error for "+v)
		if got := p.fieldError("sec-log_retention_days"); got != want {
			t.Errorf("retention %s: error %q, want %q", v, got, want)
		}
	}
	if n := settingsSaves(rec); n != 0 {
		t.Fatalf("%d requests sent for invalid numbers", n)
	}
	// The server says the same with the browser's checks removed.
	p.Exec(`for (const e of document.querySelectorAll("#settings-security-form input[type=number]")) { e.removeAttribute("min"); e.removeAttribute("max"); e.type = "text"; } true`)
	p.Fill(retention, "5000")
	p.Settle(Click("#settings-security-save"))
	if st := lastStatus(t, rec, "/settings/security"); st != http.StatusUnprocessableEntity {
		t.Fatalf("server: %d, want 422", st)
	}
	if got := p.fieldError("sec-log_retention_days"); got != want {
		t.Errorf("server error %q, want %q", got, want)
	}
	// 90 saves with exactly one request.
	p.Open("/settings?tab=security")
	before := settingsSaves(rec)
	p.Fill(retention, "90")
	p.Settle(Click("#settings-security-save"))
	// The recorder sees responses a little after the swap: wait for the
	// first, then count.
	deadline := time.Now().Add(5 * time.Second)
	for settingsSaves(rec) == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling the recorder, not asserting on time
	}
	if v := settingsPolicy(t, b, bearer)["log_retention_days"]; v != float64(90) {
		t.Fatalf("log_retention_days is %v after saving 90", v)
	}
	if n := settingsSaves(rec) - before; n != 1 {
		t.Fatalf("Save sent %d requests, want 1", n)
	}
	// Another session changes the settings meanwhile: the page says so,
	// and Save answers "changed elsewhere".
	if r := b.API(t, http.MethodPatch, "/api/v1/settings/security-policy", map[string]any{"mcp_rate_limit_rpm": 300}, bearer...); r.Status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	p.WaitFor(`!!document.getElementById("settings-stale-reload")`, 10*time.Second, `the "changed elsewhere" notice`)
	p.Fill(retention, "120")
	p.Settle(Click("#settings-security-save"))
	if st := lastStatus(t, rec, "/settings/security"); st != http.StatusConflict {
		t.Fatalf("stale save: %d, want 409", st)
	}
	if got := p.Text("#settings-conflict"); !strings.Contains(got, "Settings were changed elsewhere") || p.Count(`#settings-conflict a[href="/settings?tab=security"]`) != 1 {
		t.Fatalf("stale save shows %q", got)
	}
	if v := settingsPolicy(t, b, bearer)["log_retention_days"]; v != float64(90) {
		t.Fatalf("the stale save changed log_retention_days to %v", v)
	}
}

func TestUI44_ChangePassword(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	// An API refresh token issued before the change.
	r := b.API(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": AdminName, "password": AdminPassword})
	var tok struct {
		RefreshToken string `json:"refresh_token"`
	}
	r.JSON(t, &tok)
	p := b.NewPage(t, Desktop)
	rec := p.Record()
	p.SignIn()
	old := p.Cookie("mcpbox_session")
	if old == nil {
		t.Fatal("no session cookie")
	}
	p.Open("/settings?tab=account")
	const newPass = "a brand new passphrase"
	// Wrong current password: the server's field error.
	p.Fill("#account-current", "not the password at all")
	p.Fill("#account-new", newPass)
	p.Fill("#account-confirm", newPass)
	p.Settle(Click(`#settings-account-form button[type="submit"]`))
	if st := lastStatus(t, rec, "/settings/password"); st != http.StatusUnprocessableEntity {
		t.Fatalf("wrong current: %d", st)
	}
	if got := p.fieldError("account-current"); !strings.Contains(got, "does not match the current password") {
		t.Fatalf("wrong current shows %q", got)
	}
	if v := Eval[string](p, `[...document.querySelectorAll("#settings-account-form input[type=password]")].map((e) => e.value).join("")`); v != "" {
		t.Fatal("the server echoed a password")
	}
	// Mismatch: caught in the page, and by the server without the checks.
	p.Fill("#account-current", AdminPassword)
	p.Fill("#account-new", newPass)
	p.Fill("#account-confirm", newPass+"x")
	p.Click(`#settings-account-form button[type="submit"]`)
	p.WaitFor(`!document.getElementById("account-confirm-error").hidden`, 5*time.Second, "the mismatch error")
	client := p.fieldError("account-confirm")
	p.stripValidation("#settings-account-form")
	p.Fill("#account-current", AdminPassword)
	p.Fill("#account-new", newPass)
	p.Fill("#account-confirm", newPass+"x")
	p.Settle(Click(`#settings-account-form button[type="submit"]`))
	if server := p.fieldError("account-confirm"); server == "" || server != client {
		t.Fatalf("mismatch: client %q, server %q", client, server)
	}
	// Success: login with the banner.
	p.Fill("#account-current", AdminPassword)
	p.Fill("#account-new", newPass)
	p.Fill("#account-confirm", newPass)
	p.Submit(Click(`#settings-account-form button[type="submit"]`))
	if !strings.HasPrefix(p.Path(), "/login") || p.Text("#login-banner") != "Password changed. Sign in again." {
		t.Fatalf("after the change: %s with banner %q", p.Path(), p.Text("#login-banner"))
	}
	if r := b.API(t, http.MethodGet, "/api/v1/auth/me", nil, "Cookie", "mcpbox_session="+old.Value); r.Status != http.StatusUnauthorized {
		t.Fatalf("old cookie: %d", r.Status)
	}
	if r := b.API(t, http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": tok.RefreshToken}); r.Status != http.StatusUnauthorized {
		t.Fatalf("old refresh token: %d %s", r.Status, r.Body)
	}
	if p.SignInHere(AdminName, newPass); p.Path() != "/" {
		t.Fatalf("the new password led to %s", p.Path())
	}
}

func TestUI46_RemoteAccessConfiguration(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/remote-access")
	if got := p.Text("#remote-unconfigured"); !strings.Contains(got, "not configured") || !strings.Contains(got, "identity provider") {
		t.Fatalf("unconfigured page reads %q", got)
	}
	if p.Count("#remote-snippets") != 0 {
		t.Fatal("snippets shown without a public URL")
	}
	p.Fill("#remote-public-url", "http://mcp.example.com")
	p.Settle(Click(`#remote-config-form button[type="submit"]`))
	if got := p.fieldError("remote-public-url"); !strings.Contains(got, "https") {
		t.Fatalf("http URL: error %q, want one requiring https", got)
	}
	p.Fill("#remote-public-url", "https://mcp.example.com")
	p.Settle(Click(`#remote-config-form button[type="submit"]`))
	if p.Count("#remote-unconfigured") != 0 {
		t.Fatal("still not configured after saving")
	}
	want := map[string]string{
		"#remote-mcp-url":        "https://mcp.example.com/mcp",
		"#remote-prm-url":        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
		"#remote-claude-command": "claude mcp add --transport http mcpbox https://mcp.example.com/mcp",
		"#remote-connector-url":  "https://mcp.example.com/mcp",
	}
	for sel, v := range want {
		if got := p.Text(sel); got != v {
			t.Errorf("%s reads %q, want %q", sel, got, v)
		}
		if p.Count(`button[data-copy-target="`+strings.TrimPrefix(sel, "#")+`"]`) != 1 {
			t.Errorf("%s has no Copy button", sel)
		}
	}
	if p.Reload(); p.Text("#remote-mcp-url") != want["#remote-mcp-url"] {
		t.Fatal("the configuration did not survive a reload")
	}
}

// Remote access self-check fakes: an edge and an identity provider on
// names the fake sandbox maps to loopback listeners.
const (
	settingsEdgeHost = "edge.test"
	settingsEdgeURL  = "https://" + settingsEdgeHost
	settingsIDPHost  = "idp.test"
	settingsIssuer   = "https://" + settingsIDPHost + "/realms/mcpbox"
	settingsJWKSPath = "/realms/mcpbox/protocol/openid-connect/certs"
)

var settingsRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// settingsDeployment is a fake edge and identity provider; the flags
// break one thing each (UI-48).
type settingsDeployment struct {
	open, noS256, jwksMissing bool
	prmResource               string
	hold                      chan struct{} // when set, /health waits for it
	arrived                   chan struct{}

	mu   sync.Mutex
	hits int
}

func (d *settingsDeployment) hit() {
	d.mu.Lock()
	d.hits++
	d.mu.Unlock()
}

func (d *settingsDeployment) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hits
}

// start serves the fakes and maps their names in the fake sandbox.
func (d *settingsDeployment) start(t *testing.T, b *Backend) {
	t.Helper()
	meta := settingsEdgeURL + proto.PathProtectedResourceMCP
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.hit()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == proto.PathEdgeHealth:
			if d.hold != nil {
				select {
				case d.arrived <- struct{}{}:
				default:
				}
				<-d.hold
			}
			_, _ = io.WriteString(w, `{"status":"ok"}`)
		case r.Method == http.MethodPost && r.URL.Path == proto.PathMCP:
			switch {
			case d.open:
				_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
			case r.Header.Get("Authorization") == "":
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q`, meta))
				w.WriteHeader(http.StatusUnauthorized)
			default:
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="invalid_token", resource_metadata=%q`, meta))
				w.WriteHeader(http.StatusUnauthorized)
			}
		case r.Method == http.MethodGet && r.URL.Path == proto.PathProtectedResourceMCP:
			resource := settingsEdgeURL + proto.PathMCP
			if d.prmResource != "" {
				resource = d.prmResource
			}
			_ = json.NewEncoder(w).Encode(map[string]any{
				"resource": resource, "authorization_servers": []string{settingsIssuer}, "bearer_methods_supported": []string{"header"},
			})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(edge.Close)
	key := settingsRSAKey().PublicKey
	b64 := base64.RawURLEncoding.EncodeToString
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.hit()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/.well-known/oauth-authorization-server/realms/mcpbox":
			doc := map[string]any{
				"issuer": settingsIssuer, "authorization_endpoint": settingsIssuer + "/auth", "token_endpoint": settingsIssuer + "/token",
				"jwks_uri": "https://" + settingsIDPHost + settingsJWKSPath, "registration_endpoint": settingsIssuer + "/register",
			}
			if !d.noS256 {
				doc["code_challenge_methods_supported"] = []string{"S256"}
			}
			_ = json.NewEncoder(w).Encode(doc)
		case r.URL.Path == settingsJWKSPath && !d.jwksMissing:
			_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
				{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())},
			}})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(idp.Close)
	b.Sandbox.MapHost(settingsEdgeHost, edge.URL)
	b.Sandbox.MapHost(settingsIDPHost, idp.URL)
}

// settingsConfigure saves the expected configuration through the page.
func settingsConfigure(p *Page) {
	p.t.Helper()
	p.Open("/remote-access")
	p.Fill("#remote-public-url", settingsEdgeURL)
	p.Fill("#remote-issuer", settingsIssuer)
	p.Exec(`document.getElementById("remote-access").dataset.old = "1"; true`)
	p.Click(`#remote-config-form button[type="submit"]`)
	p.WaitFor(`!document.getElementById("remote-access").dataset.old`, 10*time.Second, "the saved configuration")
	if p.Count("#remote-snippets") != 1 {
		p.t.Fatalf("the configuration was not saved: %s", p.Text("#remote-config-form"))
	}
}

// settingsRunCheck clicks Run check and waits for the result to replace
// the page's body (other swaps, such as the settings event's re-check, may
// settle meanwhile).
func settingsRunCheck(p *Page) {
	p.t.Helper()
	p.Exec(`document.getElementById("remote-access").dataset.old = "1"; true`)
	p.Click("#remote-check-run")
	p.WaitFor(`!document.getElementById("remote-access").dataset.old`, 70*time.Second, "the self-check's answer")
}

// settingsSteps is each step's result as the page shows it ("R1 pass").
func settingsSteps(p *Page) map[string]string {
	return Eval[map[string]string](p, `Object.fromEntries([...document.querySelectorAll("#remote-check-steps tbody tr")].map((tr) => [tr.id.replace("remote-step-", ""), tr.dataset.result + (tr.hasAttribute("data-critical") ? " critical" : "")]))`)
}

func TestUI47_SelfCheckPasses(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	d := &settingsDeployment{}
	d.start(t, b)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	settingsConfigure(p)
	fetches := b.Sandbox.Hits(proto.PathSandboxFetch)
	settingsRunCheck(p)
	steps := settingsSteps(p)
	for _, id := range []string{"R1", "R2", "R3", "R4", "R5", "R6", "R7"} {
		if steps[id] != "pass" {
			t.Errorf("%s: %q, want pass (%s)", id, steps[id], p.Text("#remote-step-"+id))
		}
	}
	// Every probe went through the fake sandbox's fetch: the fakes' names
	// resolve nowhere else, and each request they got was one fetch.
	if n, via := d.count(), b.Sandbox.Hits(proto.PathSandboxFetch)-fetches; n == 0 || n != via {
		t.Errorf("the fakes got %d requests, the sandbox performed %d fetches", n, via)
	}
	when, _ := p.Attr("#remote-check-when time", "datetime")
	if when == "" {
		t.Fatal("no time of the result")
	}
	p.Reload()
	if again, _ := p.Attr("#remote-check-when time", "datetime"); again != when || settingsSteps(p)["R7"] != "pass" {
		t.Fatalf("after reload: time %q (was %q), steps %v", again, when, settingsSteps(p))
	}
}

func TestUI48_SelfCheckFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(*settingsDeployment)
		step  string
		want  string // the step's result
		text  []string
	}{
		{"open endpoint", func(d *settingsDeployment) { d.open = true }, "R3", "fail critical", []string{"Critical"}},
		{"other resource", func(d *settingsDeployment) { d.prmResource = "https://other.example/mcp" }, "R4", "fail", []string{"https://other.example/mcp", settingsEdgeURL + "/mcp"}},
		{"JWKS 404", func(d *settingsDeployment) { d.jwksMissing = true }, "R6", "fail", []string{"404"}},
		{"no S256", func(d *settingsDeployment) { d.noS256 = true }, "R5", "warning", []string{"S256"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := NewBackend(t)
			b.CreateAdmin(t)
			d := &settingsDeployment{}
			c.setup(d)
			d.start(t, b)
			p := b.NewPage(t, Desktop)
			p.SignIn()
			settingsConfigure(p)
			settingsRunCheck(p)
			if got := settingsSteps(p)[c.step]; got != c.want {
				t.Fatalf("%s: %q, want %q (%s)", c.step, got, c.want, p.Text("#remote-step-"+c.step))
			}
			row := p.Text("#remote-step-" + c.step)
			for _, s := range c.text {
				if !strings.Contains(row, s) {
					t.Errorf("%s row %q does not name %q", c.step, row, s)
				}
			}
		})
	}
	t.Run("already running", func(t *testing.T) {
		t.Parallel()
		b := NewBackend(t)
		b.CreateAdmin(t)
		d := &settingsDeployment{hold: make(chan struct{}), arrived: make(chan struct{}, 1)}
		d.start(t, b)
		// Registered after the fakes, so it runs before they close.
		var release sync.Once
		t.Cleanup(func() { release.Do(func() { close(d.hold) }) })
		first := b.NewPage(t, Desktop)
		first.SignIn()
		settingsConfigure(first)
		first.Click("#remote-check-run")
		select {
		case <-d.arrived:
		case <-time.After(20 * time.Second):
			t.Fatal("the first check never reached the edge")
		}
		second := b.NewPage(t, Desktop)
		rec := second.Record()
		second.SignIn()
		second.Open("/remote-access")
		settingsRunCheck(second)
		if st := lastStatus(t, rec, "/remote-access/self-check"); st != http.StatusConflict {
			t.Fatalf("second run: %d, want 409", st)
		}
		if got := second.Text("#remote-check-problem"); !strings.Contains(got, "A check is already running") {
			t.Fatalf("second run shows %q", got)
		}
		release.Do(func() { close(d.hold) })
		first.WaitFor(`!!document.querySelector("#remote-step-R7")`, 30*time.Second, "the first check's result")
	})
}

// UI-49 and UI-53: each settings tab, the §7 dialogs of the area while
// open, and remote access unconfigured, configured and with results.
func TestUI49_UI53_SettingsPages(t *testing.T) {
	t.Parallel()
	for _, c := range combos() {
		t.Run(fmt.Sprintf("%s-%d", c.theme, c.view.Width), func(t *testing.T) {
			t.Parallel()
			b := NewBackend(t)
			b.CreateAdmin(t)
			d := &settingsDeployment{noS256: true}
			d.start(t, b)
			p := b.NewPage(t, c.view)
			p.SetThemeCookie(c.theme)
			p.SignIn()
			p.Open("/settings?tab=security")
			review(t, p, "settings-security", c.theme)
			p.Click(`label[for="sec-network_access_policy-allow_all_public"]`)
			p.Click(`label[for="sec-remote_tool_editing-enabled"]`)
			p.Click("#settings-security-save")
			p.WaitFor(`document.getElementById("settings-confirm-relax").open`, 5*time.Second, "the relaxation dialog")
			if got := settingsListed(p); len(got) != 2 {
				t.Errorf("the dialog lists %q, want two relaxations", got)
			}
			review(t, p, "settings-security-confirm", c.theme)
			p.Key(KeyEscape)
			p.WaitFor(`!document.getElementById("settings-confirm-relax").open`, 5*time.Second, "Escape to close the dialog")

			p.Open("/settings?tab=account")
			review(t, p, "settings-account", c.theme)
			p.Open("/settings?tab=sessions")
			review(t, p, "settings-sessions", c.theme)
			p.Click("#settings-end-all")
			p.WaitFor(`document.getElementById("settings-confirm-end-all").open`, 5*time.Second, "the sign-out-everywhere dialog")
			review(t, p, "settings-sessions-confirm", c.theme)
			p.Key(KeyEscape)
			p.WaitFor(`!document.getElementById("settings-confirm-end-all").open`, 5*time.Second, "Escape to close the dialog")
			p.Open("/settings?tab=backup")
			review(t, p, "settings-backup", c.theme)

			p.Open("/remote-access")
			review(t, p, "remote-access-unconfigured", c.theme)
			settingsConfigure(p)
			review(t, p, "remote-access-configured", c.theme)
			p.Click(`label[for="remote-mode-everyone"]`)
			p.Click(`#remote-allow-form button[type="submit"]`)
			p.WaitFor(`document.getElementById("remote-confirm-everyone").open`, 5*time.Second, "the anyone dialog")
			review(t, p, "remote-access-confirm-everyone", c.theme)
			p.Key(KeyEscape)
			p.WaitFor(`!document.getElementById("remote-confirm-everyone").open`, 5*time.Second, "Escape to close the dialog")
			settingsRunCheck(p)
			if settingsSteps(p)["R5"] != "warning" {
				t.Errorf("steps %v, want a warning at R5", settingsSteps(p))
			}
			review(t, p, "remote-access-results", c.theme)
		})
	}
}
