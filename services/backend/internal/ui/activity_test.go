package ui_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/mcpbox/mcpbox/proto"
)

// UI-40 (below the browser): the executions view's filters are in the URL
// and narrow the rows as the executions service does; the page size and
// the cursor page through; bad values are a 422 with the error summary.
func TestUI40_ActivityExecutionFilters(t *testing.T) {
	t.Parallel()
	b := newActBackend(t)
	br := b.signedIn(t)

	p := br.get(t, "/activity")
	wantStatus(t, "empty executions", p, http.StatusOK)
	actCheck(t, "empty executions", p, true)
	if got := p.text("activity-empty"); !strings.Contains(got, "No executions yet") {
		t.Errorf("empty state %q", got)
	}
	if attr(p.byID("activity-view-executions"), "aria-current") != "page" {
		t.Error("Executions is not the current view")
	}

	weather, mail := b.server(t, "weather"), b.server(t, "mail")
	ids := b.post(t,
		actExec{name: "weather__forecast", server: weather, ok: true, duration: 40},
		actExec{name: "weather__forecast", server: weather, ok: false, code: "timeout"},
		actExec{name: "mail__send", server: mail, ok: false, code: "tool_error"},
		actExec{name: "mail__send", server: mail, ok: true, caller: proto.CallerRemote, email: "ann@example.com"},
	)
	test := b.testRun(t, "mail__send")

	for _, c := range []struct {
		query string
		want  []string // record ids, newest first
	}{
		{"", []string{test, ids[3], ids[2], ids[1], ids[0]}},
		{"outcome=error", []string{ids[2], ids[1]}},
		{"outcome=timeout", []string{ids[1]}},
		{"outcome=success&caller=local", []string{ids[0]}},
		{"caller=remote&caller_email=ann%40example.com", []string{ids[3]}},
		{"caller=test", []string{test}},
		{"server_id=" + weather, []string{ids[1], ids[0]}},
		{"q=mail&outcome=error", []string{ids[2]}},
		{"since=1h&outcome=error", []string{ids[2], ids[1]}},
		{"until=2000-01-01T00:00:00Z", nil},
	} {
		p := br.get(t, "/activity?view=executions&"+c.query)
		wantStatus(t, c.query, p, http.StatusOK)
		actCheck(t, "executions "+c.query, p, true)
		var want []string
		for _, id := range c.want {
			want = append(want, "act-exec-"+id)
		}
		if got := actRowIDs(p); !slices.Equal(got, want) {
			t.Errorf("%q: rows %v, want %v", c.query, got, want)
		}
		if len(want) == 0 && !strings.Contains(p.text("activity-empty"), "Nothing matches these filters") {
			t.Errorf("%q: filtered empty state %q", c.query, p.text("activity-empty"))
		}
	}
	// The form shows the URL's filters (U6).
	p = br.get(t, "/activity?view=executions&outcome=error&since=24h&server_id="+weather)
	selected := func(id string) string {
		o := find(p.byID(id), func(n *html.Node) bool { return n.Data == "option" && hasAttr(n, "selected") })
		if o == nil {
			return ""
		}
		return attr(o, "value")
	}
	if selected("activity-outcome") != "error" || selected("activity-since") != "24h" || selected("activity-server_id") != weather {
		t.Errorf("form: outcome %q since %q server %q", selected("activity-outcome"), selected("activity-since"), selected("activity-server_id"))
	}

	// Paging: 25 a page over 30 records, Older carries the cursor and the
	// filters (since as a time, so the cursor stays valid).
	var many []actExec
	for range 26 {
		many = append(many, actExec{name: "weather__forecast", server: weather, ok: true})
	}
	b.post(t, many...)
	p = br.get(t, "/activity?view=executions&size=25&since=24h")
	if got := len(actRowIDs(p)); got != 25 {
		t.Fatalf("page 1: %d rows", got)
	}
	older := attr(p.byID("activity-older"), "href")
	u, err := url.Parse(older)
	if err != nil || u.Query().Get("cursor") == "" || u.Query().Get("size") != "25" || !strings.HasSuffix(u.Query().Get("since"), "Z") {
		t.Fatalf("older link %q", older)
	}
	p2 := br.get(t, older)
	wantStatus(t, "page 2", p2, http.StatusOK)
	if got := len(actRowIDs(p2)); got != 6 || p2.byID("activity-older") != nil || p2.byID("activity-newest") == nil || p2.byID("activity-live") != nil {
		t.Errorf("page 2: %d rows, older %v, live %v", got, p2.byID("activity-older"), p2.byID("activity-live"))
	}
	if p.byID("activity-live") == nil || attr(p.byID("activity-live-toggle"), "aria-pressed") != "true" {
		t.Error("the newest page has no live tail on")
	}

	// Bad values: 422, the summary names each, the rest still applies.
	p = br.get(t, "/activity?view=executions&since=yesterday&size=7&outcome=error")
	wantStatus(t, "bad filters", p, http.StatusUnprocessableEntity)
	actCheck(t, "bad filters", p, true)
	sum := p.text("error-summary")
	if !strings.Contains(sum, "since: must be") || !strings.Contains(sum, "size: must be 25, 50 or 100") {
		t.Errorf("summary %q", sum)
	}
	// A cursor that does not belong to the filters is a problem too.
	p = br.get(t, "/activity?view=executions&cursor=nonsense")
	wantStatus(t, "bad cursor", p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.text("error-summary"), "cursor") {
		t.Errorf("bad cursor summary %q", p.text("error-summary"))
	}
}

