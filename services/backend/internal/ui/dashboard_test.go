package ui_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/mcpbox/mcpbox/proto"
)

// UI-13, UI-15 (below the browser): with no calls the error rate reads "—"
// and "No calls in this period", and Getting started shows the local URL
// and the claude command; with 10 calls (3 failed) the cards read 10 and
// 30 %, the rate links to the failed executions of the period, and a
// server removes Getting started.
func TestUI13_UI15_DashboardCardsAndGettingStarted(t *testing.T) {
	t.Parallel()
	b := newActBackend(t)
	br := b.signedIn(t)

	p := br.get(t, "/")
	wantStatus(t, "empty dashboard", p, http.StatusOK)
	actCheck(t, "empty dashboard", p, true)
	if got := p.text("dashboard-error-rate"); got != "—" {
		t.Errorf("error rate with no calls %q", got)
	}
	if got := p.text("dashboard-card-errors"); !strings.Contains(got, "No calls in this period") {
		t.Errorf("error card with no calls %q", got)
	}
	if got := p.text("dashboard-chart-empty"); got != "No calls in this period" {
		t.Errorf("chart with no calls %q", got)
	}
	if got := p.text("dashboard-recent"); !strings.Contains(got, "Nothing has happened yet") && p.byID("dashboard-recent-list") == nil {
		t.Errorf("recent activity %q", got)
	}
	if got := p.text("dashboard-local-url"); got != "http://mcpbox.lan:8002/mcp" { // the harness's MCPBOX_LOCAL_MCP_URL
		t.Errorf("local URL %q", got)
	}
	copyBtn := p.byID("dashboard-copy-cmd")
	if copyBtn == nil || attr(copyBtn, "data-copy-target") != "dashboard-claude-cmd" ||
		p.text("dashboard-claude-cmd") != "claude mcp add --transport http mcpbox http://mcpbox.lan:8002/mcp" {
		t.Errorf("copy button %v, command %q", copyBtn, p.text("dashboard-claude-cmd"))
	}

	server := b.server(t, "weather")
	var recs []actExec
	for i := range 10 {
		r := actExec{name: "weather__forecast", server: server, ok: i >= 3, code: "timeout", duration: int64(100 * (i + 1))}
		recs = append(recs, r)
	}
	b.post(t, recs...)
	b.testRun(t, "weather__forecast")

	p = br.get(t, "/")
	actCheck(t, "populated dashboard", p, true)
	if got := p.text("dashboard-calls"); got != "10" {
		t.Errorf("calls %q, want 10 (test runs apart)", got)
	}
	if got := p.text("dashboard-error-rate"); got != "30 %" {
		t.Errorf("error rate %q, want 30 %%", got)
	}
	card := p.byID("dashboard-card-errors")
	if attr(card, "href") != "/activity?outcome=error&since=24h&view=executions" || !strings.Contains(attr(card, "class"), "dash-card-warn") {
		t.Errorf("error card href %q class %q", attr(card, "href"), attr(card, "class"))
	}
	if got := p.text("dashboard-card-calls"); !strings.Contains(got, "10 local, 0 remote, 1 test runs") {
		t.Errorf("calls card %q", got)
	}
	if p.byID("dashboard-local-url") != nil {
		t.Error("Getting started shown with a server")
	}
	if got := len(findAll(p.byID("dashboard-recent-list"), func(n *html.Node) bool { return n.Data == "li" })); got != 10 {
		t.Errorf("recent activity lists %d entries, want 10", got)
	}

	// 7 d: the period is in the URL and the links.
	p = br.get(t, "/?period=7d")
	if attr(p.byID("dashboard-card-errors"), "href") != "/activity?outcome=error&since=7d&view=executions" ||
		attr(p.byID("dashboard-period-7d"), "aria-current") != "true" {
		t.Errorf("7d: error link %q", attr(p.byID("dashboard-card-errors"), "href"))
	}
}

