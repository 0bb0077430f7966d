package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// servers area below the browser (admin-ui.md §11.2, §11.3, §13).

// serversPage GETs path as a page and as an htmx fragment and checks both
// (U7, U5, labels, headers).
func serversPage(t *testing.T, br *browser, path string) page {
	t.Helper()
	full := br.get(t, path)
	wantStatus(t, path, full, http.StatusOK)
	checkHTML(t, path, full, true)
	if !isFullPage(full) {
		t.Errorf("%s: not a full page without HX-Request", path)
	}
	frag := br.get(t, path, "HX-Request", "true")
	wantStatus(t, path+" (htmx)", frag, http.StatusOK)
	checkHTML(t, path+" (htmx)", frag, false)
	if isFullPage(frag) {
		t.Errorf("%s: a full page for htmx", path)
	}
	return full
}

func cardOf(p page, name string) *html.Node {
	return find(p.doc, func(n *html.Node) bool {
		return n.Data == "article" && strings.Contains(attr(n, "class"), "server-card") &&
			find(n, func(a *html.Node) bool { return a.Data == "a" && textOf(a) == name }) != nil
	})
}

func TestUI18_ServersListEmptySearchAndNoMatch(t *testing.T) {
	t.Parallel()
	b := newServersBackend(t)
	br := b.browser(t, "192.0.2.80")
	br.setup(t, "strict")

	empty := serversPage(t, br, "/servers")
	if !strings.Contains(empty.text("servers-empty"), "No servers yet") || !strings.Contains(empty.text("servers-empty"), "mcpbox_create_server") {
		t.Errorf("empty state: %q", empty.text("servers-empty"))
	}
	for _, n := range []string{"alpha", "beta", "gamma", "delta", "epsilon"} {
		b.seed(t, n, false, false)
	}
	all := serversPage(t, br, "/servers")
	if got := len(findAll(all.doc, func(n *html.Node) bool { return n.Data == "article" })); got != 5 {
		t.Errorf("%d cards, want 5", got)
	}
	c := cardOf(all, "beta")
	if c == nil || !strings.Contains(textOf(c), "Stopped") || !strings.Contains(textOf(c), "No network") ||
		!strings.Contains(textOf(c), "0 total, 0 approved, 0 pending") {
		t.Errorf("beta card: %q", textOf(c))
	}
	narrowed := serversPage(t, br, "/servers?q=gam")
	cards := findAll(narrowed.doc, func(n *html.Node) bool { return n.Data == "article" })
	if len(cards) != 1 || cardOf(narrowed, "gamma") == nil {
		t.Errorf("q=gam: %d cards", len(cards))
	}
	if q := narrowed.byID("servers-q"); q == nil || attr(q, "value") != "gam" {
		t.Error("the search field does not keep the query")
	}
	// By description too.
	if p := br.get(t, "/servers?q=the+delta"); cardOf(p, "delta") == nil {
		t.Error("search by description found nothing")
	}
	none := serversPage(t, br, "/servers?q=zzzz-nonsense")
	if got := none.text("servers-no-match"); !strings.Contains(got, "No servers match “zzzz-nonsense”") {
		t.Errorf("no match: %q", got)
	}
	if clear := none.byID("servers-clear"); clear == nil || attr(clear, "href") != "/servers" {
		t.Error("no Clear link")
	}
	running := serversPage(t, br, "/servers?status=running")
	if running.byID("servers-no-match") == nil {
		t.Error("status=running lists stopped servers")
	}
	if bad := br.get(t, "/servers?status=bogus"); bad.status != http.StatusUnprocessableEntity || bad.byID("servers-problem") == nil {
		t.Errorf("bad status filter: %d", bad.status)
	}
}

func TestServersListPagesOf50(t *testing.T) {
	t.Parallel()
	b := newServersBackend(t)
	br := b.browser(t, "192.0.2.81")
	br.setup(t, "strict")
	for i := range 51 {
		b.seed(t, "s"+strings.Repeat("x", i/26)+string(rune('a'+i%26)), false, false)
	}
	first := br.get(t, "/servers")
	if n := len(findAll(first.doc, func(n *html.Node) bool { return n.Data == "article" })); n != 50 {
		t.Fatalf("first page: %d cards", n)
	}
	next := first.byID("servers-next")
	if next == nil {
		t.Fatal("no Next page link")
	}
	second := br.get(t, attr(next, "href"))
	if n := len(findAll(second.doc, func(n *html.Node) bool { return n.Data == "article" })); n != 1 || second.byID("servers-next") != nil {
		t.Errorf("second page: %d cards", n)
	}
}

