//go:build browser

package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// The activity page's checks (admin-ui.md §16 UI-39–UI-41) and its
// UI-49/UI-53 reviews.

// activityTop is the id of the first row of the activity table.
const activityTop = `((r) => r ? r.id : "")(document.querySelector("#act-rows tr.act-row"))`

// activityOpen signs in and opens path, waiting for the live stream.
func activityOpen(t *testing.T, path string) (*Backend, *Page) {
	t.Helper()
	b, p := dashboardSignedIn(t, Desktop)
	p.Open(path)
	p.WaitFor(`document.querySelector("#live-indicator").dataset.state === "live"`, 5*time.Second, "the live indicator")
	return b, p
}

func TestUI39_ActivityLiveTailAndPause(t *testing.T) {
	t.Parallel()
	b, p := activityOpen(t, "/activity")
	if v, _ := p.Attr("#activity-live-toggle", "aria-pressed"); v != "true" {
		t.Fatalf("Live toggle aria-pressed %q", v)
	}
	first := dashboardExec("weather__forecast", true)
	b.PostExecutions(t, first)
	p.WaitFor(activityTop+` === "act-exec-`+first.ID+`"`, 2*time.Second, "the execution at the top of the table")

	// Pause: insertion stops, the count shows.
	p.Click("#activity-live-toggle")
	p.WaitFor(`document.querySelector("#activity-live-toggle").getAttribute("aria-pressed") === "false"`, 5*time.Second, "the tail to pause")
	if got := p.Text("#activity-live-state"); !strings.HasPrefix(got, "Paused") {
		t.Errorf("indicator %q", got)
	}
	second := dashboardExec("weather__forecast", false)
	b.PostExecutions(t, second)
	p.WaitFor(`((e) => e && e.textContent.trim() === "1 new — Show")(document.querySelector("#activity-live-show"))`, 5*time.Second, `"1 new — Show"`)
	if got := Eval[string](p, activityTop); got != "act-exec-"+first.ID {
		t.Errorf("paused table's top row %q", got)
	}
	p.Click("#activity-live-show")
	p.WaitFor(activityTop+` === "act-exec-`+second.ID+`"`, 5*time.Second, "Show to insert the row")
	if p.Count("#activity-live-show") != 0 || p.Count("#act-rows tr.act-row") != 2 {
		t.Errorf("after Show: %d rows", p.Count("#act-rows tr.act-row"))
	}

	// A row expands in place.
	p.Click("#act-exec-" + second.ID + "-toggle")
	p.WaitFor(`document.querySelector("#act-exec-`+second.ID+`-toggle").getAttribute("aria-expanded") === "true"`, 5*time.Second, "the row to expand")
	if got := p.Text("#act-exec-" + second.ID + "-details"); !strings.Contains(got, "the tool ran out of time") || !strings.Contains(got, `"city": "Paris"`) {
		t.Errorf("details %q", got)
	}
}

func TestUI40_ActivityFiltersInURLAndLive(t *testing.T) {
	t.Parallel()
	b, p := activityOpen(t, "/activity")
	var server struct {
		ID string `json:"server_id"`
	}
	b.Manage(t, "mcpbox_create_server", map[string]any{"name": "weather", "description": "Forecasts"}, &server)
	p.Reload()
	p.Exec(`document.querySelector("#activity-server_id").value = ` + jsString(server.ID) + `;
document.querySelector("#activity-outcome").value = "error";
document.querySelector("#activity-caller").value = "local";
document.querySelector("#activity-since").value = "24h"; true`)
	p.Fill("#activity-q", "forecast")
	p.Submit(Click("#activity-apply"))
	for _, want := range []string{"server_id=" + server.ID, "outcome=error", "caller=local", "since=24h", "q=forecast"} {
		if !strings.Contains(p.URL(), want) {
			t.Errorf("URL %s lacks %s", p.URL(), want)
		}
	}
	form := func() string {
		return Eval[string](p, `["server_id", "outcome", "caller", "since", "q"].map((n) => document.querySelector("#activity-" + n).value).join("|")`)
	}
	want := server.ID + "|error|local|24h|forecast"
	if got := form(); got != want {
		t.Errorf("form %q, want %q", got, want)
	}
	p.Reload()
	if got := form(); got != want {
		t.Errorf("after reload %q, want %q", got, want)
	}
	p.WaitFor(`document.querySelector("#live-indicator").dataset.state === "live"`, 5*time.Second, "the live indicator")

	ok := dashboardExec("weather__forecast", true)
	ok.ServerID = server.ID
	failed := dashboardExec("weather__forecast", false)
	failed.ServerID = server.ID
	b.PostExecutions(t, ok)
	b.PostExecutions(t, failed)
	p.WaitFor(activityTop+` === "act-exec-`+failed.ID+`"`, 5*time.Second, "the failed execution")
	if p.Count("#act-exec-"+ok.ID) != 0 {
		t.Error("a successful execution entered the outcome=error view")
	}
	if p.Count("#act-rows tr.act-row") != 1 {
		t.Errorf("%d rows", p.Count("#act-rows tr.act-row"))
	}
}