// UI-14 (below the browser): the chart is an SVG with role=img and a name
// naming the peak, one bar group per bucket of executions_over_time (25
// hourly, 29 six-hourly), drawn with attributes only, and its data table
// has a row per bucket whose counts add up to the seeded records.
func TestUI14_DashboardChart(t *testing.T) {
	t.Parallel()
	b := newActBackend(t)
	br := b.signedIn(t)
	b.post(t, actExec{name: "a__b", ok: true}, actExec{name: "a__b", ok: false, code: "tool_error"}, actExec{name: "a__b", ok: true})

	for _, c := range []struct {
		period  string
		buckets int
		name    string
	}{{"24h", 25, "Calls per hour, last 24 hours, peak 3 at "}, {"7d", 29, "Calls per 6 hours, last 7 days, peak 3 at "}} {
		p := br.get(t, "/ui/dashboard/chart?period="+c.period, actHX...)
		actCheck(t, "chart "+c.period, p, false)
		if isFullPage(p) {
			t.Fatalf("%s: the chart fragment is a full page", c.period)
		}
		svg := p.byID("dashboard-chart-svg")
		if svg == nil || !strings.HasPrefix(attr(svg, "aria-label"), c.name) {
			t.Fatalf("%s: svg %v label %q", c.period, svg, attr(svg, "aria-label"))
		}
		groups := actByClass(svg, "dash-bucket")
		if len(groups) != c.buckets {
			t.Errorf("%s: %d bar groups, want %d", c.period, len(groups), c.buckets)
		}
		for _, n := range findAll(svg, func(*html.Node) bool { return true }) {
			if hasAttr(n, "style") {
				t.Errorf("%s: style attribute in the chart", c.period)
			}
		}
		rows := findAll(p.byID("dashboard-chart-table"), func(n *html.Node) bool { return n.Data == "tr" })
		if len(rows) != c.buckets+1 {
			t.Fatalf("%s: table has %d rows, want %d and the header", c.period, len(rows)-1, c.buckets)
		}
		var total, failed int
		for _, r := range rows[1:] {
			cells := findAll(r, func(n *html.Node) bool { return n.Data == "td" })
			n, _ := strconv.Atoi(textOf(cells[1]))
			f, _ := strconv.Atoi(textOf(cells[2]))
			total, failed = total+n, failed+f
		}
		if total != 3 || failed != 1 {
			t.Errorf("%s: table totals %d calls, %d failed; want 3 and 1", c.period, total, failed)
		}
		// The last bucket holds the records: its bar is the full height,
		// the failure stacked on the successes.
		last := groups[len(groups)-1]
		rects := findAll(last, func(n *html.Node) bool { return n.Data == "rect" })
		if len(rects) != 2 || attr(rects[0], "height") != "66.67" || attr(rects[1], "y") != "0.00" {
			t.Errorf("%s: last bar %d rects", c.period, len(rects))
		}
		// The table is a disclosure: hidden until shown, state in the URL.
		toggle := p.byID("dashboard-chart-toggle")
		if attr(toggle, "aria-expanded") != "false" || !hasAttr(p.byID("dashboard-chart-table"), "hidden") ||
			attr(toggle, "hx-get") != "/ui/dashboard/chart?period="+c.period+"&table=1&outer=1" {
			t.Errorf("%s: toggle %q %q", c.period, attr(toggle, "aria-expanded"), attr(toggle, "hx-get"))
		}
		// The disclosure replaces the whole region, whose refresh keeps the
		// table open.
		p = br.get(t, attr(toggle, "hx-get"), actHX...)
		actCheck(t, "chart with table "+c.period, p, false)
		if attr(p.byID("dashboard-chart-toggle"), "aria-expanded") != "true" || hasAttr(p.byID("dashboard-chart-table"), "hidden") ||
			attr(p.byID("dashboard-chart"), "hx-get") != "/ui/dashboard/chart?period="+c.period+"&table=1" {
			t.Errorf("%s: the table did not open: %q", c.period, attr(p.byID("dashboard-chart"), "hx-get"))
		}
	}
}

// UI-17 (below the browser): Health shows readiness and worker counts from
// /readyz, the degraded-isolation warning, an unreachable sandbox as an
// error; the database; 0 gateways as a warning. The region re-fetches on
// its own tick.
func TestUI17_DashboardHealth(t *testing.T) {
	t.Parallel()
	b := newActBackend(t)
	br := b.signedIn(t)

	p := br.get(t, "/ui/dashboard/health", actHX...)
	actCheck(t, "health", p, false)
	if got := p.text("dashboard-sandbox"); got != "Ready" {
		t.Errorf("sandbox %q", got)
	}
	if got := p.text("dashboard-workers"); got != "2 warm, 1 busy, 0 starting" {
		t.Errorf("workers %q", got)
	}
	if p.byID("dashboard-isolation-warning") != nil || p.byID("dashboard-sandbox-error") != nil {
		t.Error("a warning with a ready sandbox")
	}
	if p.text("dashboard-database") != "Answering" || p.byID("dashboard-gateways-warning") == nil {
		t.Errorf("database %q, gateways warning %v", p.text("dashboard-database"), p.byID("dashboard-gateways-warning"))
	}
	if trig := attr(br.get(t, "/").byID("dashboard-health"), "hx-trigger"); !strings.HasSuffix(trig, ", every 30000ms") {
		t.Errorf("health trigger %q", trig)
	}

	b.sandbox.set(proto.SandboxReadiness{Status: proto.ReadinessReady, Warm: 1, Isolation: proto.IsolationDegraded})
	p = br.get(t, "/ui/dashboard/health", actHX...)
	if got := p.text("dashboard-isolation-warning"); got != "Sandbox isolation is degraded (development mode); do not expose this instance." {
		t.Errorf("degraded warning %q", got)
	}

	b.sandbox.srv.Close()
	p = br.get(t, "/ui/dashboard/health", actHX...)
	if p.text("dashboard-sandbox") != "Unreachable" || !strings.Contains(p.text("dashboard-sandbox-error"), "The sandbox cannot be reached.") {
		t.Errorf("unreachable: %q %q", p.text("dashboard-sandbox"), p.text("dashboard-sandbox-error"))
	}
}