func TestUI19_StartStopAndStartReason(t *testing.T) {
	t.Parallel()
	b := newServersBackend(t)
	br := b.browser(t, "192.0.2.82")
	br.setup(t, "strict")
	idle, _ := b.seed(t, "idle", true, false)
	live, _ := b.seed(t, "live", true, true)
	list := br.get(t, "/servers")
	if r := list.byID("start-reason-" + idle); r == nil || !strings.Contains(textOf(r), "approved and enabled") {
		t.Error("Start of a server without an approved tool has no reason")
	}
	tok := list.csrf(t)
	refused := br.post(t, "/servers/"+idle+"/start", url.Values{"_csrf": {tok}, "view": {"card"}}, "HX-Request", "true")
	wantStatus(t, "start idle", refused, http.StatusConflict)
	if !refused.contains("Start needs at least one approved and enabled tool") {
		t.Errorf("refused start: %s", refused.body)
	}
	started := br.post(t, "/servers/"+live+"/start", url.Values{"_csrf": {tok}, "view": {"card"}}, "HX-Request", "true")
	wantStatus(t, "start", started, http.StatusOK)
	checkHTML(t, "start card", started, false)
	if !strings.Contains(textOf(started.doc), "Running") || started.byID("server-card-"+live) == nil ||
		!strings.Contains(started.header.Get("HX-Trigger"), "live started") {
		t.Errorf("started card: %s %s", started.header.Get("HX-Trigger"), started.body)
	}
	stopped := br.post(t, "/servers/"+live+"/stop", url.Values{"_csrf": {tok}, "view": {"detail"}}, "HX-Request", "true")
	wantStatus(t, "stop", stopped, http.StatusOK)
	if stopped.byID("server-header") == nil || !strings.Contains(textOf(stopped.doc), "Stopped") {
		t.Errorf("stopped header: %s", stopped.body)
	}
	// Without htmx: 303 back to the page.
	plain := br.post(t, "/servers/"+live+"/start", url.Values{"_csrf": {tok}, "view": {"detail"}})
	if plain.status != http.StatusSeeOther || plain.header.Get("Location") != "/servers/"+live {
		t.Errorf("plain start: %d %s", plain.status, plain.header.Get("Location"))
	}
}

func TestUI20_ServerSectionsAreURLs(t *testing.T) {
	t.Parallel()
	b := newServersBackend(t)
	br := b.browser(t, "192.0.2.83")
	br.setup(t, "strict")
	id, _ := b.seed(t, "weather", true, true)
	for _, tab := range []string{"overview", "tools", "secrets", "sources", "hosts", "packages", "settings"} {
		p := serversPage(t, br, "/servers/"+id+"?tab="+tab)
		cur := findAll(p.doc, func(n *html.Node) bool {
			return n.Data == "a" && attr(n, "aria-current") == "page" && attr(n, "data-tab") != ""
		})
		if len(cur) != 1 || attr(cur[0], "data-tab") != tab {
			t.Errorf("%s: current section links %d", tab, len(cur))
		}
		if !strings.Contains(p.text("section-title"), "") || p.byID("server-section") == nil {
			t.Errorf("%s: no section", tab)
		}
	}
	tools := br.get(t, "/servers/"+id+"?tab=tools")
	if !strings.Contains(textOf(tools.doc), "weather__fetch") || !strings.Contains(textOf(tools.doc), "Approved") {
		t.Errorf("tools section: %s", tools.text("server-section"))
	}
	if br.get(t, "/servers/00000000-0000-0000-0000-000000000000").status != http.StatusNotFound ||
		br.get(t, "/servers/nope").status != http.StatusNotFound {
		t.Error("an unknown server is not 404")
	}
	// Empty states of a bare server.
	bare, _ := b.seed(t, "bare", false, false)
	for tab, id := range map[string]string{
		"tools": "tools-empty", "secrets": "secrets-empty", "sources": "sources-empty", "hosts": "hosts-empty", "packages": "packages-empty",
	} {
		if p := br.get(t, "/servers/"+bare+"?tab="+tab); p.byID(id) == nil {
			t.Errorf("%s: no empty state", tab)
		}
	}
}

