package adminapi

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
)

// registerDashboard adds GET /dashboard, GET /system/status and GET
// /packages (backend.md §8.2, §14.3).
func (h *handlers) registerDashboard(v1 *echo.Group) {
	signedIn := h.authenticate
	v1.GET("/dashboard", h.dashboard, signedIn)
	v1.GET("/system/status", h.systemStatus, signedIn)
	v1.GET("/packages", h.packages, signedIn)
}

// dashboardJSON is GET /dashboard (backend.md §14.3).
type dashboardJSON struct {
	Period             string                `json:"period"`
	Stats              dashboardStatsJSON    `json:"stats"`
	ExecutionsOverTime []executionBucketJSON `json:"executions_over_time"`
	TopTools           []topToolJSON         `json:"top_tools"`
	RecentFailures     []recentFailureJSON   `json:"recent_failures"`
}

type dashboardStatsJSON struct {
	Servers          int64       `json:"servers"`
	ServersRunning   int64       `json:"servers_running"`
	Tools            int64       `json:"tools"`
	ToolsLive        int64       `json:"tools_live"`
	Pending          pendingJSON `json:"pending"`
	Executions       int64       `json:"executions"`
	ExecutionsFailed int64       `json:"executions_failed"`
	ErrorRate        float64     `json:"error_rate"`
	AvgDurationMS    int64       `json:"avg_duration_ms"`
	P95DurationMS    int64       `json:"p95_duration_ms"`
	ExecutionsLocal  int64       `json:"executions_local"`
	ExecutionsRemote int64       `json:"executions_remote"`
	TestRuns         int64       `json:"test_runs"`
}

type pendingJSON struct {
	Tools    int64 `json:"tools"`
	Network  int64 `json:"network"`
	Packages int64 `json:"packages"`
	Sources  int64 `json:"sources"`
}

type topToolJSON struct {
	ToolID        *uuid.UUID `json:"tool_id"`
	ExposedName   string     `json:"exposed_name"`
	Executions    int64      `json:"executions"`
	Failed        int64      `json:"failed"`
	AvgDurationMS int64      `json:"avg_duration_ms"`
}

type recentFailureJSON struct {
	ID          uuid.UUID `json:"id"`
	ExposedName string    `json:"exposed_name"`
	Error       string    `json:"error"`
	CreatedAt   timestamp `json:"created_at"`
}

// systemStatusJSON is GET /system/status (backend.md §8.2). db and listen
// are booleans: the database answered, the replica's LISTEN connection is
// up. revisions is null when the database did not answer.
type systemStatusJSON struct {
	Version          string            `json:"version"`
	DB               bool              `json:"db"`
	Listen           bool              `json:"listen"`
	Sandbox          sandboxStatusJSON `json:"sandbox"`
	EventSubscribers int               `json:"event_subscribers"`
	Revisions        *revisionsJSON    `json:"revisions"`
}

// sandboxStatusJSON is the sandbox's /readyz (sandbox.md §4.8). When the
// sandbox is not reachable, latency_ms and isolation are null, the counts
// 0, and error says what happened (the only field beyond §8.2's list).
type sandboxStatusJSON struct {
	Reachable bool             `json:"reachable"`
	LatencyMS *int64           `json:"latency_ms"`
	Ready     bool             `json:"ready"`
	Warm      int              `json:"warm"`
	Busy      int              `json:"busy"`
	Starting  int              `json:"starting"`
	Queued    int              `json:"queued"`
	Isolation *proto.Isolation `json:"isolation"`
	Error     string           `json:"error,omitempty"`
}

type revisionsJSON struct {
	Catalog int64 `json:"catalog"`
	Policy  int64 `json:"policy"`
}

// packagesJSON is GET /packages (backend.md §8.2). The row's "503
// sandbox_unavailable for catalogue only" is read as: the sandbox's state
// affects the catalogue only, so the route answers 200 with the three sets
// the backend holds and, when the sandbox does not answer, catalogue null
// and catalogue_error the error body the sandbox failure would have had
// (code sandbox_unavailable, busy or sandbox_error). Only a database
// failure fails the route.
type packagesJSON struct {
	Default        []string        `json:"default"`
	Approvable     []string        `json:"approvable"`
	Approved       []string        `json:"approved"`
	Catalogue      []proto.Package `json:"catalogue"`
	CatalogueError *proto.Error    `json:"catalogue_error"`
}

func (h *handlers) dashboard(c *echo.Context) error {
	d, err := h.d.Dashboard.Dashboard(c.Request().Context(), c.QueryParam("period"))
	if err != nil {
		if e := ruleFailure(err); e != nil {
			return e
		}
		return err
	}
	st := d.Executions
	out := dashboardJSON{
		Period: st.Period,
		Stats: dashboardStatsJSON{
			Servers: d.Counts.Servers, ServersRunning: d.Counts.ServersRunning, Tools: d.Counts.Tools,
			ToolsLive: d.Counts.ToolsLive,
			Pending: pendingJSON{
				Tools: d.Counts.Pending.Tools, Network: d.Counts.Pending.Network,
				Packages: d.Counts.Pending.Packages, Sources: d.Counts.Pending.Sources,
			},
			Executions: st.Executions, ExecutionsFailed: st.ExecutionsFailed, ErrorRate: st.ErrorRate,
			AvgDurationMS: st.AvgDurationMS, P95DurationMS: st.P95DurationMS, ExecutionsLocal: st.ExecutionsLocal,
			ExecutionsRemote: st.ExecutionsRemote, TestRuns: st.TestRuns,
		},
		ExecutionsOverTime: make([]executionBucketJSON, len(st.OverTime)),
		TopTools:           make([]topToolJSON, len(d.TopTools)),
		RecentFailures:     make([]recentFailureJSON, len(d.RecentFailures)),
	}
	for i, b := range st.OverTime {
		out.ExecutionsOverTime[i] = executionBucketJSON{T: timestamp(b.T), Total: b.Total, Failed: b.Failed}
	}
	for i, t := range d.TopTools {
		out.TopTools[i] = topToolJSON{
			ToolID: t.ToolID, ExposedName: t.ExposedName, Executions: t.Executions,
			Failed: t.Failed, AvgDurationMS: t.AvgDurationMS,
		}
	}
	for i, f := range d.RecentFailures {
		out.RecentFailures[i] = recentFailureJSON{ID: f.ID, ExposedName: f.ExposedName, Error: f.Error, CreatedAt: timestamp(f.CreatedAt)}
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) systemStatus(c *echo.Context) error {
	s := h.d.Dashboard.Status(c.Request().Context())
	sb := s.Sandbox
	out := systemStatusJSON{
		Version: s.Version, DB: s.DB, Listen: s.Listen, EventSubscribers: s.EventSubscribers,
		Sandbox: sandboxStatusJSON{
			Reachable: sb.Reachable, Ready: sb.Ready, Warm: sb.Warm, Busy: sb.Busy,
			Starting: sb.Starting, Queued: sb.Queued, Error: sb.Problem,
		},
	}
	if sb.Reachable {
		ms, iso := sb.Latency.Milliseconds(), sb.Isolation
		out.Sandbox.LatencyMS, out.Sandbox.Isolation = &ms, &iso
	}
	if s.Revisions != nil {
		out.Revisions = &revisionsJSON{Catalog: s.Revisions.Catalog, Policy: s.Revisions.Policy}
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) packages(c *echo.Context) error {
	p, err := h.d.Dashboard.Packages(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, packagesJSON{
		Default: p.Default, Approvable: p.Approvable, Approved: p.Approved,
		Catalogue: p.Catalogue, CatalogueError: p.CatalogueError,
	})
}