// UI-41 (below the browser): the audit view lists the setup, the policy
// and approvals with actor and target links; its filters map to the
// activity list.
func TestUI41_ActivityAuditView(t *testing.T) {
	t.Parallel()
	b := newActBackend(t)
	br := b.signedIn(t)
	server := b.server(t, "weather")

	p := br.get(t, "/activity?view=audit")
	wantStatus(t, "audit", p, http.StatusOK)
	actCheck(t, "audit", p, true)
	if attr(p.byID("activity-view-audit"), "aria-current") != "page" {
		t.Error("Audit is not the current view")
	}
	body := p.text("activity-results")
	for _, want := range []string{"auth.setup", "Admin " + adminName, "LLM (local)"} {
		if !strings.Contains(body, want) {
			t.Errorf("audit view lacks %q: %s", want, body)
		}
	}
	link := find(p.byID("act-rows"), func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "/servers/"+server })
	if link == nil {
		t.Errorf("no target link to the server")
	}
	p = br.get(t, "/activity?view=audit&actor_kind=llm_local")
	for _, n := range actByClass(p.doc, "act-row") {
		if !strings.Contains(textOf(n), "LLM (local)") {
			t.Errorf("actor filter let through %q", textOf(n))
		}
	}
	if len(actRowIDs(p)) == 0 {
		t.Error("actor filter: no rows")
	}
	p = br.get(t, "/activity?view=audit&action=auth.setup")
	if got := len(actRowIDs(p)); got != 1 {
		t.Errorf("action filter: %d rows", got)
	}
	p = br.get(t, "/activity?view=audit&q=no-such-text")
	if !strings.Contains(p.text("activity-empty"), "Nothing matches these filters") || attr(find(p.byID("activity-empty"), func(n *html.Node) bool { return n.Data == "a" }), "href") != "/activity?view=audit" {
		t.Errorf("empty filtered audit %q", p.text("activity-empty"))
	}
}