// U3 and UI-21: no response of the secret flows holds the submitted value,
// nor does the log.
func TestU3_SecretFlowsNeverEchoTheValue(t *testing.T) {
	t.Parallel()
	b := newServersBackend(t)
	br := b.browser(t, "192.0.2.84")
	br.setup(t, "strict")
	id, _ := b.seed(t, "vault", true, false)
	const value, short, replaced = "UI21-s3cret-value", "short7!", "UI21-s3cret-value-two"
	var responses []page
	keep := func(p page) page { responses = append(responses, p); return p }
	tok := br.token(t)
	base := "/servers/" + id + "/secrets"

	created := keep(br.post(t, base, url.Values{"_csrf": {tok}, "key": {"api_key"}, "description": {"The API key"}}, "HX-Request", "true"))
	wantStatus(t, "create", created, http.StatusOK)
	if created.header.Get("HX-Retarget") != "#main" || created.byID("secret-row-API_KEY") == nil {
		t.Fatalf("created: %s", created.body)
	}
	if row := created.byID("secret-row-API_KEY"); !strings.Contains(textOf(row), "Not set") || !strings.Contains(textOf(row), "vault__fetch") {
		t.Errorf("new row: %q", textOf(row))
	}
	bad := keep(br.post(t, base, url.Values{"_csrf": {tok}, "key": {"9bad"}}, "HX-Request", "true"))
	wantStatus(t, "bad key", bad, http.StatusUnprocessableEntity)
	if bad.byID("secret-key-error") == nil || bad.text("secret-key-error") == "" {
		t.Errorf("bad key: %s", bad.body)
	}
	dup := keep(br.post(t, base, url.Values{"_csrf": {tok}, "key": {"API_KEY"}}, "HX-Request", "true"))
	wantStatus(t, "duplicate key", dup, http.StatusConflict)

	tooShort := keep(br.post(t, base+"/API_KEY/value", url.Values{"_csrf": {tok}, "value": {short}}, "HX-Request", "true"))
	wantStatus(t, "short value", tooShort, http.StatusUnprocessableEntity)
	checkHTML(t, "short value", tooShort, false)
	in := tooShort.byID("secret-value-API_KEY")
	if in == nil || attr(in, "value") != "" || attr(in, "type") != "password" || attr(in, "aria-invalid") != "true" ||
		!strings.Contains(tooShort.text("secret-value-API_KEY-error"), "at least 8 bytes") {
		t.Errorf("short value form: %s", tooShort.body)
	}
	plainShort := keep(br.post(t, base+"/API_KEY/value", url.Values{"_csrf": {tok}, "value": {short}}))
	wantStatus(t, "short value (page)", plainShort, http.StatusUnprocessableEntity)

	set := keep(br.post(t, base+"/API_KEY/value", url.Values{"_csrf": {tok}, "value": {value}}, "HX-Request", "true"))
	wantStatus(t, "set", set, http.StatusOK)
	if row := set.byID("secret-row-API_KEY"); row == nil || !strings.Contains(textOf(row), "Set") || strings.Contains(textOf(row), "Not set") {
		t.Errorf("after set: %s", set.body)
	}
	if in := set.byID("secret-value-API_KEY"); in != nil && attr(in, "value") != "" {
		t.Error("the value field is not empty after saving")
	}
	if !strings.Contains(set.text("set-value-open-API_KEY"), "Replace value") {
		t.Errorf("Set value did not become Replace value: %q", set.text("set-value-open-API_KEY"))
	}
	keep(br.post(t, base+"/API_KEY/value", url.Values{"_csrf": {tok}, "value": {replaced}}))
	keep(br.get(t, "/servers/"+id+"?tab=secrets"))
	keep(br.get(t, "/servers/"+id+"?tab=secrets", "HX-Request", "true"))
	for _, tab := range []string{"overview", "tools", "settings"} {
		keep(br.get(t, "/servers/"+id+"?tab="+tab))
	}
	confirms := br.get(t, "/servers/"+id+"?tab=secrets")
	if d := confirms.byID("confirm-clear-API_KEY"); d == nil || !strings.Contains(textOf(d), "vault__fetch") {
		t.Error("Clear value's dialog does not name the tools using the key")
	}
	cleared := keep(br.post(t, base+"/API_KEY/clear", url.Values{"_csrf": {tok}}, "HX-Request", "true"))
	wantStatus(t, "clear", cleared, http.StatusOK)
	if row := cleared.byID("secret-row-API_KEY"); row == nil || !strings.Contains(textOf(row), "Not set") {
		t.Errorf("after clear: %s", cleared.body)
	}
	deleted := keep(br.post(t, base+"/API_KEY/delete", url.Values{"_csrf": {tok}}, "HX-Request", "true"))
	wantStatus(t, "delete", deleted, http.StatusOK)
	if deleted.byID("secret-row-API_KEY") != nil || deleted.byID("secrets-empty") == nil {
		t.Errorf("after delete: %s", deleted.body)
	}
	for i, p := range responses {
		for _, v := range []string{value, short, replaced} {
			if strings.Contains(p.body, v) || strings.Contains(p.header.Get("HX-Trigger"), v) {
				t.Errorf("response %d holds a submitted value", i)
			}
		}
	}
	for _, v := range []string{value, short, replaced} {
		if strings.Contains(b.logs.String(), v) {
			t.Error("the log holds a submitted value")
		}
	}
}

