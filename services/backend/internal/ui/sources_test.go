package ui_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
)

// sourcesSeed is a server with an approved tool "fetch" and a Go tool
// named remote_forecast, the name an import of the remote tool forecast
// of a source named "remote" would take.
func sourcesSeed(t *testing.T, b *sourcesBackend, name string) string {
	t.Helper()
	id, _ := b.seed(t, name, true, true)
	b.manage(t, "mcpbox_create_tool", map[string]any{
		"server_id": id, "name": "remote_forecast",
		"code": "package main\n\n// Main forecasts.\nfunc Main() (string, error) {\n\treturn \"\", nil\n}\n",
	}, nil)
	return id
}

// sourcesRow finds a source's row by its name.
func sourcesRow(p page, name string) *html.Node {
	return find(p.doc, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-source") == name })
}

// UI-24 (below the browser): Add source refuses bad fields naming them;
// a source added by the admin is Active; Discover (with the request id the
// page sent) lists the remote tools, the one whose name is taken unchecked
// and marked; importing two creates them approved, announced in a toast,
// in the catalog once the server runs; Delete removes the source and its
// tools.
func TestUI24_SourcesDiscoverAndImport(t *testing.T) {
	t.Parallel()
	b := newSourcesBackend(t)
	br := b.browser(t, "192.0.2.90")
	br.setup(t, "strict")
	id := sourcesSeed(t, b, "weather")
	tok := br.token(t)
	hx := []string{"HX-Request", "true"}
	base := "/servers/" + id + "/sources"

	empty := serversPage(t, br, "/servers/"+id+"?tab=sources")
	if !strings.Contains(empty.text("sources-empty"), "No external sources") || empty.byID("add-source-dialog") == nil {
		t.Fatalf("empty section: %s", empty.text("server-section"))
	}
	if open := empty.byID("add-source-open"); open == nil || attr(open, "data-dialog-open") != "add-source-dialog" || hasAttr(open, "command") {
		t.Error("Add source is not a data-dialog-open opener")
	}

	// Field errors name the field and the rule; the htmx answer is the form.
	bad := br.post(t, base, url.Values{"_csrf": {tok}, "name": {"remote"}, "url": {"ftp://x"}, "auth_type": {"bearer"}}, hx...)
	wantStatus(t, "bad source", bad, http.StatusUnprocessableEntity)
	checkHTML(t, "bad source", bad, false)
	if bad.byID("add-source-form") == nil || !strings.HasPrefix(bad.text("source-url-error"), "URL must start with https://") ||
		!strings.HasPrefix(bad.text("source-secret-error"), "Secret required for auth_type bearer") {
		t.Errorf("field errors: url %q secret %q", bad.text("source-url-error"), bad.text("source-secret-error"))
	}
	plainBad := br.post(t, base, url.Values{"_csrf": {tok}, "name": {""}, "url": {sourcesMCPURL}})
	wantStatus(t, "bad source (plain)", plainBad, http.StatusUnprocessableEntity)
	checkHTML(t, "bad source (plain)", plainBad, true)
	if d := plainBad.byID("add-source-dialog"); d == nil || !hasAttr(d, "open") || !strings.HasPrefix(plainBad.text("source-name-error"), "Name must be") {
		t.Errorf("plain error: dialog open %v, name error %q", d != nil && hasAttr(d, "open"), plainBad.text("source-name-error"))
	}

	added := br.post(t, base, url.Values{"_csrf": {tok}, "name": {"remote"}, "url": {sourcesMCPURL}, "auth_type": {"none"}}, hx...)
	wantStatus(t, "add source", added, http.StatusOK)
	checkHTML(t, "add source", added, false)
	if !strings.Contains(added.header.Get("HX-Trigger"), "Source remote added.") || added.header.Get("HX-Retarget") != "#main" {
		t.Errorf("added: HX-Trigger %q", added.header.Get("HX-Trigger"))
	}
	row := sourcesRow(added, "remote")
	if row == nil || !strings.Contains(textOf(row), "Active") || !strings.Contains(textOf(row), "Discover tools") {
		t.Fatalf("source row: %v", row != nil && strings.Contains(textOf(row), "Active"))
	}
	taken := br.post(t, base, url.Values{"_csrf": {tok}, "name": {"remote"}, "url": {sourcesMCPURL}}, hx...)
	wantStatus(t, "name taken", taken, http.StatusConflict)
	if !strings.Contains(taken.text("source-name-error"), "already has an external source named 'remote'") {
		t.Errorf("name taken: %q", taken.text("source-name-error"))
	}

	var srcID string
	dbtest.QueryRow(t, b.url, "SELECT id::text FROM external_mcp_sources WHERE name = 'remote'", []any{&srcID})
	b.offer(
		proto.DiscoveredTool{Name: "forecast", Description: "The forecast.", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
		proto.DiscoveredTool{Name: "alerts", Description: "Weather alerts."},
		proto.DiscoveredTool{Name: "radar", Description: "<img src=x onerror=alert(1)>"},
	)
	const reqID = "ui24-discover-0001"
	disc := br.post(t, base+"/"+srcID+"/discover", url.Values{"_csrf": {tok}}, append(hx, "X-Request-Id", reqID)...)
	wantStatus(t, "discover", disc, http.StatusOK)
	checkHTML(t, "discover", disc, false)
	if got := b.lastDiscovery(t).RequestID; got != reqID {
		t.Errorf("discovery request id %q, want the page's %q", got, reqID)
	}
	boxes := findAll(disc.doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == "tool" })
	if len(boxes) != 3 {
		t.Fatalf("%d tools listed, want 3", len(boxes))
	}
	for _, box := range boxes {
		li := box.Parent
		checked, conflict := hasAttr(box, "checked"), strings.Contains(textOf(li), "Name conflict")
		if (attr(box, "value") == "forecast") != conflict || checked == conflict {
			t.Errorf("%s: checked %v, marked %v", attr(box, "value"), checked, conflict)
		}
	}
	if strings.Contains(disc.body, "<img src=x") || !strings.Contains(disc.body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("a remote description is not escaped")
	}
	var audited int
	dbtest.QueryRow(t, b.url, "SELECT count(*) FROM activity_log WHERE action = 'source.discover' AND request_id = $1", []any{&audited}, reqID)
	if audited != 1 {
		t.Errorf("%d discovery audit rows with the page's request id", audited)
	}

	none := br.post(t, base+"/"+srcID+"/import", url.Values{"_csrf": {tok}}, hx...)
	wantStatus(t, "import nothing", none, http.StatusUnprocessableEntity)
	if !strings.Contains(none.text("server-problem"), "choose at least one tool") {
		t.Errorf("import nothing: %q", none.text("server-problem"))
	}
	imported := br.post(t, base+"/"+srcID+"/import", url.Values{"_csrf": {tok}, "tool": {"alerts", "radar"}}, hx...)
	wantStatus(t, "import", imported, http.StatusOK)
	if trig := imported.header.Get("HX-Trigger"); !strings.Contains(trig, "2 tools imported, 1 skipped.") {
		t.Errorf("import toast %q", trig)
	}
	tools := br.get(t, "/servers/"+id+"?tab=tools")
	for _, name := range []string{"weather__remote_alerts", "weather__remote_radar"} {
		r := find(tools.doc, func(n *html.Node) bool { return n.Data == "tr" && strings.Contains(textOf(n), name) })
		if r == nil || !strings.Contains(textOf(r), "External") || !strings.Contains(textOf(r), "Approved") {
			t.Errorf("%s is not an approved external tool in Tools", name)
		}
	}
	if status, raw := b.api(t, http.MethodPost, "/api/v1/servers/"+id+"/start", nil); status != http.StatusOK {
		t.Fatalf("start: %d %s", status, raw)
	}
	status, catalog := serversDo(t, http.MethodGet, b.internal.URL+proto.PathInternalCatalog, nil, proto.HeaderServiceToken, serversToken)
	if status != http.StatusOK || !strings.Contains(string(catalog), "weather__remote_alerts") || !strings.Contains(string(catalog), "weather__remote_radar") {
		t.Errorf("catalog: %d %.400s", status, catalog)
	}
	if status, raw := b.api(t, http.MethodPost, "/api/v1/servers/"+id+"/stop", nil); status != http.StatusOK {
		t.Fatalf("stop: %d %s", status, raw)
	}

	// Delete: its confirmation lists the imported tools, which go with it.
	sec := br.get(t, "/servers/"+id+"?tab=sources")
	dlg := sec.byID("confirm-source-delete-" + srcID)
	if dlg == nil || !strings.Contains(textOf(dlg), "weather__remote_alerts") || !strings.Contains(textOf(dlg), "cannot be undone") {
		t.Fatalf("delete confirmation: %v", dlg != nil)
	}
	gone := br.post(t, base+"/"+srcID+"/delete", url.Values{"_csrf": {tok}}, hx...)
	wantStatus(t, "delete", gone, http.StatusOK)
	if !strings.Contains(gone.header.Get("HX-Trigger"), "deleted with 2 imported tools") || gone.byID("sources-empty") == nil {
		t.Errorf("delete: %q", gone.header.Get("HX-Trigger"))
	}
	// A source of another server is not found.
	other, _ := b.seed(t, "other", false, false)
	if p := br.post(t, "/servers/"+other+"/sources/"+srcID+"/discover", url.Values{"_csrf": {tok}}); p.status != http.StatusNotFound {
		t.Errorf("another server's source: %d", p.status)
	}
}

// UI-25 (below the browser): an OAuth source needs authentication; the
// start answers the interstitial naming the authorization server's host
// with a plain Continue link; the callback completes the flow and the
// section says the source is Active; replaying the callback is an error
// page and stores nothing.
func TestUI25_OAuthInterstitialAndCallback(t *testing.T) {
	t.Parallel()
	b := newSourcesBackend(t)
	br := b.browser(t, "192.0.2.91")
	br.setup(t, "strict")
	id, _ := b.seed(t, "code", false, false)
	tok := br.token(t)
	base := "/servers/" + id + "/sources"
	added := br.post(t, base, url.Values{"_csrf": {tok}, "name": {"github"}, "url": {sourcesMCPURL}, "auth_type": {"oauth"}}, "HX-Request", "true")
	wantStatus(t, "add", added, http.StatusOK)
	row := sourcesRow(added, "github")
	if row == nil || !strings.Contains(textOf(row), "Needs authentication") || !strings.Contains(textOf(row), "Authenticate") {
		t.Fatalf("oauth row before sign-in: %s", added.text("server-section"))
	}
	var srcID string
	dbtest.QueryRow(t, b.url, "SELECT id::text FROM external_mcp_sources WHERE name = 'github'", []any{&srcID})

	for _, hx := range []bool{true, false} {
		var header []string
		if hx {
			header = []string{"HX-Request", "true", "X-Request-Id", "ui25-start-0001"}
		}
		p := br.post(t, base+"/"+srcID+"/oauth/start", url.Values{"_csrf": {tok}}, header...)
		wantStatus(t, "start", p, http.StatusOK)
		checkHTML(t, "start", p, !hx)
		if got := p.text("oauth-host"); got != "auth.example.com" || !strings.Contains(p.text("oauth-note"), "github") {
			t.Errorf("interstitial names %q: %q", got, p.text("oauth-note"))
		}
		cont := p.byID("oauth-continue")
		if cont == nil || cont.Data != "a" || hasAttr(cont, "target") || !strings.HasPrefix(attr(cont, "href"), sourcesIssuer+"/authorize?") {
			t.Fatalf("Continue is not a plain link to the authorization server: %v", cont)
		}
		if hx && p.header.Get("HX-Retarget") != "#main" {
			t.Errorf("htmx start: HX-Retarget %q", p.header.Get("HX-Retarget"))
		}
	}
	var started int
	dbtest.QueryRow(t, b.url, "SELECT count(*) FROM activity_log WHERE action = 'source.oauth_start' AND request_id = 'ui25-start-0001'", []any{&started})
	if started != 1 {
		t.Errorf("%d oauth_start audit rows with the page's request id", started)
	}
	// The last interstitial's link is the one the admin follows.
	p := br.post(t, base+"/"+srcID+"/oauth/start", url.Values{"_csrf": {tok}})
	code, state, err := b.as.Authorize(attr(p.byID("oauth-continue"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	callback := "/oauth/callback?" + url.Values{"state": {state}, "code": {code}}.Encode()

	// Another browser session cannot use the state.
	other := b.browser(t, "192.0.2.92")
	other.login(t)
	if r := other.get(t, callback); r.status != http.StatusBadRequest {
		t.Errorf("callback in another session: %d", r.status)
	}
	done := br.get(t, callback)
	want := "/servers/" + id + "?tab=sources&signed_in=" + srcID
	if done.status != http.StatusSeeOther || done.header.Get("Location") != want {
		t.Fatalf("callback: %d %q, want %q", done.status, done.header.Get("Location"), want)
	}
	sec := serversPage(t, br, want)
	if n := sec.byID("sources-signed-in"); n == nil || attr(n, "role") != "status" || !strings.Contains(textOf(n), "github") || !strings.Contains(textOf(n), "Active") {
		t.Errorf("signed-in notice: %q", sec.text("sources-signed-in"))
	}
	if row := sourcesRow(sec, "github"); row == nil || !strings.Contains(textOf(row), "Active") || !strings.Contains(textOf(row), "Re-authenticate") {
		t.Errorf("row after sign-in: %s", sec.text("server-section"))
	}
	var tokens []byte
	dbtest.QueryRow(t, b.url, "SELECT oauth_tokens_enc FROM external_mcp_sources WHERE id = $1", []any{&tokens}, srcID)
	exchanges := b.as.Count("code")

	// The replay: an error page, nothing stored, no token request.
	replay := br.get(t, callback)
	wantStatus(t, "replay", replay, http.StatusBadRequest)
	checkHTML(t, "replay", replay, true)
	if !strings.Contains(replay.text("error-notice"), "already used") {
		t.Errorf("replay page: %q", replay.text("error-notice"))
	}
	var after []byte
	dbtest.QueryRow(t, b.url, "SELECT oauth_tokens_enc FROM external_mcp_sources WHERE id = $1", []any{&after}, srcID)
	var connected int
	dbtest.QueryRow(t, b.url, "SELECT count(*) FROM activity_log WHERE action = 'source.oauth_connected'", []any{&connected})
	if string(after) != string(tokens) || b.as.Count("code") != exchanges || connected != 1 {
		t.Errorf("the replay changed something: tokens equal %v, exchanges %d → %d, connected rows %d",
			string(after) == string(tokens), exchanges, b.as.Count("code"), connected)
	}
	frag := br.get(t, callback, "HX-Request", "true")
	wantStatus(t, "replay (htmx)", frag, http.StatusBadRequest)
	checkHTML(t, "replay (htmx)", frag, false)
	if isFullPage(frag) || !strings.Contains(textOf(find(replay.doc, func(n *html.Node) bool { return n.Data == "title" })), "The sign-in did not complete · MCPbox") {
		t.Errorf("replay: fragment %v, title of the page %q", !isFullPage(frag), replay.text("main"))
	}
	// The authorization server's refusal is an error page too.
	if r := br.get(t, "/oauth/callback?error=access_denied&state="+url.QueryEscape(state)); r.status != http.StatusBadRequest ||
		!strings.Contains(r.text("error-notice"), "access_denied") {
		t.Errorf("refusal: %d %q", r.status, r.text("error-notice"))
	}
}

// Rename (admin-ui.md §11.3): a new name is saved and announced; a name
// another source of the server has is a 409 and a bad one a 422, each at
// the field of the row's reopened dialog, and nothing changes.
func TestSourcesRename(t *testing.T) {
	t.Parallel()
	b := newSourcesBackend(t)
	br := b.browser(t, "192.0.2.91")
	br.setup(t, "strict")
	id := sourcesSeed(t, b, "weather")
	tok := br.token(t)
	hx := []string{"HX-Request", "true"}
	base := "/servers/" + id + "/sources"
	for _, name := range []string{"remote", "other"} {
		r := br.post(t, base, url.Values{"_csrf": {tok}, "name": {name}, "url": {sourcesMCPURL + "?" + name}, "auth_type": {"none"}}, hx...)
		wantStatus(t, "add "+name, r, http.StatusOK)
	}
	p := serversPage(t, br, "/servers/"+id+"?tab=sources")
	row := sourcesRow(p, "remote")
	if row == nil {
		t.Fatal("no row for remote")
	}
	src := strings.TrimPrefix(attr(row, "id"), "source-row-")
	dialog := "rename-source-" + src
	if open := p.byID(dialog + "-open"); open == nil || attr(open, "data-dialog-open") != dialog {
		t.Fatal("no Rename opener")
	}
	if d := p.byID(dialog); d == nil || hasAttr(d, "open") {
		t.Fatal("the Rename dialog is missing or open")
	}
	rename := base + "/" + src + "/rename"

	taken := br.post(t, rename, url.Values{"_csrf": {tok}, "name": {"other"}}, hx...)
	wantStatus(t, "rename to a taken name", taken, http.StatusConflict)
	checkHTML(t, "rename to a taken name", taken, false)
	if d := taken.byID(dialog); d == nil || !hasAttr(d, "open") || !strings.Contains(taken.text(dialog+"-name-error"), "other") {
		t.Errorf("taken: dialog open %v, error %q", d != nil && hasAttr(d, "open"), taken.text(dialog+"-name-error"))
	}
	bad := br.post(t, rename, url.Values{"_csrf": {tok}, "name": {strings.Repeat("x", 65)}}, hx...)
	wantStatus(t, "rename to a long name", bad, http.StatusUnprocessableEntity)
	if got := bad.text(dialog + "-name-error"); !strings.HasPrefix(got, "Name must be") {
		t.Errorf("long name error %q", got)
	}
	if sourcesRow(serversPage(t, br, "/servers/"+id+"?tab=sources"), "remote") == nil {
		t.Fatal("a refused rename changed the source")
	}

	done := br.post(t, rename, url.Values{"_csrf": {tok}, "name": {"renamed"}}, hx...)
	wantStatus(t, "rename", done, http.StatusOK)
	if !strings.Contains(done.header.Get("HX-Trigger"), "Source remote renamed to renamed.") {
		t.Errorf("rename toast: %q", done.header.Get("HX-Trigger"))
	}
	if sourcesRow(done, "renamed") == nil || sourcesRow(done, "remote") != nil {
		t.Error("the section does not show the new name")
	}
}