// Rows expand in place (aria-expanded) through GET /activity/executions/{id}
// and /activity/audit/{id}; without htmx those are the entry's own page
// (U7); the record's content is escaped text.
func TestActivityRowDetails(t *testing.T) {
	t.Parallel()
	b := newActBackend(t)
	br := b.signedIn(t)
	id := b.post(t, actExec{name: "weather__forecast", ok: false, code: "timeout"})[0]

	p := br.get(t, "/activity")
	toggle := p.byID("act-exec-" + id + "-toggle")
	if attr(toggle, "aria-expanded") != "false" || !hasAttr(p.byID("act-exec-"+id+"-details"), "hidden") {
		t.Fatalf("collapsed row: %v", toggle)
	}
	f := actTable(t, br.get(t, attr(toggle, "hx-get"), actHX...))
	actCheck(t, "expanded row", f, false)
	det := f.byID("act-exec-" + id + "-details")
	if attr(f.byID("act-exec-"+id+"-toggle"), "aria-expanded") != "true" || det == nil || hasAttr(det, "hidden") || attr(det, "hx-swap-oob") != "true" {
		t.Fatalf("expanded: %s", f.body)
	}
	if !strings.Contains(f.body, "&#34;city&#34;: &#34;&lt;Paris&gt;&#34;") || !strings.Contains(textOf(det), "it failed: timeout") {
		t.Errorf("details: %s", f.body)
	}
	f = actTable(t, br.get(t, attr(f.byID("act-exec-"+id+"-toggle"), "hx-get"), actHX...))
	if attr(f.byID("act-exec-"+id+"-toggle"), "aria-expanded") != "false" || !hasAttr(f.byID("act-exec-"+id+"-details"), "hidden") {
		t.Errorf("collapsed again: %s", f.body)
	}
	full := br.get(t, "/activity/executions/"+id)
	wantStatus(t, "execution page", full, http.StatusOK)
	actCheck(t, "execution page", full, true)
	if !strings.Contains(full.text("main"), "Execution of weather__forecast") {
		t.Errorf("execution page %q", full.text("main"))
	}
	if r := br.get(t, "/activity/executions/0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6"); r.status != http.StatusNotFound {
		t.Errorf("unknown execution %d", r.status)
	}

	p = br.get(t, "/activity?view=audit")
	rows := actRowIDs(p)
	if len(rows) == 0 {
		t.Fatal("no audit rows")
	}
	auditID := strings.TrimPrefix(rows[0], "act-audit-")
	f = actTable(t, br.get(t, "/activity/audit/"+auditID+"?open=1", actHX...))
	actCheck(t, "expanded audit row", f, false)
	if attr(f.byID("act-audit-"+auditID+"-toggle"), "aria-expanded") != "true" {
		t.Errorf("audit row: %s", f.body)
	}
	full = br.get(t, "/activity/audit/"+auditID)
	wantStatus(t, "audit page", full, http.StatusOK)
	actCheck(t, "audit page", full, true)
}

// actTail sends what htmx sends for the tail control of p: the URL (the
// control's own, or one of its buttons') with the control's hidden state
// inputs.
func actTail(t *testing.T, br *browser, p page, u string) page {
	t.Helper()
	params := p.byID("activity-live-params")
	if params == nil {
		t.Fatalf("no tail state in %.300s", p.body)
	}
	v := url.Values{}
	for _, in := range findAll(params, func(n *html.Node) bool { return n.Data == "input" }) {
		v.Set(attr(in, "name"), attr(in, "value"))
	}
	return actTable(t, br.get(t, u+"&"+v.Encode(), actHX...))
}