func TestUI22_HostsToolsAndPackages(t *testing.T) {
	t.Parallel()
	b := newServersBackend(t)
	br := b.browser(t, "192.0.2.85")
	br.setup(t, "strict")
	id, tool := b.seed(t, "net", true, true)
	tok := br.token(t)
	// The approved tool's host came with its approval.
	hosts := serversPage(t, br, "/servers/"+id+"?tab=hosts")
	granted := find(hosts.doc, func(n *html.Node) bool { return attr(n, "data-host") == "api.example.com" })
	if granted == nil || !strings.Contains(textOf(granted), "Approved request from net__fetch") {
		t.Errorf("granted host row: %s", hosts.text("server-section"))
	}
	added := br.post(t, "/servers/"+id+"/hosts", url.Values{"_csrf": {tok}, "host": {"data.example.com"}}, "HX-Request", "true")
	wantStatus(t, "add host", added, http.StatusOK)
	checkHTML(t, "add host", added, false)
	if row := find(added.doc, func(n *html.Node) bool { return attr(n, "data-host") == "data.example.com" }); row == nil || !strings.Contains(textOf(row), "Added by admin") {
		t.Fatalf("host row: %s", added.body)
	}
	row := find(added.doc, func(n *html.Node) bool { return attr(n, "data-host") == "api.example.com" })
	for _, bad := range []string{"http://x/y", "x/y"} {
		p := br.post(t, "/servers/"+id+"/hosts", url.Values{"_csrf": {tok}, "host": {bad}}, "HX-Request", "true")
		wantStatus(t, "add "+bad, p, http.StatusUnprocessableEntity)
		if in := p.byID("host-add"); in == nil || attr(in, "aria-invalid") != "true" || p.text("host-add-error") == "" || p.byID("error-summary") == nil {
			t.Errorf("%s: no field error: %s", bad, p.body)
		}
	}
	dup := br.post(t, "/servers/"+id+"/hosts", url.Values{"_csrf": {tok}, "host": {"api.example.com"}}, "HX-Request", "true")
	wantStatus(t, "duplicate host", dup, http.StatusConflict)
	hostID := strings.TrimPrefix(attr(row, "id"), "host-row-")
	if d := added.byID("confirm-host-remove-" + hostID); d == nil || !strings.Contains(textOf(d), "net__fetch") {
		t.Error("Remove's dialog does not list the tools")
	}
	removed := br.post(t, "/servers/"+id+"/hosts/"+hostID+"/remove", url.Values{"_csrf": {tok}}, "HX-Request", "true")
	wantStatus(t, "remove host", removed, http.StatusOK)
	if find(removed.doc, func(n *html.Node) bool { return attr(n, "data-host") == "api.example.com" }) != nil ||
		!strings.Contains(removed.header.Get("HX-Trigger"), "net__fetch") {
		t.Errorf("after remove: %s", removed.text("server-section"))
	}
	// A request id of another server is not found.
	other, _ := b.seed(t, "other", false, false)
	if p := br.post(t, "/servers/"+other+"/hosts/"+hostID+"/remove", url.Values{"_csrf": {tok}}); p.status != http.StatusNotFound {
		t.Errorf("foreign request: %d", p.status)
	}
	// Tools: the toggle, then Delete.
	off := br.post(t, "/servers/"+id+"/tools/"+tool+"/enabled", url.Values{"_csrf": {tok}, "enabled": {"false"}}, "HX-Request", "true")
	wantStatus(t, "disable", off, http.StatusOK)
	if btn := find(off.doc, func(n *html.Node) bool { return n.Data == "button" && attr(n, "aria-pressed") != "" }); btn == nil || attr(btn, "aria-pressed") != "false" {
		t.Error("toggle not off")
	}
	gone := br.post(t, "/servers/"+id+"/tools/"+tool+"/delete", url.Values{"_csrf": {tok}}, "HX-Request", "true")
	wantStatus(t, "delete tool", gone, http.StatusOK)
	if gone.byID("tools-empty") == nil {
		t.Error("tool not deleted")
	}
}

