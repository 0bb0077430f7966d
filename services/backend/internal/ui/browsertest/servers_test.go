//go:build browser

package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Servers list and server detail: UI-18 to UI-23, and UI-49/UI-53 for the
// servers pages, each built server section and their dialogs while open.

// serversSeed creates a server through the management tools, as the LLM
// does; with a tool that reads API_KEY and names api.example.com,
// submitted for review and, when approve is set, approved through the API.
// It returns the server's id. The admin must exist.
func serversSeed(t *testing.T, b *Backend, name string, withTool, approve bool) string {
	t.Helper()
	var s struct {
		ID string `json:"server_id"`
	}
	b.Manage(t, "mcpbox_create_server", map[string]any{"name": name, "description": "The " + name + " server"}, &s)
	if !withTool {
		return s.ID
	}
	var tl struct {
		ID string `json:"tool_id"`
	}
	b.Manage(t, "mcpbox_create_tool", map[string]any{
		"server_id": s.ID, "name": "fetch", "hosts": []string{"api.example.com"},
		"code": "package main\n\n// Main fetches.\nfunc Main() (string, error) {\n\t_ = mcpbox.Secret(\"API_KEY\")\n\treturn \"\", nil\n}\n",
	}, &tl)
	b.Manage(t, "mcpbox_request_publish", map[string]any{"tool_id": tl.ID}, nil)
	if approve {
		auth := b.Bearer(t)
		r := b.API(t, http.MethodGet, "/api/v1/tools/"+tl.ID, nil, auth...)
		var got struct {
			LatestVersion int `json:"latest_version"`
			Latest        struct {
				Hash string `json:"hash"`
			} `json:"latest"`
		}
		r.JSON(t, &got)
		if r := b.API(t, http.MethodPost, "/api/v1/tools/"+tl.ID+"/approve", map[string]any{"version": got.LatestVersion, "hash": got.Latest.Hash}, auth...); r.Status != http.StatusOK {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
	}
	return s.ID
}

// serversPost sends an admin API POST and fails unless it answers want.
func serversPost(t *testing.T, b *Backend, path string, body any, want int) {
	t.Helper()
	if r := b.API(t, http.MethodPost, path, body, b.Bearer(t)...); r.Status != want {
		t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
}

func TestUI18_ServersEmptySearchAndNoMatch(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/servers")
	if got := p.Text("#servers-empty"); !strings.Contains(got, "No servers yet") || !strings.Contains(got, "mcpbox_create_server") {
		t.Errorf("empty state %q", got)
	}
	for _, n := range []string{"alpha", "beta", "gamma", "delta", "epsilon"} {
		_ = serversSeed(t, b, n, false, false)
	}
	p.Open("/servers")
	if n := p.Count("article.server-card"); n != 5 {
		t.Fatalf("%d cards, want 5", n)
	}
	p.Exec(`window.__serversMarker = 1; true`)
	p.Fill("#servers-q", "gam")
	p.WaitFor(`location.search === "?q=gam&status=" && document.querySelectorAll("article.server-card").length === 1`, 10*time.Second, "the search to narrow the list")
	if got := p.Text("article.server-card h2"); got != "gamma" {
		t.Errorf("search found %q", got)
	}
	p.Fill("#servers-q", "zzzz-nonsense")
	p.WaitFor(`!!document.querySelector("#servers-no-match")`, 10*time.Second, "the no-match state")
	if got := p.Text("#servers-no-match"); !strings.Contains(got, "No servers match “zzzz-nonsense”") {
		t.Errorf("no match %q", got)
	}
	if Eval[int](p, `window.__serversMarker || 0`) != 1 {
		t.Error("the search loaded a new page")
	}
	// The URL reproduces the view (U6).
	p.Reload()
	if p.Count("#servers-no-match") != 1 || Eval[string](p, `document.querySelector("#servers-q").value`) != "zzzz-nonsense" {
		t.Error("reload lost the search")
	}
	p.Submit(Click("#servers-clear"))
	if n := p.Count("article.server-card"); n != 5 || p.Path() != "/servers" {
		t.Errorf("Clear: %d cards at %s", n, p.Path())
	}
}

func TestUI19_StartStopInPlace(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	idle := serversSeed(t, b, "idle", true, false)
	live := serversSeed(t, b, "live", true, true)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/servers")
	serversLive(p)
	idleStart := "#server-card-" + idle + " .server-start"
	if _, disabled := p.Attr(idleStart, "disabled"); !disabled {
		t.Error("Start of a server without an approved tool is enabled")
	}
	if got := p.Text("#start-reason-" + idle); !strings.Contains(got, "approved and enabled") {
		t.Errorf("reason %q", got)
	}
	card := "#server-card-" + live
	p.Exec(`window.__serversMarker = 1; window.__labels = [];
new MutationObserver(() => { const b = document.querySelector("` + card + ` button[type=submit]"); if (b) window.__labels.push(b.textContent.trim()); })
  .observe(document.querySelector("#servers-results"), { subtree: true, childList: true, characterData: true, attributes: true }); true`)
	p.Settle(Click(card + " .server-start"))
	p.WaitFor(`document.querySelector("`+card+` .server-status")?.textContent === "Running"`, 10*time.Second, "Running")
	if labels := Eval[[]string](p, `window.__labels`); !contains(labels, "Starting…") {
		t.Errorf("button labels %q, want Starting…", labels)
	}
	p.Settle(Click(card + " .server-stop"))
	p.WaitFor(`document.querySelector("`+card+` .server-status")?.textContent === "Stopped"`, 10*time.Second, "Stopped")
	if Eval[int](p, `window.__serversMarker || 0`) != 1 {
		t.Error("Start or Stop loaded a new page")
	}
}

// serversLive waits until the page's event stream is connected: events
// of earlier changes are not replayed, so the page is not refreshed under
// the check's clicks by changes made before it opened.
func serversLive(p *Page) {
	p.WaitFor(`document.querySelector("#live-indicator")?.dataset.state === "live"`, 10*time.Second, "the event stream")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestUI20_SectionsAreURLs(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	id := serversSeed(t, b, "weather", true, true)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/servers/" + id + "?tab=secrets")
	current := `Array.from(document.querySelectorAll("nav[aria-label='Server sections'] a[aria-current=page]")).map((a) => a.dataset.tab).join(",")`
	if got := Eval[string](p, current); got != "secrets" || p.Text("#section-title") != "Secrets" {
		t.Fatalf("current section %q", got)
	}
	p.Submit(Click(`nav[aria-label='Server sections'] a[data-tab=tools]`))
	if got := Eval[string](p, current); got != "tools" || !strings.Contains(p.Text("#server-section"), "weather__fetch") {
		t.Errorf("tools: current %q", got)
	}
	p.Back()
	p.WaitFor(`location.search === "?tab=secrets" && document.readyState === "complete" && `+current+` === "secrets"`, 10*time.Second, "Back to Secrets")
}

func TestUI21_SecretValueIsWriteOnly(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	id := serversSeed(t, b, "vault", true, false)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	rec := p.Record()
	p.Open("/servers/" + id + "?tab=secrets")
	p.Click("#add-secret-open")
	p.WaitFor(`document.querySelector("#add-secret-dialog").open && document.activeElement.id === "secret-key"`, 10*time.Second, "the Add secret dialog")
	p.Fill("#secret-key", "api_key")
	p.Settle(Click(`#add-secret-form button[type=submit]`))
	p.WaitFor(`!!document.querySelector("#secret-row-API_KEY")`, 10*time.Second, "the API_KEY row")
	if got := p.Text("#secret-row-API_KEY .secret-state"); got != "Not set" {
		t.Errorf("new secret %q", got)
	}
	const value, second = "UI21-s3cret-value", "UI21-s3cret-value-replaced"
	for i, v := range []string{value, second} {
		p.Click("#set-value-open-API_KEY")
		p.WaitFor(`document.querySelector("#set-value-API_KEY").open && document.activeElement.id === "secret-value-API_KEY"`, 10*time.Second, "the value dialog")
		if i == 1 && !strings.Contains(p.Text("#set-value-API_KEY-title"), "Replace") {
			t.Errorf("second dialog %q", p.Text("#set-value-API_KEY-title"))
		}
		p.Fill("#secret-value-API_KEY", v)
		p.Settle(Click(`#set-value-API_KEY-form button[type=submit]`))
		p.WaitFor(`document.querySelector("#secret-row-API_KEY .secret-state")?.textContent === "Set" && !document.querySelector("dialog[open]")`, 10*time.Second, "Set")
		dom := p.HTML()
		inputs := Eval[string](p, `Array.from(document.querySelectorAll("input")).map((i) => i.value).join("\n")`)
		if strings.Contains(dom, v) || strings.Contains(inputs, v) {
			t.Errorf("value %d is in the DOM after saving", i)
		}
	}
	p.Reload()
	for _, r := range rec.Responses() {
		if strings.Contains(r.Body, value) || strings.Contains(r.Body, second) {
			t.Errorf("%s %s (%d) holds a submitted value", r.Method, r.URL, r.Status)
		}
		for _, h := range r.Header {
			if strings.Contains(h, value) {
				t.Errorf("%s %s: a header holds the value", r.Method, r.URL)
			}
		}
	}
	if src := p.HTML(); strings.Contains(src, value) || strings.Contains(src, second) {
		t.Error("the page holds a value")
	}
}

func TestUI22_ClearDeleteAndHosts(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	id := serversSeed(t, b, "net", true, false)
	serversPost(t, b, "/api/v1/servers/"+id+"/secrets", map[string]any{"name": "API_KEY", "value": "a-long-enough-value"}, http.StatusCreated)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/servers/" + id + "?tab=secrets")
	p.Click(`#secret-row-API_KEY button[aria-label="Clear value of API_KEY"]`)
	p.WaitFor(`document.querySelector("#confirm-clear-API_KEY").open`, 10*time.Second, "the Clear value dialog")
	if got := p.Text("#confirm-clear-API_KEY"); !strings.Contains(got, "net__fetch") || !strings.Contains(got, "will fail until a value is set") {
		t.Errorf("Clear dialog %q", got)
	}
	p.Settle(Click(`#confirm-clear-API_KEY [data-dialog-confirm]`))
	p.WaitFor(`document.querySelector("#secret-row-API_KEY .secret-state")?.textContent === "Not set"`, 10*time.Second, "Not set")

	p.Click(`#secret-row-API_KEY button[aria-label="Delete secret API_KEY"]`)
	p.WaitFor(`document.querySelector("#confirm-delete-API_KEY").open && document.activeElement.matches("[data-dialog-cancel]")`, 10*time.Second, "the Delete dialog, Cancel focused")
	p.Click(`#confirm-delete-API_KEY [data-dialog-cancel]`)
	p.WaitFor(`!document.querySelector("#confirm-delete-API_KEY").open`, 10*time.Second, "the dialog to close")
	if p.Count("#secret-row-API_KEY") != 1 {
		t.Fatal("Cancel deleted the secret")
	}
	p.Click(`#secret-row-API_KEY button[aria-label="Delete secret API_KEY"]`)
	p.WaitFor(`document.querySelector("#confirm-delete-API_KEY").open`, 10*time.Second, "the Delete dialog")
	p.Settle(Click(`#confirm-delete-API_KEY [data-dialog-confirm]`))
	p.WaitFor(`!document.querySelector("#secret-row-API_KEY") && !!document.querySelector("#secrets-empty")`, 10*time.Second, "the secret to go")

	p.Open("/servers/" + id + "?tab=hosts")
	p.Fill("#host-add", "api.example.com")
	p.Settle(Key(KeyEnter))
	p.WaitFor(`document.querySelector("tr[data-host='api.example.com'] .host-source")?.textContent === "Added by admin"`, 10*time.Second, "the host row")
	p.Fill("#host-add", "http://x/y")
	p.Settle(Key(KeyEnter))
	p.WaitFor(`document.querySelector("#host-add")?.getAttribute("aria-invalid") === "true" && document.querySelector("#host-add-error").textContent.length > 0`, 10*time.Second, "the field error")
	row := `tr[data-host='api.example.com']`
	p.Click(row + ` button[aria-label^="Remove host"]`)
	p.WaitFor(`!!document.querySelector("dialog[open]")`, 10*time.Second, "the Remove dialog")
	if got := Eval[string](p, `document.querySelector("dialog[open]").textContent`); !strings.Contains(got, "net__fetch") {
		t.Errorf("Remove dialog %q", got)
	}
	p.Settle(Click(`dialog[open] [data-dialog-confirm]`))
	p.WaitFor(`!document.querySelector("`+row+`")`, 10*time.Second, "the host to go")
}

func TestUI23_DeleteServer(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	id := serversSeed(t, b, "doomed", true, true)
	other := serversSeed(t, b, "other", false, false)
	serversPost(t, b, "/api/v1/servers/"+id+"/start", nil, http.StatusOK)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/servers/" + id + "?tab=settings")
	if _, disabled := p.Attr("#delete-server-open", "disabled"); !disabled || p.Text("#delete-server-reason") != "Stop the server first." {
		t.Fatal("Delete server is enabled while running")
	}
	serversLive(p)
	p.Settle(Click("#server-header .server-stop"))
	p.WaitFor(`document.querySelector("#server-header .server-status")?.textContent === "Stopped"`, 10*time.Second, "Stopped")
	p.Open("/servers/" + id + "?tab=settings")
	p.Click("#delete-server-open")
	p.WaitFor(`document.querySelector("#delete-server-dialog").open`, 10*time.Second, "the Delete server dialog")
	// Confirm stays disabled until the exact name is typed (data-confirm-match).
	for _, typed := range []string{"", "doome", "doomed2"} {
		p.Fill("#delete-confirm-name", typed)
		p.WaitFor(`document.querySelector("#delete-server-confirm").disabled`, 10*time.Second, "Confirm disabled with "+jsString(typed)+" typed")
	}
	if r := b.API(t, http.MethodGet, "/api/v1/servers/"+id, nil, b.Bearer(t)...); r.Status != http.StatusOK {
		t.Fatal("the server was deleted without its name typed")
	}
	p.Fill("#delete-confirm-name", "doomed")
	p.WaitFor(`!document.querySelector("#delete-server-confirm").disabled`, 10*time.Second, "Confirm enabled with the name typed")
	p.Settle(Click("#delete-server-confirm"))
	p.WaitFor(`location.pathname === "/servers" && document.querySelector("#toasts-status").textContent.includes("doomed deleted")`, 10*time.Second, "the list with a toast")
	if p.Count("#server-card-"+id) != 0 || p.Count("#server-card-"+other) != 1 {
		t.Error("the list still shows the deleted server")
	}
	// The server enforces the typed name.
	status := Eval[int](p, `fetch("/servers/`+other+`/delete", {method: "POST", headers: {"X-CSRF-Token": document.querySelector("meta[name=csrf-token]").content},
  body: new URLSearchParams({confirm_name: "wrong"}), credentials: "same-origin"}).then((r) => r.status)`)
	if status != http.StatusUnprocessableEntity {
		t.Errorf("direct POST with a wrong name: %d", status)
	}
}

// UI-49 and UI-53 for the servers pages.
func TestUI49_UI53_ServersPages(t *testing.T) {
	t.Parallel()
	for _, c := range combos() {
		t.Run(fmt.Sprintf("%s-%d", c.theme, c.view.Width), func(t *testing.T) {
			t.Parallel()
			b := NewBackend(t)
			b.CreateAdmin(t)
			p := b.NewPage(t, c.view)
			p.SetThemeCookie(c.theme)
			p.SignIn()
			p.Open("/servers")
			review(t, p, "servers-empty", c.theme)
			id := serversSeed(t, b, "weather_station", true, true)
			_ = serversSeed(t, b, "pending_one", true, false)
			_ = serversSeed(t, b, "bare", false, false)
			serversPost(t, b, "/api/v1/servers/"+id+"/secrets", map[string]any{"name": "API_KEY", "description": "Key of the forecast API"}, http.StatusCreated)
			serversPost(t, b, "/api/v1/servers/"+id+"/external-sources", map[string]any{
				"name": "forecast_service", "url": "https://mcp.forecast.example.com/mcp", "auth_type": "bearer", "auth_secret_name": "API_KEY",
			}, http.StatusCreated)
			p.Open("/servers")
			review(t, p, "servers", c.theme)
			p.Open("/servers?q=nothing-here")
			review(t, p, "servers-no-match", c.theme)
			for _, tab := range []string{"overview", "tools", "secrets", "sources", "hosts", "packages", "settings"} {
				p.Open("/servers/" + id + "?tab=" + tab)
				review(t, p, "server-"+tab, c.theme)
			}
			dialogs := []struct{ tab, open, name string }{
				{"tools", `button[aria-label^="Delete tool"]`, "server-tools-delete-dialog"},
				{"secrets", "#add-secret-open", "server-secrets-add-dialog"},
				{"secrets", "#set-value-open-API_KEY", "server-secrets-value-dialog"},
				{"secrets", `button[aria-label="Delete secret API_KEY"]`, "server-secrets-delete-dialog"},
				{"sources", "#add-source-open", "server-sources-add-dialog"},
				{"sources", `button[aria-label^="Delete source"]`, "server-sources-delete-dialog"},
				{"hosts", `button[aria-label^="Remove host"]`, "server-hosts-remove-dialog"},
			}
			for _, d := range dialogs {
				p.Open("/servers/" + id + "?tab=" + d.tab)
				p.Click(d.open)
				p.WaitFor(`!!document.querySelector("dialog[open]")`, 10*time.Second, d.name)
				review(t, p, d.name, c.theme)
				p.Key(KeyEscape)
			}
			serversPost(t, b, "/api/v1/servers/"+id+"/stop", nil, http.StatusOK)
			p.Open("/servers/" + id + "?tab=settings")
			p.Click("#delete-server-open")
			p.WaitFor(`document.querySelector("#delete-server-dialog").open`, 10*time.Second, "the Delete server dialog")
			review(t, p, "server-delete-dialog", c.theme)
			// Confirm is disabled until the name is typed: submit the empty
			// field as Enter would, for the error state.
			p.Exec(`document.querySelector("#delete-server-form").requestSubmit(); true`)
			p.WaitFor(`document.querySelector("#delete-confirm-name").getAttribute("aria-invalid") === "true"`, 10*time.Second, "the typed-name error")
			review(t, p, "server-delete-dialog-error", c.theme)
		})
	}
}
