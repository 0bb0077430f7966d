// Package adminapi is the backend's main listener: the web UI, the admin
// REST API /api/v1 and health. /internal/* and /metrics answer 404 here, with
// or without a token, so exposing the admin UI never exposes the gateway's
// API or the metrics (backend.md §3).
//
// /api/v1 is served by echo v5 with one error shape (backend.md §15.1),
// strict JSON bodies, the security headers of §7.5 and admin authentication
// (package auth): a Bearer access token, or the session cookie plus the CSRF
// token on every mutation. An unknown /api/v1 path answers 401 to a caller
// that is not signed in (so routes cannot be enumerated) and 404 not_found
// to an admin. The web UI (admin-ui.md, package ui) serves its own paths
// (ui.Prefixes) with the same services.
package adminapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
	"github.com/mcpbox/mcpbox/services/backend/internal/dashboard"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/peer"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/remoteaccess"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
	"github.com/mcpbox/mcpbox/services/backend/internal/transfer"
	"github.com/mcpbox/mcpbox/services/backend/internal/ui"
)

// Deps is what the main listener serves with.
type Deps struct {
	Log   *slog.Logger
	Store *db.Store // read-only lists that need no service (activity)
	// Activity wakes the live activity streams on NOTIFY mcpbox_activity.
	Activity *activity.Broker
	// StreamPing and StreamRecheck override the stream's 15 s ping and 60 s
	// session re-check (tests); zero keeps them.
	StreamPing, StreamRecheck time.Duration
	Health                    *httpserve.Health
	Auth                      *auth.Service
	Policy                    *policy.Service
	Servers                   *servers.Service
	Secrets                   *secrets.Service
	Tools                     *tools.Service
	Approvals                 *approvals.Service
	Executions                *executions.Service
	Dashboard                 *dashboard.Service
	TestRuns                  *testrun.Service
	Sources                   *sources.Service
	Transfer                  *transfer.Service
	RemoteAccess              *remoteaccess.Service
	OAuth                     *oauthflow.Service
	// WriteTimeout and LongWriteTimeout override the default (60 s) and
	// long-class (330 s) write deadlines of backend.md §3 (tests); zero
	// keeps them.
	WriteTimeout, LongWriteTimeout time.Duration
	Proxies                        peer.Proxies
	// CookieAlwaysSecure is MCPBOX_COOKIE_SECURE=true (else: Secure over HTTPS).
	CookieAlwaysSecure bool
	// PublicOrigin is MCPBOX_PUBLIC_ORIGIN ("" = the request's own origin).
	PublicOrigin string
	// UIClient overrides the web UI's app.js timers (tests: the offline
	// indicator and the fallback tick); zero keeps them.
	UIClient ui.ClientTimers
	// LocalMCPURL is MCPBOX_LOCAL_MCP_URL, the MCP URL the dashboard shows
	// ("" = the gateway's default on this machine).
	LocalMCPURL string
}

// Routes lists every route of the main listener. It fails when the web
// UI cannot start (a missing template, template function or static asset).
func Routes(d Deps) (http.Handler, error) {
	web, err := ui.Routes(ui.Deps{
		Log: d.Log, Store: d.Store, Auth: d.Auth, Policy: d.Policy, Approvals: d.Approvals, Activity: d.Activity,
		Servers: d.Servers, Secrets: d.Secrets, Tools: d.Tools, Executions: d.Executions, Dashboard: d.Dashboard,
		TestRuns: d.TestRuns, Sources: d.Sources, Transfer: d.Transfer, RemoteAccess: d.RemoteAccess, OAuth: d.OAuth,
		Proxies: d.Proxies, CookieAlwaysSecure: d.CookieAlwaysSecure, PublicOrigin: d.PublicOrigin,
		WriteTimeout: d.WriteTimeout, Heartbeat: d.StreamPing, Recheck: d.StreamRecheck, Client: d.UIClient,
		LocalMCPURL: d.LocalMCPURL,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	httpserve.Ops(mux, d.Health, nil)
	mux.Handle(proto.PathAdminAPIPrefix+"/", securityHeaders(d.Proxies.HTTPS, newAPI(d)))
	for _, p := range ui.Prefixes() {
		mux.Handle(p, web)
	}
	mux.HandleFunc(proto.PathInternalPrefix, httpserve.NotFound)
	mux.HandleFunc(proto.PathMetrics, httpserve.NotFound)
	// Any other path is the UI's 404 page (with the request id and a link
	// to the dashboard, admin-ui.md §3).
	mux.Handle("/", web)
	return mux, nil
}

// newAPI is /api/v1.
func newAPI(d Deps) *echo.Echo {
	h := &handlers{d: d}
	e := echo.NewWithConfig(echo.Config{
		Logger:           d.Log,
		HTTPErrorHandler: errorHandler(d.Log),
		// An unknown path: 404 once signed in. A known path with another
		// method is 405 (the router's default).
		Router: echo.NewRouter(echo.RouterConfig{NotFoundHandler: h.authenticate(noRoute)}),
	})
	e.Pre(h.writeDeadline)
	e.Use(routePattern)
	v1 := e.Group(proto.PathAdminAPIPrefix)
	a := v1.Group("/auth")
	a.GET("/status", h.status)
	a.POST("/setup", h.setup)
	a.POST("/login", h.login)
	a.POST("/refresh", h.refresh)
	signedIn := h.authenticate
	a.POST("/logout", h.logout, signedIn)
	a.POST("/password", h.password, signedIn)
	a.GET("/me", h.me, signedIn)
	a.GET("/sessions", h.sessions, signedIn)
	a.DELETE("/sessions/:id", h.endSession, signedIn)
	a.POST("/sessions/revoke-all", h.endAllSessions, signedIn)
	h.registerPolicy(v1)
	h.registerServers(v1)
	h.registerSecrets(v1)
	h.registerTools(v1)
	h.registerApprovals(v1)
	h.registerExecutions(v1)
	h.registerActivity(v1)
	h.registerDashboard(v1)
	h.registerTestRuns(v1)
	h.registerSources(v1)
	h.registerTransfer(v1)
	h.registerRemoteAccess(v1)
	h.registerOAuth(v1)
	return e
}

// routePattern makes the echo route that matched ("GET
// /api/v1/tools/:id/test") the request's Pattern, or clears it when none did
// (an unknown path, or a known path with another method). echo routes the
// very *http.Request the listener's mux routed to "/api/v1/", so the access
// log and the HTTP metrics wrapped around the mux label the request by its
// API route, or as unmatched, never by its raw path (operations.md §3.3).
func routePattern(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		r.Pattern = ""
		if ri := c.RouteInfo(); ri.Path != "" && ri.Method != echo.RouteAny && ri.Method != echo.RouteNotFound {
			r.Pattern = ri.Method + " " + ri.Path
		}
		return next(c)
	}
}

func noRoute(c *echo.Context) error {
	r := c.Request()
	return fail(http.StatusNotFound, proto.CodeNotFound, "No API route %s %s; the routes are listed in backend.md §8.2.", r.Method, r.URL.Path)
}
