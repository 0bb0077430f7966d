//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	cdbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

// The dashboard's checks (admin-ui.md §16 UI-13–UI-17) and its UI-49/UI-53
// reviews.

// dashboardExec is an execution record as the gateway sends it; failed
// ones carry the timeout outcome.
func dashboardExec(name string, ok bool) proto.ExecutionRecord {
	r := proto.ExecutionRecord{
		ID: uuid.NewString(), ExposedName: name, Via: proto.ViaDirect, Caller: proto.Caller{Kind: proto.CallerLocal},
		Success: ok, DurationMS: 42, StartedAt: time.Now().UTC(), InputArgs: []byte(`{"city":"Paris"}`),
	}
	if !ok {
		r.ErrorCode, r.Error = "timeout", "the tool ran out of time"
	}
	return r
}

// dashboardSignedIn is a backend with the admin and a page signed in on
// the dashboard.
func dashboardSignedIn(t *testing.T, v Viewport) (*Backend, *Page) {
	t.Helper()
	b := NewBackend(t)
	b.CreateAdmin(t)
	p := b.NewPage(t, v)
	if status := p.SignIn(); status != http.StatusOK {
		t.Fatalf("sign in: status %d", status)
	}
	return b, p
}

// dashboardGrantClipboard lets the page's origin read and write the
// clipboard.
func dashboardGrantClipboard(t *testing.T, p *Page, origin string) {
	t.Helper()
	c := chromedp.FromContext(p.Context())
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		ctx, cancel := context.WithTimeout(p.Context(), 10*time.Second)
		err := c.Browser.Call(ctx, cdbrowser.CommandSetPermission, &cdbrowser.SetPermissionParams{
			Permission: &cdbrowser.PermissionDescriptor{Name: perm, AllowWithoutSanitization: true},
			Setting:    cdbrowser.PermissionSettingGranted, Origin: origin, BrowserContextID: c.BrowserContextID,
		}, nil)
		cancel()
		if err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}
}

func TestUI13_DashboardCountsAndErrorRate(t *testing.T) {
	t.Parallel()
	b, p := dashboardSignedIn(t, Desktop)
	if got := p.Text("#dashboard-error-rate"); got != "—" {
		t.Errorf("error rate with no calls %q, want —", got)
	}
	if got := p.Text("#dashboard-card-errors"); !strings.Contains(got, "No calls in this period") {
		t.Errorf("error card with no calls %q", got)
	}
	if got := p.Text("#dashboard-chart-empty"); got != "No calls in this period" {
		t.Errorf("chart with no calls %q", got)
	}
	var recs []proto.ExecutionRecord
	for i := range 10 {
		recs = append(recs, dashboardExec("weather__forecast", i >= 3))
	}
	b.PostExecutions(t, recs...)
	p.Reload()
	if got := p.Text("#dashboard-calls"); got != "10" {
		t.Errorf("calls %q, want 10", got)
	}
	if got := p.Text("#dashboard-error-rate"); got != "30 %" {
		t.Errorf("error rate %q, want 30 %%", got)
	}
	if got := p.Text("#dashboard-card-errors"); !strings.Contains(got, "3 failed of 10") {
		t.Errorf("error card %q", got)
	}
}

