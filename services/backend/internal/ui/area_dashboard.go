package ui

import (
	"html/template"
	"net/http"
	"strings"
)

// Dashboard (admin-ui.md §11.1): the area's routes (pages, fragments and mutations, each mutation
// with its /api/v1 twins) and its template functions. The dashboard has no
// mutation: its page and its regions are GETs.
//
// Decisions:
//   - Five live regions (start, counts, chart, recent, health), each
//     GET /ui/dashboard/<region>: the region's content for htmx (swapped
//     inside the region, so its element and htmx's timers stay), the whole
//     region with outer=1, the whole dashboard without htmx (U7).
//   - htmx drops an event that arrives inside a throttle window and lets one
//     element handle an event once, so each region is two elements: the
//     section re-fetches at once (throttle:5s) and its wrapper 5 s after the
//     last event (delay:5s); an update is never lost and a burst costs at
//     most two fetches. Recent activity listens to activity only (approvals
//     write audit rows, which are activity events). Health also polls on the
//     shell's fallback tick (30 s; shortened in tests), marked
//     X-Background-Refresh.
//   - The chart's geometry is computed in Go (buildChart): rects with x, y,
//     width and height attributes and CSS classes for the fill, no style
//     attribute; the SVG has role=img and a name naming the peak; "Show data
//     as table" is a server-driven disclosure (aria-expanded, table=1 in the
//     region's URL so refreshes keep it open).
//   - The local MCP URL is MCPBOX_LOCAL_MCP_URL (Deps.LocalMCPURL).

func (h *handler) dashboardRoutes() []Route {
	rs := []Route{{Method: http.MethodGet, Pattern: "/{$}", Access: Session, h: h.dashboardShow}}
	// One fragment route per region (admin-ui.md §11.1's live regions).
	for _, region := range dashboardRegions {
		rs = append(rs, Route{
			Method: http.MethodGet, Pattern: "/ui/dashboard/" + region, Access: Session,
			h: func(w http.ResponseWriter, r *http.Request, st *state) error {
				return h.dashboardRegion(w, r, st, region)
			},
		})
	}
	return rs
}

// dashboardFuncs are the area's template functions (merged into every page's set).
func dashboardFuncs() template.FuncMap {
	return template.FuncMap{
		"dashboardTrigger": dashboardTrigger,
	}
}

// dashboardTrigger is an hx-trigger value: each event of events (space
// separated) from <body> with the modifier ("throttle:5s", "delay:5s").
func dashboardTrigger(events, modifier string) string {
	var out []string
	for _, e := range strings.Fields(events) {
		out = append(out, e+" from:body "+modifier)
	}
	return strings.Join(out, ", ")
}