func TestUI41_ActivityAuditEntries(t *testing.T) {
	t.Parallel()
	b, p := dashboardSignedIn(t, Desktop)
	bearer := b.Bearer(t)
	// A settings change through the API.
	if r := b.API(t, http.MethodPatch, "/api/v1/settings/security-policy", map[string]any{"log_retention_days": 60}, bearer...); r.Status != http.StatusOK {
		t.Fatalf("settings change: %d %s", r.Status, r.Body)
	}
	// An approval: the LLM submits a tool, the admin approves it.
	var server struct {
		ID string `json:"server_id"`
	}
	b.Manage(t, "mcpbox_create_server", map[string]any{"name": "weather", "description": "Forecasts"}, &server)
	var tool struct {
		ID string `json:"tool_id"`
	}
	b.Manage(t, "mcpbox_create_tool", map[string]any{
		"server_id": server.ID, "name": "forecast",
		"code": "package main\n\n// Main forecasts.\nfunc Main() (string, error) {\n\treturn \"sunny\", nil\n}\n",
	}, &tool)
	b.Manage(t, "mcpbox_request_publish", map[string]any{"tool_id": tool.ID}, nil)
	var got struct {
		LatestVersion int `json:"latest_version"`
		Latest        struct {
			Hash string `json:"hash"`
		} `json:"latest"`
	}
	b.API(t, http.MethodGet, "/api/v1/tools/"+tool.ID, nil, bearer...).JSON(t, &got)
	if r := b.API(t, http.MethodPost, "/api/v1/tools/"+tool.ID+"/approve", map[string]any{"version": got.LatestVersion, "hash": got.Latest.Hash}, bearer...); r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}

	p.Open("/activity?view=audit")
	if cur, _ := p.Attr("#activity-view-audit", "aria-current"); cur != "page" {
		t.Errorf("Audit view aria-current %q", cur)
	}
	rows := Eval[[][]string](p, `[...document.querySelectorAll("#act-rows tr.act-row")].map((r) => [...r.cells].map((c) => c.textContent.trim()))`)
	rowOf := func(action string) []string {
		for _, r := range rows {
			if r[2] == action {
				return r
			}
		}
		return nil
	}
	// The account (its first sign-in is the setup: a successful login
	// writes no audit row, backend.md §14.1).
	for _, c := range []struct{ action, actor string }{
		{"auth.setup", "Admin " + AdminName}, {"settings.update", "Admin " + AdminName}, {"tool.approve", "Admin " + AdminName},
	} {
		r := rowOf(c.action)
		if r == nil {
			t.Errorf("no %s row in %v", c.action, rows)
			continue
		}
		if r[1] != c.actor {
			t.Errorf("%s: actor %q, want %q", c.action, r[1], c.actor)
		}
	}
	// The approval's target link opens the tool.
	link := `#act-rows tr.act-row td:nth-child(4) a[href="/tools/` + tool.ID + `"]`
	if p.Count(link) == 0 {
		t.Fatalf("no target link to the tool")
	}
	if status := p.Submit(Click(link)); status == http.StatusNotFound || status >= 500 {
		t.Errorf("target link: status %d", status)
	}
	if p.Path() != "/tools/"+tool.ID {
		t.Errorf("target link opened %s", p.Path())
	}
}

func TestUI49_UI53_Activity(t *testing.T) {
	t.Parallel()
	for _, c := range combos() {
		t.Run(fmt.Sprintf("%s-%d", c.theme, c.view.Width), func(t *testing.T) {
			t.Parallel()
			b := NewBackend(t)
			b.CreateAdmin(t)
			p := b.NewPage(t, c.view)
			p.SetThemeCookie(c.theme)
			p.SignIn()
			p.Open("/activity")
			review(t, p, "activity-executions-empty", c.theme)

			b.Manage(t, "mcpbox_create_server", map[string]any{"name": "weather", "description": "Forecasts"}, nil)
			var recs []proto.ExecutionRecord
			for i := range 6 {
				recs = append(recs, dashboardExec("weather__forecast", i%3 != 0))
			}
			b.PostExecutions(t, recs...)
			p.Reload()
			p.Click("#act-exec-" + recs[5].ID + "-toggle")
			p.WaitFor(`document.querySelector("#act-exec-`+recs[5].ID+`-toggle").getAttribute("aria-expanded") === "true"`, 5*time.Second, "the row to expand")
			review(t, p, "activity-executions", c.theme)

			p.Open("/activity?view=audit")
			review(t, p, "activity-audit", c.theme)
		})
	}
}