func TestUI14_DashboardChartAndTable(t *testing.T) {
	t.Parallel()
	b, p := dashboardSignedIn(t, Desktop)
	b.PostExecutions(t, dashboardExec("a__b", true), dashboardExec("a__b", false), dashboardExec("a__b", true), dashboardExec("a__b", true))
	for _, c := range []struct {
		path    string
		buckets int
	}{{"/", 25}, {"/?period=7d", 29}} {
		p.Open(c.path)
		if role, _ := p.Attr("#dashboard-chart-svg", "role"); role != "img" {
			t.Errorf("%s: chart role %q", c.path, role)
		}
		name, _ := p.Attr("#dashboard-chart-svg", "aria-label")
		if !strings.Contains(name, "peak 4 at") {
			t.Errorf("%s: chart name %q", c.path, name)
		}
		if got := p.Count("#dashboard-chart-svg g.dash-bucket"); got != c.buckets {
			t.Errorf("%s: %d bar groups, want %d", c.path, got, c.buckets)
		}
		if got := p.Count("#dashboard-chart-svg [style]"); got != 0 {
			t.Errorf("%s: %d style attributes in the chart", c.path, got)
		}
		if Eval[bool](p, `!!document.querySelector("#dashboard-chart-table").offsetParent`) {
			t.Errorf("%s: the data table shows before it is asked for", c.path)
		}
		p.Click("#dashboard-chart-toggle")
		p.WaitFor(`document.querySelector("#dashboard-chart-toggle").getAttribute("aria-expanded") === "true"`, 5*time.Second, "the data table to open")
		if Eval[bool](p, `!document.querySelector("#dashboard-chart-table").offsetParent`) {
			t.Errorf("%s: the data table is not shown", c.path)
		}
		rows := Eval[[][]string](p, `[...document.querySelectorAll("#dashboard-chart-table tbody tr")].map((r) => [...r.cells].map((c) => c.textContent.trim()))`)
		if len(rows) != c.buckets {
			t.Fatalf("%s: table has %d rows, want %d", c.path, len(rows), c.buckets)
		}
		total, failed := 0, 0
		for _, r := range rows {
			n, _ := strconv.Atoi(r[1])
			f, _ := strconv.Atoi(r[2])
			total, failed = total+n, failed+f
		}
		if total != 4 || failed != 1 || rows[len(rows)-1][1] != "4" {
			t.Errorf("%s: table totals %d and %d failed (last row %v), want 4 and 1", c.path, total, failed, rows[len(rows)-1])
		}
	}
	// The period survives a reload.
	p.Reload()
	if got := p.Count("#dashboard-chart-svg g.dash-bucket"); got != 29 || !strings.Contains(p.URL(), "period=7d") {
		t.Errorf("after reload: %d bar groups at %s", got, p.URL())
	}
	if cur, _ := p.Attr("#dashboard-period-7d", "aria-current"); cur != "true" {
		t.Errorf("7 d is not the current period")
	}
}

func TestUI15_GettingStartedCopy(t *testing.T) {
	t.Parallel()
	b, p := dashboardSignedIn(t, Desktop)
	if got := p.Text("#dashboard-local-url"); got != "http://127.0.0.1:8002/mcp" {
		t.Errorf("local URL %q", got)
	}
	dashboardGrantClipboard(t, p, b.URL)
	p.Click("#dashboard-copy-cmd")
	p.WaitFor(`document.querySelector("#toasts-status").textContent.includes("copied")`, 5*time.Second, "the copy toast")
	if got := Eval[string](p, `navigator.clipboard.readText()`); got != "claude mcp add --transport http mcpbox http://127.0.0.1:8002/mcp" {
		t.Errorf("clipboard %q", got)
	}
	b.Manage(t, "mcpbox_create_server", map[string]any{"name": "weather", "description": "Forecasts"}, nil)
	// The servers event re-fetches the card away; a reload shows the same.
	p.WaitFor(`!document.querySelector("#dashboard-local-url")`, 10*time.Second, "Getting started to go once a server exists")
	p.Reload()
	if p.Count("#dashboard-local-url") != 0 || p.Text("#dashboard-start") != "" {
		t.Errorf("Getting started with a server: %q", p.Text("#dashboard-start"))
	}
}

