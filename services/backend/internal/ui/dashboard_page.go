package ui

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/dashboard"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
)

// defaultLocalMCPURL is MCPBOX_LOCAL_MCP_URL's default: the gateway's
// local MCP endpoint that Getting started shows.
const defaultLocalMCPURL = "http://127.0.0.1:8002/mcp"

// dashboardRegions are the parts of the dashboard that re-fetch on their
// own (GET /ui/dashboard/<region>).
var dashboardRegions = []string{"start", "counts", "chart", "recent", "health"} //nolint:gochecknoglobals // read-only

// recentLimit is how many entries Recent activity lists.
const recentLimit = 10

// highErrorRate is the error rate above which the card is highlighted.
const highErrorRate = 0.05

// dashView is the data of the dashboard and its regions.
type dashView struct {
	Period      string // 24h or 7d
	PeriodLabel string // "last 24 hours"
	Periods     []option

	// Counts and Stats fill the cards (GET /dashboard?period=).
	Counts     dashboard.Counts
	Stats      executions.Stats
	PendingAll int64
	Rate       string // "30 %", or "—" without calls
	RateHigh   bool
	ErrorsHref string
	CallsHref  string
	Avg, P95   string

	Chart     dashChart
	ShowTable bool

	Recent []recentItem

	Health dashboard.Status

	// NoServers shows Getting started, with the local MCP URL and the
	// claude command.
	NoServers bool
	LocalURL  string
	ClaudeCmd string
}

// dashChart is the calls-over-time chart: one bar group per bucket,
// geometry computed here so the SVG uses attributes only.
type dashChart struct {
	Name     string // the SVG's accessible name
	Empty    bool
	Width    int
	Height   int
	Buckets  []dashBar
	First    time.Time
	Last     time.Time
	BinLabel string
}

// dashBar is one bucket: its counts and the two stacked rectangles.
type dashBar struct {
	T              time.Time
	Label          string // "14:00 UTC: 12 calls, 1 failed"
	Total, Failed  int64
	X, W           string
	OKY, OKH       string
	FailY, FailH   string
	HasOK, HasFail bool
}

// recentItem is one line of Recent activity: an execution or an audit
// entry.
type recentItem struct {
	T       time.Time
	Kind    string // Execution or Audit
	Text    string
	Detail  string // outcome, or the actor
	Href    string
	Failure bool
}

// Chart geometry: viewBox units per bucket and the height.
const (
	chartBarStep = 10
	chartHeight  = 100
)

// dashboardShow is GET / (admin-ui.md §11.1).
func (h *handler) dashboardShow(w http.ResponseWriter, r *http.Request, st *state) error {
	v, err := h.dashboardLoad(r.Context(), r.URL.Query(), dashboardRegions)
	if err != nil {
		return err
	}
	return h.render(w, r, st, page{Name: "dashboard", Title: "Dashboard", Nav: navDashboard, Data: v})
}

// dashboardRegion is GET /ui/dashboard/<region>: for htmx the region's
// content (its element stays, so htmx keeps its throttle and delay timers
// across refreshes), or with outer=1 the whole region; the whole dashboard
// otherwise (U7).
func (h *handler) dashboardRegion(w http.ResponseWriter, r *http.Request, st *state, region string) error {
	parts := []string{region}
	if !st.htmx {
		parts = dashboardRegions
	}
	v, err := h.dashboardLoad(r.Context(), r.URL.Query(), parts)
	if err != nil {
		return err
	}
	fragment := "dashboard-" + region + "-body"
	if r.URL.Query().Get("outer") == "1" {
		fragment = "dashboard-" + region
	}
	return h.render(w, r, st, page{Name: "dashboard", Title: "Dashboard", Nav: navDashboard, Data: v, Fragment: fragment})
}

