//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow/oauthfake"
)

// External sources on the server page and their OAuth sign-in: UI-24 and
// UI-25. The fake sandbox stands in for the MCP server (discovery) and
// brokers the OAuth requests to oauthfake's authorization server and
// protected MCP server.

const (
	sourcesIssuer = "https://auth.example.com"
	sourcesMCPURL = "https://mcp.example.com/mcp"
)

// sourcesRemoteTools are the fake MCP server's tools: forecast's import
// name, remote_forecast, is taken by a tool of the server.
func sourcesRemoteTools(proto.DiscoverRequest) proto.DiscoverResponse {
	return proto.DiscoverResponse{OK: true, Tools: []proto.DiscoveredTool{
		{Name: "forecast", Description: "The forecast for a city.", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
		{Name: "alerts", Description: "Weather alerts."},
		{Name: "radar", Description: "The radar image's URL."},
	}}
}

// sourcesRow is the selector of a source's row.
func sourcesRow(name string) string { return `tr[data-source="` + name + `"]` }

func TestUI24_DiscoverMarksConflictsAndImportsApproved(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	id := serversSeed(t, b, "weather", true, true)
	b.Manage(t, "mcpbox_create_tool", map[string]any{
		"server_id": id, "name": "remote_forecast",
		"code": "package main\n\n// Main forecasts.\nfunc Main() (string, error) {\n\treturn \"\", nil\n}\n",
	}, nil)
	b.Sandbox.OnDiscover(sourcesRemoteTools)
	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/servers/" + id + "?tab=sources")
	p.Axe("sources section, empty")

	p.Click("#add-source-open")
	p.WaitFor(`document.querySelector("#add-source-dialog").open && document.activeElement.id === "source-name"`, 10*time.Second, "the Add source dialog, name focused")
	p.Axe("Add source dialog")
	p.Fill("#source-name", "remote")
	p.Fill("#source-url", sourcesMCPURL)
	p.Settle(Click(`#add-source-form button[type=submit]`))
	row := sourcesRow("remote")
	p.WaitFor(`document.querySelector('`+row+` .source-status')?.textContent === "Active"`, 10*time.Second, "the Active source row")
	// Rename's dialog (admin-ui.md §11.3) opens with its field focused;
	// Escape closes it.
	p.Click(row + ` [data-dialog-open^="rename-source-"]`)
	p.WaitFor(`document.querySelector('`+row+` dialog[id^="rename-source-"]').open && document.activeElement.name === "name"`, 10*time.Second, "the Rename dialog, name focused")
	p.Axe("Rename source dialog")
	p.Key(KeyEscape)
	p.WaitFor(`!document.querySelector('`+row+` dialog[id^="rename-source-"]').open`, 10*time.Second, "Escape to close the Rename dialog")

	p.Settle(Click(row + ` .source-discover`))
	p.WaitFor(`document.querySelectorAll("#sources-import-form input[name=tool]").length === 3`, 10*time.Second, "three discovered tools")
	if b.Sandbox.Hits(proto.PathSandboxDiscover) != 1 {
		t.Errorf("%d discoveries reached the sandbox", b.Sandbox.Hits(proto.PathSandboxDiscover))
	}
	type tool struct {
		Name    string `json:"name"`
		Checked bool   `json:"checked"`
		Text    string `json:"text"`
	}
	listed := Eval[[]tool](p, `Array.from(document.querySelectorAll("#sources-import-form li.sources-tool")).map((li) => {
  const box = li.querySelector("input[name=tool]");
  return { name: box.value, checked: box.checked, text: li.textContent };
})`)
	for _, tl := range listed {
		conflict := tl.Name == "forecast"
		if tl.Checked == conflict || strings.Contains(tl.Text, "Name conflict") != conflict {
			t.Errorf("%s: checked %v, text %q", tl.Name, tl.Checked, tl.Text)
		}
	}
	// The mark is text, described to the checkbox.
	if got := Eval[string](p, `(() => { const box = document.querySelector("#sources-import-form input[value=forecast]");
  return box.getAttribute("aria-describedby").split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" | "); })()`); !strings.Contains(got, "Name conflict") {
		t.Errorf("the conflict is not in the checkbox's description: %q", got)
	}
	p.Axe("sources section with a discovery")

	p.Settle(Click("#sources-import"))
	p.WaitFor(`document.querySelector("#toasts-status").textContent.includes("2 tools imported, 1 skipped.")`, 10*time.Second, "the import announced in the status region")

	p.Open("/servers/" + id + "?tab=tools")
	for _, name := range []string{"weather__remote_alerts", "weather__remote_radar"} {
		got := Eval[string](p, `Array.from(document.querySelectorAll("#tools-table tbody tr")).filter((r) => r.textContent.includes(`+jsString(name)+`)).map((r) => r.textContent).join("")`)
		if !strings.Contains(got, "External") || !strings.Contains(got, "Approved") {
			t.Errorf("%s under Tools: %q", name, got)
		}
	}
	serversPost(t, b, "/api/v1/servers/"+id+"/start", nil, http.StatusOK)
	catalog := approvalsCatalog(t, b)
	for _, name := range []string{"weather__remote_alerts", "weather__remote_radar"} {
		if !strings.Contains(catalog, name) {
			t.Errorf("the catalog lacks %s", name)
		}
	}
	if strings.Contains(catalog, "weather__remote_forecast\",\"kind\":\"external") {
		t.Error("the conflicting tool was imported")
	}
}

// sourcesAuthorize plays the authorization server in the browser: a
// navigation to its host is answered, without leaving the machine, by
// as.Authorize (the user approves) and a 303 to the request's redirect URI
// with the code and state, as the real server does. It returns the
// callback URLs it sent so far.
func sourcesAuthorize(p *Page, as *oauthfake.AuthServer) func() []string {
	p.t.Helper()
	var (
		mu   sync.Mutex
		sent []string
	)
	ctx, cancel := context.WithCancel(p.tab)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	p.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: sourcesIssuer + "/*"}}})
		return err
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			answer := fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: http.StatusBadRequest}
			if code, state, aerr := as.Authorize(ev.Request.URL); aerr == nil {
				u, _ := url.Parse(ev.Request.URL)
				back := u.Query().Get("redirect_uri") + "?" + url.Values{"code": {code}, "state": {state}}.Encode()
				mu.Lock()
				sent = append(sent, back)
				mu.Unlock()
				answer.ResponseCode, answer.ResponseHeaders = http.StatusSeeOther, []*fetch.HeaderEntry{{Name: "Location", Value: back}}
			}
			cctx, ccancel := context.WithTimeout(p.tab, ActionTimeout)
			_, _ = chromedp.Call(cctx, fetch.FulfillRequest, answer)
			ccancel()
		}
	}()
	p.t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(p.tab, ActionTimeout)
		_, _ = chromedp.Call(dctx, fetch.Disable, cdp.Empty{})
		dcancel()
		cancel()
		<-done
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), sent...)
	}
}