func TestUI16_RecentActivityLiveAndErrorLink(t *testing.T) {
	t.Parallel()
	b, p := dashboardSignedIn(t, Desktop)
	p.WaitFor(`document.querySelector("#live-indicator").dataset.state === "live"`, 5*time.Second, "the live indicator")
	b.PostExecutions(t, dashboardExec("weather__forecast", false))
	p.WaitFor(`(document.querySelector("#dashboard-recent-list") || {textContent: ""}).textContent.includes("weather__forecast")`,
		3*time.Second, "the execution in Recent activity")
	p.WaitFor(`document.querySelector("#dashboard-calls").textContent.trim() === "1"`, 6*time.Second, "the calls card")
	p.Submit(Click("#dashboard-card-errors"))
	if !strings.HasPrefix(p.Path(), "/activity?") || !strings.Contains(p.URL(), "outcome=error") || !strings.Contains(p.URL(), "since=24h") {
		t.Errorf("error link opened %s", p.URL())
	}
	if got := Eval[string](p, `document.querySelector("#activity-outcome").value`); got != "error" {
		t.Errorf("outcome selected %q, want error", got)
	}
	if got := Eval[string](p, `document.querySelector("#activity-outcome").selectedOptions[0].textContent`); got != "Error (any type)" {
		t.Errorf("outcome shows %q", got)
	}
	if p.Count("#act-rows tr.act-row") != 1 {
		t.Errorf("%d rows under outcome=error", p.Count("#act-rows tr.act-row"))
	}
}

func TestUI17_DashboardHealth(t *testing.T) {
	t.Parallel()
	b, p := dashboardSignedIn(t, Desktop)
	if got := p.Text("#dashboard-sandbox"); got != "Ready" {
		t.Errorf("sandbox %q", got)
	}
	if got := p.Text("#dashboard-workers"); got != "2 warm, 0 busy, 0 starting" {
		t.Errorf("workers %q", got)
	}
	if p.Count("#dashboard-isolation-warning") != 0 {
		t.Error("isolation warning with full isolation")
	}
	b.Sandbox.SetReadiness(proto.SandboxReadiness{Status: proto.ReadinessReady, Warm: 1, Busy: 1, Isolation: proto.IsolationDegraded})
	p.WaitFor(`!!document.querySelector("#dashboard-isolation-warning")`, 6*time.Second, "the degraded-isolation warning at the next tick")
	if got := p.Text("#dashboard-isolation-warning"); got != "Sandbox isolation is degraded (development mode); do not expose this instance." {
		t.Errorf("warning %q", got)
	}
	if got := p.Text("#dashboard-workers"); got != "1 warm, 1 busy, 0 starting" {
		t.Errorf("workers %q", got)
	}
	b.Sandbox.Close()
	p.WaitFor(`!!document.querySelector("#dashboard-sandbox-error")`, 8*time.Second, "the unreachable error at the next tick")
	if got := p.Text("#dashboard-sandbox"); got != "Unreachable" {
		t.Errorf("sandbox %q", got)
	}
}

func TestUI49_UI53_Dashboard(t *testing.T) {
	t.Parallel()
	for _, c := range combos() {
		t.Run(fmt.Sprintf("%s-%d", c.theme, c.view.Width), func(t *testing.T) {
			t.Parallel()
			b := NewBackend(t)
			b.CreateAdmin(t)
			p := b.NewPage(t, c.view)
			p.SetThemeCookie(c.theme)
			p.SignIn()
			review(t, p, "dashboard-empty", c.theme)

			b.Manage(t, "mcpbox_create_server", map[string]any{"name": "weather", "description": "Forecasts"}, nil)
			var recs []proto.ExecutionRecord
			for i := range 12 {
				recs = append(recs, dashboardExec("weather__forecast", i%4 != 0))
			}
			b.PostExecutions(t, recs...)
			b.Sandbox.SetReadiness(proto.SandboxReadiness{Status: proto.ReadinessReady, Warm: 2, Isolation: proto.IsolationDegraded})
			p.Reload()
			p.Click("#dashboard-chart-toggle")
			p.WaitFor(`document.querySelector("#dashboard-chart-toggle").getAttribute("aria-expanded") === "true"`, 5*time.Second, "the data table to open")
			review(t, p, "dashboard-populated", c.theme)
		})
	}
}