func TestUI23_DeleteServerNeedsStopAndName(t *testing.T) {
	t.Parallel()
	b := newServersBackend(t)
	br := b.browser(t, "192.0.2.86")
	br.setup(t, "strict")
	id, _ := b.seed(t, "doomed", true, true)
	tok := br.token(t)
	wantStatus(t, "start", br.post(t, "/servers/"+id+"/start", url.Values{"_csrf": {tok}}), http.StatusSeeOther)
	settings := serversPage(t, br, "/servers/"+id+"?tab=settings")
	if btn := settings.byID("delete-server-open"); btn == nil || !hasAttr(btn, "disabled") || settings.text("delete-server-reason") != "Stop the server first." {
		t.Error("Delete server is not disabled while running")
	}
	running := br.post(t, "/servers/"+id+"/delete", url.Values{"_csrf": {tok}, "confirm_name": {"doomed"}})
	wantStatus(t, "delete running", running, http.StatusConflict)
	wantStatus(t, "stop", br.post(t, "/servers/"+id+"/stop", url.Values{"_csrf": {tok}}), http.StatusSeeOther)
	wrong := br.post(t, "/servers/"+id+"/delete", url.Values{"_csrf": {tok}, "confirm_name": {"doome"}})
	wantStatus(t, "wrong name", wrong, http.StatusUnprocessableEntity)
	checkHTML(t, "wrong name", wrong, true)
	if in := wrong.byID("delete-confirm-name"); in == nil || attr(in, "aria-invalid") != "true" || !strings.Contains(wrong.text("delete-confirm-name-error"), "doomed") {
		t.Errorf("wrong name: %s", wrong.text("danger-zone"))
	}
	if p := br.get(t, "/servers/"+id); p.status != http.StatusOK {
		t.Fatal("deleted despite a wrong name")
	}
	done := br.post(t, "/servers/"+id+"/delete", url.Values{"_csrf": {tok}, "confirm_name": {"doomed"}}, "HX-Request", "true")
	wantStatus(t, "delete", done, http.StatusOK)
	if done.header.Get("HX-Push-Url") != "/servers" || !strings.Contains(done.header.Get("HX-Trigger"), "doomed deleted") || done.byID("servers-empty") == nil {
		t.Errorf("after delete: %v %s", done.header, done.body)
	}
	if p := br.get(t, "/servers/"+id); p.status != http.StatusNotFound {
		t.Errorf("deleted server: %d", p.status)
	}
}

func TestServerSettingsRename(t *testing.T) {
	t.Parallel()
	b := newServersBackend(t)
	br := b.browser(t, "192.0.2.87")
	br.setup(t, "strict")
	id, _ := b.seed(t, "before", false, false)
	b.seed(t, "taken", false, false)
	tok := br.token(t)
	bad := br.post(t, "/servers/"+id+"/settings", url.Values{"_csrf": {tok}, "name": {"Bad Name"}, "description": {"d"}}, "HX-Request", "true")
	wantStatus(t, "bad name", bad, http.StatusUnprocessableEntity)
	if in := bad.byID("server-name"); in == nil || attr(in, "value") != "Bad Name" || bad.byID("error-summary") == nil {
		t.Errorf("bad name: %s", bad.body)
	}
	taken := br.post(t, "/servers/"+id+"/settings", url.Values{"_csrf": {tok}, "name": {"taken"}}, "HX-Request", "true")
	wantStatus(t, "taken", taken, http.StatusConflict)
	ok := br.post(t, "/servers/"+id+"/settings", url.Values{"_csrf": {tok}, "name": {"after"}, "description": {"New words"}}, "HX-Request", "true")
	wantStatus(t, "rename", ok, http.StatusOK)
	if h1 := find(ok.doc, func(n *html.Node) bool { return n.Data == "h1" }); h1 == nil || textOf(h1) != "after" ||
		attr(ok.byID("server-description"), "value") != "New words" {
		t.Errorf("renamed: %s", ok.body)
	}
}
