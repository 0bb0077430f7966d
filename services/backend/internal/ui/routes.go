package ui

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpbox/mcpbox/db"
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
)

// Deps is what the web UI serves with: the same service values as /api/v1
// (U1), so a UI action and its API twin run the same functions.
type Deps struct {
	Log       *slog.Logger
	Store     *db.Store // the live-event stream's reads (newest activity and execution seq)
	Auth      *auth.Service
	Policy    *policy.Service
	Approvals *approvals.Service
	// The services behind the pages (admin-ui.md §9), the same values as
	// /api/v1's.
	Servers      *servers.Service
	Secrets      *secrets.Service
	Tools        *tools.Service
	Executions   *executions.Service
	Dashboard    *dashboard.Service
	TestRuns     *testrun.Service
	Sources      *sources.Service
	Transfer     *transfer.Service
	RemoteAccess *remoteaccess.Service
	OAuth        *oauthflow.Service
	// Activity wakes the live-event streams on NOTIFY mcpbox_activity and
	// mcpbox_executions (the same broker as GET /api/v1/activity/stream).
	Activity *activity.Broker
	Proxies  peer.Proxies
	// CookieAlwaysSecure is MCPBOX_COOKIE_SECURE=true (else: Secure over HTTPS).
	CookieAlwaysSecure bool
	// PublicOrigin is MCPBOX_PUBLIC_ORIGIN ("" = the request's own origin).
	PublicOrigin string
	// LocalMCPURL is MCPBOX_LOCAL_MCP_URL, the MCP URL the dashboard's
	// getting-started card shows ("" = http://127.0.0.1:8002/mcp).
	LocalMCPURL string
	// WriteTimeout is the write deadline of a UI response (60 s when zero);
	// the event stream sets its own per write.
	WriteTimeout time.Duration
	// Heartbeat and Recheck override the event stream's 15 s heartbeat
	// comment and 5 s session re-check (tests); zero keeps them.
	Heartbeat, Recheck time.Duration
	// Client overrides app.js's timers (tests); zero values keep them.
	Client ClientTimers
}

// ClientTimers are the timers of app.js, rendered on <body> as data
// attributes so tests can shorten them.
type ClientTimers struct {
	// OfflineAfter is how long the event stream may be down before the live
	// indicator reads "Offline — retrying" (10 s).
	OfflineAfter time.Duration
	// FallbackTick is how often app.js dispatches every event type itself
	// while offline (30 s).
	FallbackTick time.Duration
}

// Defaults of Deps and ClientTimers.
const (
	defaultWrite        = 60 * time.Second
	defaultHeartbeat    = 15 * time.Second
	defaultRecheck      = 5 * time.Second
	defaultOfflineAfter = 10 * time.Second
	defaultFallbackTick = 30 * time.Second
)

// Access says what a route requires before its handler runs.
type Access int

// The access classes of the route table.
const (
	// Public routes check nothing (static files).
	Public Access = iota
	// PreSession routes (setup, login) are open to anyone; their POSTs carry
	// the token of the 10-minute pre-session cookie.
	PreSession
	// Session routes need a signed-in admin: without one a page answers 303
	// to /login?next= (HX-Redirect for htmx); their POSTs carry the
	// session's CSRF token.
	Session
	// Stream is the event stream: a signed-in admin, else 401.
	Stream
)

// Route is one entry of the UI's route table.
type Route struct {
	Method  string // GET or POST
	Pattern string // the path, in http.ServeMux syntax
	Access  Access
	// DuringSetup routes stay reachable while no admin exists; every other
	// page redirects to /setup then.
	DuringSetup bool
	// Twins are the /api/v1 operations whose service functions a mutation
	// calls ("POST /api/v1/auth/setup"), U1. Every non-GET route has one.
	Twins []string
	// MaxBody bounds the request body of a mutation (maxForm, 64 KiB, when
	// zero): the import form carries a whole export file.
	MaxBody int64
	h       handlerFunc
}

// handlerFunc is a UI handler: it writes a response or returns an error,
// which becomes the 500 page (logged once, with the request id).
type handlerFunc func(w http.ResponseWriter, r *http.Request, st *state) error

// routes is the UI's route table: every route and what guards it.
func (h *handler) routes() []Route {
	rs := []Route{
		{Method: http.MethodGet, Pattern: "/static/{file}", Access: Public, h: h.static},

		{Method: http.MethodGet, Pattern: "/setup", Access: PreSession, DuringSetup: true, h: h.setupShow},
		{
			Method: http.MethodPost, Pattern: "/setup", Access: PreSession, DuringSetup: true, h: h.setupAccount,
			Twins: []string{"POST /api/v1/auth/setup", "POST /api/v1/auth/login"},
		},
		{
			Method: http.MethodPost, Pattern: "/setup/security", Access: Session, h: h.setupSecurity,
			Twins: []string{"POST /api/v1/settings/security-policy/profile", "POST /api/v1/settings/onboarding-complete"},
		},
		{Method: http.MethodGet, Pattern: "/login", Access: PreSession, h: h.loginShow},
		{
			Method: http.MethodPost, Pattern: "/login", Access: PreSession, h: h.loginSubmit,
			Twins: []string{"POST /api/v1/auth/login"},
		},
		{
			Method: http.MethodPost, Pattern: "/logout", Access: Session, h: h.logout,
			Twins: []string{"POST /api/v1/auth/logout"},
		},

		{Method: http.MethodGet, Pattern: "/ui/events", Access: Stream, h: h.events},
		{Method: http.MethodGet, Pattern: "/ui/badge", Access: Session, h: h.badge},
	}
	// Each page area declares its own routes in its own file.
	for _, area := range [][]Route{
		h.dashboardRoutes(), h.serversRoutes(), h.toolsRoutes(), h.approvalsRoutes(),
		h.activityRoutes(), h.settingsRoutes(),
	} {
		rs = append(rs, area...)
	}
	return rs
}

// Table returns the UI's route table (method, pattern, access, twins)
// without handlers, for tests and documentation.
func Table() []Route {
	rs := (&handler{}).routes()
	for i := range rs {
		rs[i].h = nil
	}
	return rs
}

// Prefixes are the paths the main listener hands to the UI handler: every
// UI page, fragment and static file (admin-ui.md §3). Patterns ending in /
// are subtrees.
func Prefixes() []string {
	return []string{
		"/{$}", "/setup", "/setup/", "/login", "/logout", "/servers", "/servers/", "/tools/",
		"/approvals", "/activity", "/settings", "/remote-access", "/oauth/callback", "/ui/", "/static/",
	}
}

// handler holds the UI's dependencies and parsed templates.
type handler struct {
	d      Deps
	view   *renderer
	hub    *hub
	secure func(*http.Request) bool

	// adminExists is set once an admin account exists; it never goes back,
	// so the setup check stops querying then.
	adminExists atomic.Bool
	versionMu   sync.Mutex
	version     string
}

// Routes returns the web UI: every route of Table behind its guard, and a
// 404 page for any other path handed to it. It fails when a template,
// template function or static asset is missing, so a broken build stops at
// start rather than on the first request.
func Routes(d Deps) (http.Handler, error) {
	view, err := newRenderer()
	if err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	h := &handler{d: d, view: view, hub: newHub()}
	h.secure = func(r *http.Request) bool { return d.CookieAlwaysSecure || d.Proxies.HTTPS(r) }
	mux := http.NewServeMux()
	for _, rt := range h.routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, h.guard(rt))
	}
	// Any other path: the 404 page (signed in or not; nothing is checked,
	// nothing changes).
	mux.Handle("/", h.guard(Route{h: h.notFound}))
	return mux, nil
}