// UI-39, UI-40 (below the browser): the live tail fetches the rows after
// the newest one shown, with the page's filters, and prepends them out of
// band; paused, it counts them ("N new — Show") and Show inserts them.
func TestUI39_ActivityLiveTail(t *testing.T) {
	t.Parallel()
	b := newActBackend(t)
	br := b.signedIn(t)
	first := b.post(t, actExec{name: "a__one", ok: false, code: "timeout"})[0]

	p := br.get(t, "/activity?view=executions&outcome=error")
	live, trail := p.byID("activity-live"), p.byID("activity-live-trail")
	tail := attr(live, "hx-get")
	if attr(live, "hx-trigger") != "mcpbox:activity from:body throttle:1s" || attr(trail, "hx-trigger") != "mcpbox:activity from:body delay:2s" ||
		attr(trail, "hx-get") != tail || attr(trail, "hx-target") != "#activity-live" || attr(trail, "hx-swap") != "innerHTML" ||
		attr(trail, "hx-include") != "#activity-live-params" || !strings.Contains(tail, "outcome=error") {
		t.Fatalf("tail control %q %q", attr(live, "hx-trigger"), tail)
	}
	state := func(f page) (after, shown, live string) {
		get := func(name string) string {
			n := find(f.byID("activity-live-params"), func(n *html.Node) bool { return attr(n, "name") == name })
			return attr(n, "value")
		}
		return get("after"), get("shown"), get("live")
	}
	if a, n, l := state(p); a != first || n != "1" || l != "on" {
		t.Fatalf("tail state %q %q %q", a, n, l)
	}
	// A successful record does not match outcome=error; a failed one does.
	ids := b.post(t, actExec{name: "a__two", ok: true}, actExec{name: "a__three", ok: false, code: "tool_error"})
	f := actTail(t, br, p, tail)
	actCheck(t, "tail", f, false)
	oob := find(f.doc, func(n *html.Node) bool { return attr(n, "hx-swap-oob") == "afterbegin:#act-rows" })
	if oob == nil {
		t.Fatalf("no rows prepended: %s", f.body)
	}
	if got := actRowIDs(f); !slices.Equal(got, []string{"act-exec-" + ids[1]}) {
		t.Errorf("prepended %v, want only the failed record", got)
	}
	if a, n, _ := state(f); a != ids[1] || n != "2" {
		t.Errorf("next tail state %q %q", a, n)
	}
	// Nothing new: nothing prepended.
	f = actTail(t, br, f, tail)
	if len(actRowIDs(f)) != 0 {
		t.Errorf("repeated tail prepended %v", actRowIDs(f))
	}

	// Pause: the control says Paused; new rows are counted, not inserted.
	f = actTail(t, br, f, attr(f.byID("activity-live-toggle"), "hx-get"))
	if attr(f.byID("activity-live-toggle"), "aria-pressed") != "false" || !strings.Contains(f.text("activity-live-state"), "Paused") {
		t.Fatalf("paused: %s", f.body)
	}
	late := b.post(t, actExec{name: "a__four", ok: false, code: "timeout"})[0]
	f = actTail(t, br, f, tail)
	if len(actRowIDs(f)) != 0 || f.text("activity-live-show") != "1 new — Show" {
		t.Fatalf("paused tail: rows %v, show %q", actRowIDs(f), f.text("activity-live-show"))
	}
	f = actTail(t, br, f, attr(f.byID("activity-live-show"), "hx-get"))
	if got := actRowIDs(f); !slices.Equal(got, []string{"act-exec-" + late}) {
		t.Errorf("Show inserted %v", got)
	}
	if attr(f.byID("activity-live-toggle"), "aria-pressed") != "false" || f.byID("activity-live-show") != nil {
		t.Errorf("after Show: %s", f.body)
	}
	// Resume: live again.
	f = actTail(t, br, f, attr(f.byID("activity-live-toggle"), "hx-get"))
	if _, _, l := state(f); attr(f.byID("activity-live-toggle"), "aria-pressed") != "true" || l != "on" {
		t.Errorf("resume: %s", f.body)
	}

	// From an empty table the first rows replace the empty state.
	p = br.get(t, "/activity?view=executions&outcome=cancelled")
	if p.byID("activity-empty") == nil {
		t.Fatal("no empty state")
	}
	cancelled := b.post(t, actExec{name: "a__five", ok: false, code: "cancelled"})[0]
	f = actTail(t, br, p, attr(p.byID("activity-live"), "hx-get"))
	res := f.byID("activity-results")
	if res == nil || attr(res, "hx-swap-oob") != "true" || !slices.Equal(actRowIDs(f), []string{"act-exec-" + cancelled}) {
		t.Errorf("first rows: %s", f.body)
	}
	// Without htmx the tail URL is the activity page (U7).
	full := br.get(t, tail)
	wantStatus(t, "tail page", full, http.StatusOK)
	actCheck(t, "tail page", full, true)

	// The audit view tails too.
	p = br.get(t, "/activity?view=audit")
	b.server(t, "weather")
	f = actTail(t, br, p, attr(p.byID("activity-live"), "hx-get"))
	if got := actRowIDs(f); len(got) != 1 || !strings.HasPrefix(got[0], "act-audit-") {
		t.Errorf("audit tail %v", got)
	}
}