func TestUI25_OAuthInterstitialContinueAndReplay(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.CreateAdmin(t)
	as := oauthfake.NewAuthServer(t, sourcesIssuer)
	mcp := oauthfake.NewResource(t, sourcesMCPURL, sourcesIssuer, as.ValidAccessToken)
	b.Sandbox.MapHost("auth.example.com", as.Server().URL)
	b.Sandbox.MapHost("mcp.example.com", mcp.Server().URL)
	id := serversSeed(t, b, "code", false, false)
	serversPost(t, b, "/api/v1/servers/"+id+"/external-sources", map[string]any{"name": "github", "url": sourcesMCPURL, "auth_type": "oauth"}, http.StatusCreated)

	p := b.NewPage(t, Desktop)
	p.SignIn()
	p.Open("/servers/" + id + "?tab=sources")
	row := sourcesRow("github")
	if got := p.Text(row + " .source-status"); got != "Needs authentication" {
		t.Fatalf("status before sign-in %q", got)
	}
	p.Settle(Click(row + " .source-sign-in"))
	p.WaitFor(`!!document.querySelector("#oauth-continue")`, 10*time.Second, "the interstitial")
	if got := p.Text("#oauth-host"); got != "auth.example.com" {
		t.Errorf("the interstitial names %q", got)
	}
	if !strings.Contains(p.Text("#oauth-note"), "You will sign in at auth.example.com to let MCPbox call github") {
		t.Errorf("interstitial note %q", p.Text("#oauth-note"))
	}
	if href, _ := p.Attr("#oauth-continue", "href"); !strings.HasPrefix(href, sourcesIssuer+"/authorize?") {
		t.Errorf("Continue goes to %q", href)
	}
	if _, popup := p.Attr("#oauth-continue", "target"); popup || Eval[string](p, `document.querySelector("#oauth-continue").tagName`) != "A" {
		t.Error("Continue is not a plain same-window link")
	}
	p.Axe("OAuth interstitial")

	callbacks := sourcesAuthorize(p, as)
	p.Submit(Click("#oauth-continue"))
	p.WaitFor(`location.pathname === "/servers/`+id+`" && document.querySelector("#sources-signed-in")?.textContent.includes("Active")`, 10*time.Second, "the section saying the source is Active")
	if got := p.Text(row + " .source-status"); got != "Active" {
		t.Errorf("status after sign-in %q", got)
	}
	if role, _ := p.Attr("#sources-signed-in", "role"); role != "status" {
		t.Errorf("the sign-in notice's role %q", role)
	}
	p.Axe("sources section after the sign-in")
	sent := callbacks()
	if len(sent) != 1 {
		t.Fatalf("%d authorizations, want 1", len(sent))
	}
	var tokens []byte
	var connected int
	read := func() ([]byte, int) {
		var enc []byte
		var n int
		dbtest.QueryRow(t, b.DatabaseURL, "SELECT oauth_tokens_enc FROM external_mcp_sources WHERE name = 'github'", []any{&enc})
		dbtest.QueryRow(t, b.DatabaseURL, "SELECT count(*) FROM activity_log WHERE action = 'source.oauth_connected'", []any{&n})
		return enc, n
	}
	tokens, connected = read()
	exchanges := as.Count("code")
	if tokens == nil || connected != 1 || exchanges != 1 {
		t.Fatalf("after the sign-in: tokens stored %v, connected rows %d, exchanges %d", tokens != nil, connected, exchanges)
	}

	// The replay: an error page, nothing stored.
	if status := p.Open(sent[0]); status != http.StatusBadRequest {
		t.Errorf("replay: status %d", status)
	}
	if got := p.Text("#error-notice"); !strings.Contains(got, "already used") || !strings.Contains(got, "nothing was stored") {
		t.Errorf("replay page %q", got)
	}
	again, n := read()
	if string(again) != string(tokens) || n != connected || as.Count("code") != exchanges {
		t.Errorf("the replay changed something: tokens equal %v, connected rows %d, exchanges %d", string(again) == string(tokens), n, as.Count("code"))
	}
}