// dashboardLoad reads what the regions in parts show.
func (h *handler) dashboardLoad(ctx context.Context, q url.Values, parts []string) (*dashView, error) {
	v := &dashView{Period: "24h", PeriodLabel: "last 24 hours", ShowTable: q.Get("table") == "1"}
	if q.Get("period") == "7d" {
		v.Period, v.PeriodLabel = "7d", "last 7 days"
	}
	for _, p := range []struct{ v, l string }{{"24h", "Last 24 hours"}, {"7d", "Last 7 days"}} {
		v.Periods = append(v.Periods, option{Value: p.v, Label: p.l, Selected: p.v == v.Period})
	}
	v.ErrorsHref = "/activity?" + url.Values{"view": {viewExecutions}, "outcome": {"error"}, "since": {v.Period}}.Encode()
	v.CallsHref = "/activity?" + url.Values{"view": {viewExecutions}, "since": {v.Period}}.Encode()
	for _, part := range parts {
		var err error
		switch part {
		case "start":
			err = h.dashboardStart(ctx, v)
		case "counts":
			err = h.dashboardCounts(ctx, v)
		case "chart":
			var s executions.Stats
			if s, err = h.d.Executions.Stats(ctx, v.Period); err == nil {
				v.Chart = buildChart(s, v.Period)
			}
		case "recent":
			v.Recent, err = h.recentActivity(ctx)
		case "health":
			v.Health = h.d.Dashboard.Status(ctx)
		}
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (h *handler) dashboardStart(ctx context.Context, v *dashView) error {
	p, err := h.d.Servers.List(ctx, servers.Filter{}, 1, "")
	if err != nil {
		return err
	}
	v.NoServers = len(p.Items) == 0
	v.LocalURL = cmp.Or(h.d.LocalMCPURL, defaultLocalMCPURL)
	v.ClaudeCmd = "claude mcp add --transport http mcpbox " + v.LocalURL
	return nil
}

func (h *handler) dashboardCounts(ctx context.Context, v *dashView) error {
	d, err := h.d.Dashboard.Dashboard(ctx, v.Period)
	if err != nil {
		return err
	}
	v.Counts, v.Stats = d.Counts, d.Executions
	p := d.Counts.Pending
	v.PendingAll = p.Tools + p.Network + p.Packages + p.Sources
	v.Rate, v.RateHigh = rateText(d.Executions)
	v.Avg, v.P95 = "—", "—"
	if d.Executions.Executions > 0 {
		v.Avg, v.P95 = durationText(d.Executions.AvgDurationMS), durationText(d.Executions.P95DurationMS)
	}
	return nil
}

// rateText is the error rate as a percentage ("30 %", "2.5 %"), "—"
// without calls; high reports a rate above 5 %.
func rateText(s executions.Stats) (text string, high bool) {
	if s.Executions == 0 {
		return "—", false
	}
	pct := math.Round(s.ErrorRate*1000) / 10
	return strconv.FormatFloat(pct, 'f', -1, 64) + " %", s.ErrorRate > highErrorRate
}

// buildChart lays out the buckets of executions_over_time: 25 hourly bars
// for 24 h, 29 six-hour bars for 7 d, failures stacked on successes, the
// tallest bar the full height.
func buildChart(s executions.Stats, period string) dashChart {
	c := dashChart{Width: len(s.OverTime) * chartBarStep, Height: chartHeight, BinLabel: "hour"}
	unit, span := "Calls per hour", "last 24 hours"
	timeFmt := "15:04 UTC"
	if period == "7d" {
		unit, span, c.BinLabel, timeFmt = "Calls per 6 hours", "last 7 days", "6 hours", "Mon 15:04 UTC"
	}
	var peak int64
	var peakAt time.Time
	for _, b := range s.OverTime {
		if b.Total > peak {
			peak, peakAt = b.Total, b.T
		}
	}
	c.Empty = peak == 0
	if c.Empty {
		c.Name = unit + ", " + span + ": no calls"
	} else {
		c.Name = fmt.Sprintf("%s, %s, peak %d at %s", unit, span, peak, peakAt.UTC().Format(timeFmt))
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
	for i, b := range s.OverTime {
		bar := dashBar{
			T: b.T, Total: b.Total, Failed: b.Failed,
			X: num(float64(i*chartBarStep) + 1), W: num(chartBarStep - 2),
			Label: fmt.Sprintf("%s: %d calls, %d failed", b.T.UTC().Format(timeFmt), b.Total, b.Failed),
		}
		if peak > 0 {
			okH := float64(b.Total-b.Failed) / float64(peak) * chartHeight
			failH := float64(b.Failed) / float64(peak) * chartHeight
			bar.OKY, bar.OKH = num(chartHeight-okH), num(okH)
			bar.FailY, bar.FailH = num(chartHeight-okH-failH), num(failH)
			bar.HasOK, bar.HasFail = okH > 0, failH > 0
		}
		c.Buckets = append(c.Buckets, bar)
	}
	if n := len(s.OverTime); n > 0 {
		c.First, c.Last = s.OverTime[0].T, s.OverTime[n-1].T
	}
	return c
}

// recentActivity merges the latest executions and audit entries by time
// (GET /executions?limit=10, GET /activity?category=audit&limit=10).
func (h *handler) recentActivity(ctx context.Context) ([]recentItem, error) {
	ex, err := h.d.Executions.List(ctx, executions.Filter{}, recentLimit, "")
	if err != nil {
		return nil, err
	}
	au, err := activity.List(ctx, h.d.Store, activity.Filter{Category: activity.Audit}, recentLimit, "")
	if err != nil {
		return nil, err
	}
	items := make([]recentItem, 0, len(ex.Items)+len(au.Items))
	for _, r := range ex.Items {
		items = append(items, recentItem{
			T: r.CreatedAt, Kind: "Execution", Text: r.ExposedName, Detail: outcomeText(r) + ", " + callerText(r),
			Href: "/activity/executions/" + r.ID.String(), Failure: !r.Success,
		})
	}
	for _, r := range au.Items {
		items = append(items, recentItem{
			T: r.CreatedAt, Kind: "Audit", Text: r.Message, Detail: actorText(r.Actor),
			Href: "/activity/audit/" + r.ID.String(),
		})
	}
	slices.SortStableFunc(items, func(a, b recentItem) int { return b.T.Compare(a.T) })
	return items[:min(len(items), recentLimit)], nil
}

// ChartURL is the chart region's URL, with its data table shown or not;
// outer asks for the whole region (the disclosure replaces it, so its own
// refresh URL keeps the table's state) rather than its content.
func (v *dashView) ChartURL(table, outer bool) string {
	u := "/ui/dashboard/chart?period=" + v.Period
	if table {
		u += "&table=1"
	}
	if outer {
		u += "&outer=1"
	}
	return u
}

// Degraded reports a sandbox running with degraded isolation.
func (v *dashView) Degraded() bool {
	return v.Health.Sandbox.Reachable && v.Health.Sandbox.Isolation == proto.IsolationDegraded
}