// U7 and the live regions: every region's content is a fragment for htmx
// (swapped inside the region, whose element keeps its timers), the whole
// region with outer=1 and the whole dashboard otherwise; each re-fetches
// on its events, throttled to 5 s, and its wrapper 5 s after the last
// event (htmx drops an event inside the throttle window, and one element
// cannot carry both modifiers); an unknown region is 404.
func TestDashboardRegions(t *testing.T) {
	t.Parallel()
	b := newActBackend(t)
	br := b.signedIn(t)
	b.post(t, actExec{name: "a__b", ok: true})
	triggers := map[string][]string{
		"start":  {"mcpbox:servers"},
		"counts": {"mcpbox:activity", "mcpbox:approvals", "mcpbox:servers"},
		"chart":  {"mcpbox:activity"},
		"recent": {"mcpbox:activity"}, // approvals write audit rows: activity
		"health": {"mcpbox:servers"},
	}
	dash := br.get(t, "/?period=7d")
	for region, events := range triggers {
		n, wrap := dash.byID("dashboard-"+region), dash.byID("dashboard-"+region+"-region")
		if n == nil || wrap == nil || attr(wrap, "hx-swap") != "innerHTML" || attr(wrap, "hx-target") != "#dashboard-"+region ||
			!strings.HasPrefix(attr(n, "hx-get"), "/ui/dashboard/"+region) || attr(wrap, "hx-get") != attr(n, "hx-get") {
			t.Fatalf("%s: region %v in %v", region, n, wrap)
		}
		for _, ev := range events {
			if trig := attr(n, "hx-trigger"); !strings.Contains(trig, ev+" from:body throttle:5s") {
				t.Errorf("%s: trigger %q lacks %s", region, trig, ev)
			}
			if trig := attr(wrap, "hx-trigger"); !strings.Contains(trig, ev+" from:body delay:5s") {
				t.Errorf("%s: trailing trigger %q lacks %s", region, trig, ev)
			}
		}
		f := br.get(t, attr(n, "hx-get"), actHX...)
		wantStatus(t, region, f, http.StatusOK)
		actCheck(t, region+" (htmx)", f, false)
		if isFullPage(f) || f.byID("dashboard-"+region) != nil || (region != "start" && strings.TrimSpace(f.body) == "") {
			t.Fatalf("%s: not the region's content: %.200s", region, f.body)
		}
		o := br.get(t, "/ui/dashboard/"+region+"?period=7d&outer=1", actHX...)
		actCheck(t, region+" (outer)", o, false)
		if o.byID("dashboard-"+region+"-region") == nil {
			t.Errorf("%s: outer=1 is not the region", region)
		}
		full := br.get(t, "/ui/dashboard/"+region+"?period=7d")
		wantStatus(t, region+" full", full, http.StatusOK)
		actCheck(t, region+" (full)", full, true)
		if !isFullPage(full) || full.byID("dashboard-counts") == nil || full.byID("dashboard-health") == nil {
			t.Errorf("%s without htmx is not the dashboard", region)
		}
	}
	if p := br.get(t, "/ui/dashboard/nothing", actHX...); p.status != http.StatusNotFound {
		t.Errorf("unknown region: %d", p.status)
	}
	// The recent list links each entry to its detail.
	p := br.get(t, "/ui/dashboard/recent", actHX...)
	links := findAll(p.byID("dashboard-recent-list"), func(n *html.Node) bool { return n.Data == "a" })
	if len(links) == 0 {
		t.Fatal("no recent entries")
	}
	for _, a := range links {
		href := attr(a, "href")
		if !strings.HasPrefix(href, "/activity/executions/") && !strings.HasPrefix(href, "/activity/audit/") {
			t.Errorf("recent link %q", href)
		}
		if d := br.get(t, href); d.status != http.StatusOK {
			t.Errorf("GET %s: %d", href, d.status)
		}
	}
}
