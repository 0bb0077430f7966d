// Package wiring builds the backend's services and the handlers of its two
// listeners, once, for the binary (run.go) and for tests that need the real
// backend (the browser harness, internal/ui/browsertest): there is one
// wiring, so a test serves exactly what production serves.
//
// The caller owns what surrounds the handlers: the configuration, the store
// (opened, migrated and checked: startup steps 1–4 of backend.md §3), the
// keyring, the listeners and the shutdown sequence. New does startup steps 5
// and 6 (the JWT signing key, the setup code, the LISTEN connection and the
// retention job) and returns the main listener's handler (adminapi: the UI,
// /api/v1 and health) and the internal listener's (internalapi: /internal/v1,
// /metrics and health), each already wrapped in the request-id, access-log
// and HTTP-metrics middleware (operations.md §3.3).
//
// Tests change what production never changes through Options: a fast
// password hasher, a registry of their own, auth's clock, and the Main and
// Internal hooks, which adjust the listeners' dependencies (timers, write
// deadlines) just before their handlers are built.
package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
	"github.com/mcpbox/mcpbox/services/backend/internal/dashboard"
	"github.com/mcpbox/mcpbox/services/backend/internal/dbmetrics"
	"github.com/mcpbox/mcpbox/services/backend/internal/events"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/internalapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/manage"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
	"github.com/mcpbox/mcpbox/services/backend/internal/peer"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/remoteaccess"
	"github.com/mcpbox/mcpbox/services/backend/internal/retention"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
	"github.com/mcpbox/mcpbox/services/backend/internal/transfer"
)

// Service is the name the backend's metrics and logs carry.
const Service = "backend"

// Options is what New builds the backend from.
type Options struct {
	// Config is the effective configuration. Its Store fields are not read:
	// Store and Keys are given.
	Config config.Config
	// Store is the opened, migrated and checked database.
	Store *db.Store
	// Keys is the keyring, its key check passed (startup step 4).
	Keys *seal.Keyring
	Log  *slog.Logger
	// Registry receives every metric of the backend and is served on the
	// internal listener's /metrics; nil: a new obs.NewRegistry(Service).
	Registry *prometheus.Registry
	// Hasher hashes admin passwords; nil: the pinned Argon2id parameters
	// with Config.HashConcurrency (tests pass password.Fast()).
	Hasher auth.Hasher
	// Sandbox is the sandbox client; nil: one for Config.SandboxURL with
	// Config.SandboxToken.
	Sandbox *sandboxclient.Client
	// Events tunes the gateway event streams (zero: their defaults).
	Events events.Options
	// Now is admin authentication's clock (session lifetimes, login
	// throttling); nil: time.Now. Tests move it forward instead of waiting.
	Now func() time.Time
	// Main and Internal, when set, adjust the listeners' dependencies just
	// before their handlers are built (tests: timers, write deadlines).
	Main     func(*adminapi.Deps)
	Internal func(*internalapi.Deps)
}

// Backend is a wired backend: the two listeners' handlers and what startup
// reporting and shutdown need.
type Backend struct {
	// Main serves the main listener (Config.Listen): the web UI, /api/v1,
	// health. Internal serves the internal listener (Config.InternalListen):
	// /internal/v1, /metrics, health. Both carry the request-id, access-log
	// and HTTP-metrics middleware.
	Main, Internal http.Handler
	// Health is the readiness of both listeners (database, schema, LISTEN);
	// httpserve.Serve marks it draining at shutdown.
	Health *httpserve.Health
	// Registry holds every metric of this backend.
	Registry *prometheus.Registry
	// SetupCode is the first-run setup code (Config.SetupCode, else derived
	// from the encryption key; backend.md §7.1).
	SetupCode string

	hub      *events.Hub
	listener *db.Listener
}

// CloseStreams ends every open gateway event stream (they never end on
// their own); call it when the drain begins, so the drain does not wait on
// them.
func (b *Backend) CloseStreams() { b.hub.Close() }

// Close closes the LISTEN connection; call it after both listeners have
// drained and before the store closes.
func (b *Backend) Close() { b.listener.Close() }

// New builds the services and both handlers. The retention job and the
// LISTEN connection run until ctx ends (the connection until Close).
func New(ctx context.Context, o Options) (*Backend, error) {
	cfg, store, keys, log := o.Config, o.Store, o.Keys, o.Log
	reg := o.Registry
	if reg == nil {
		reg = obs.NewRegistry(Service)
	}
	hasher := o.Hasher
	if hasher == nil {
		hasher = password.New(password.Pinned(), cfg.HashConcurrency)
	}
	authn, setupCode, err := newAuth(ctx, log, cfg, store, keys, hasher, o.Now)
	if err != nil {
		return nil, err
	}
	proxies, err := peer.Parse(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if err := authn.Instrument(reg); err != nil {
		return nil, err
	}
	if err := reg.Register(dbmetrics.New(store)); err != nil {
		return nil, fmt.Errorf("register the database metrics: %w", err)
	}
	// One HTTP metrics middleware for both listeners (operations.md §3.3).
	httpMetrics := obs.NewHTTPMetrics(reg, Service, obs.LATBuckets())
	tokens := servicetoken.New(reg, Service, string(cfg.Token), string(cfg.TokenPrevious))
	sandbox := o.Sandbox
	if sandbox == nil {
		if sandbox, err = sandboxclient.New(cfg.SandboxURL, string(cfg.SandboxToken), reg); err != nil {
			return nil, err
		}
	}
	// Startup step 6: the dedicated LISTEN connection feeds the event streams
	// (backend.md §9.2); mcpbox_activity is received for the activity stream.
	hub := events.New(store, reg, log, o.Events)
	// The same connection wakes this replica's activity streams (§14.2); a
	// reconnection wakes them too, since notifications may have been lost.
	broker := activity.NewBroker()
	listenOpts := hub.Listen(activity.Channel, activity.ExecutionsChannel)
	onNotify, onUp := listenOpts.OnNotify, listenOpts.OnUp
	listenOpts.OnNotify = func(n db.Notification) {
		broker.Handle(n)
		onNotify(n)
	}
	listenOpts.OnUp = func() {
		broker.Notify()
		if onUp != nil {
			onUp()
		}
	}
	listener, err := store.Listen(ctx, listenOpts)
	if err != nil {
		return nil, err
	}
	b := &Backend{Registry: reg, SetupCode: setupCode, hub: hub, listener: listener}
	if err := b.build(ctx, o, buildDeps{
		cfg: cfg, store: store, keys: keys, log: log, reg: reg, authn: authn, proxies: proxies,
		tokens: tokens, sandbox: sandbox, hub: hub, broker: broker, listener: listener, httpMetrics: httpMetrics,
	}); err != nil {
		listener.Close()
		return nil, err
	}
	return b, nil
}

// buildDeps is what New has made before the domain services.
type buildDeps struct {
	cfg         config.Config
	store       *db.Store
	keys        *seal.Keyring
	log         *slog.Logger
	reg         *prometheus.Registry
	authn       *auth.Service
	proxies     peer.Proxies
	tokens      *servicetoken.Checker
	sandbox     *sandboxclient.Client
	hub         *events.Hub
	broker      *activity.Broker
	listener    *db.Listener
	httpMetrics *obs.HTTPMetrics
}

// build makes the domain services, health and both handlers, then starts
// the retention job (startup step 6, backend.md §14.5).
func (b *Backend) build(ctx context.Context, o Options, d buildDeps) error {
	cfg, store, keys, log, reg, sandbox := d.cfg, d.store, d.keys, d.log, d.reg, d.sandbox
	policySvc := policy.New(store)
	secretsSvc := secrets.New(store, keys)
	executionsSvc := executions.New(store, secretsSvc)
	if err := executionsSvc.Instrument(reg, log); err != nil {
		return err
	}
	oauthSvc := oauthflow.New(oauthflow.Deps{Store: store, Sandbox: sandbox, Keys: keys, PublicOrigin: cfg.PublicOrigin})
	catalogSvc := catalog.New(store, secretsSvc, policySvc).WithLogger(log).WithOAuth(oauthSvc)
	serversSvc, toolsSvc, approvalsSvc := servers.New(store), tools.New(store, sandbox), approvals.New(store)
	testRunsSvc := testrun.New(store, sandbox, catalogSvc, secretsSvc, policySvc, executionsSvc, cfg.TestRunConc)
	sourcesSvc := sources.New(sources.Deps{
		Store: store, Sandbox: sandbox, Secrets: secretsSvc, Policy: policySvc, Tools: toolsSvc, Approvals: approvalsSvc,
		OAuthTokens: oauthSvc, Logger: log,
	})
	if err := approvalsSvc.Instrument(reg); err != nil {
		return err
	}
	manageSvc := manage.New(manage.Deps{
		Store: store, Policy: policySvc, Servers: serversSvc, Tools: toolsSvc, Secrets: secretsSvc,
		Approvals: approvalsSvc, TestRuns: testRunsSvc, Executions: executionsSvc, Sources: sourcesSvc, Logger: log,
	})
	if err := manageSvc.Instrument(reg); err != nil {
		return err
	}
	b.Health = httpserve.NewHealth(
		httpserve.Check{Name: "database", Fn: store.Ping},
		httpserve.Check{Name: "schema", Fn: func(ctx context.Context) error {
			st, err := store.Schema(ctx)
			if err != nil {
				return errors.New("schema version unreadable")
			}
			if st.Pending() {
				return fmt.Errorf("schema at migration %d, this binary needs %d; run `backend migrate`", st.Current, st.Newest)
			}
			return nil
		}},
		httpserve.Check{Name: "listen", Fn: d.listener.Ready},
	)

	mainDeps := adminapi.Deps{
		Log: log, Store: store, Activity: d.broker, Health: b.Health, Auth: d.authn, Proxies: d.proxies,
		Policy: policySvc, Servers: serversSvc, Secrets: secretsSvc,
		Tools: toolsSvc, Approvals: approvalsSvc, Executions: executionsSvc,
		Dashboard:          dashboard.New(store, executionsSvc, sandbox).WithStatus(d.listener.Up, d.hub.Subscribers),
		TestRuns:           testRunsSvc,
		Sources:            sourcesSvc,
		Transfer:           transfer.New(transfer.Deps{Store: store, Keys: keys, Tools: toolsSvc, Version: buildinfo.Version}),
		RemoteAccess:       remoteaccess.New(remoteaccess.Deps{Store: store, Sandbox: sandbox}),
		OAuth:              oauthSvc,
		CookieAlwaysSecure: cfg.CookieSecure == "true", PublicOrigin: cfg.PublicOrigin, LocalMCPURL: cfg.LocalMCPURL,
	}
	if o.Main != nil {
		o.Main(&mainDeps)
	}
	mainRoutes, err := mainHandler(mainDeps)
	if err != nil {
		return err
	}
	internalDeps := internalapi.Deps{
		Log: log, Health: b.Health, Metrics: reg, Tokens: d.tokens, Events: d.hub, Policy: policySvc,
		Catalog: catalogSvc.CatalogHandler(), Plan: catalogSvc.PlanHandler(), Executions: executionsSvc.IngestHandler(),
		Manage: manageSvc.Handler(),
	}
	if o.Internal != nil {
		o.Internal(&internalDeps)
	}
	b.Main = httpserve.Handler(log, "main", obs.KeepValid, d.httpMetrics.Wrap(mainRoutes))
	b.Internal = httpserve.Handler(log, "internal", obs.KeepValid, d.httpMetrics.Wrap(internalapi.Routes(internalDeps)))

	go retention.New(store, func(ctx context.Context) (int, error) {
		p, _, err := policySvc.Current(ctx)
		return p.LogRetentionDays, err
	}, reg, log).Run(ctx)
	return nil
}

// mainHandler is the main listener's route table; the one place that knows
// adminapi.Routes' signature.
func mainHandler(d adminapi.Deps) (http.Handler, error) {
	return adminapi.Routes(d)
}

// newAuth builds admin authentication (backend.md §7): the password hasher,
// the JWT signing key (startup step 5) and the setup code, logged while no
// admin exists (step 7).
func newAuth(ctx context.Context, log *slog.Logger, cfg config.Config, store *db.Store, keys *seal.Keyring, hasher auth.Hasher, now func() time.Time) (*auth.Service, string, error) {
	issuer := accesstoken.New(store, keys)
	if err := issuer.EnsureKey(ctx); err != nil {
		return nil, "", err
	}
	code := string(cfg.SetupCode)
	if code == "" {
		code = keys.SetupCode()
	}
	svc := auth.New(store, hasher, issuer, auth.Options{
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax, SetupCode: code, Version: buildinfo.Version, Now: now,
	})
	st, err := svc.Status(ctx)
	if err != nil {
		return nil, "", err
	}
	switch {
	case !st.SetupRequired:
	case cfg.SetupCode != "":
		// A configured code is a secret like any other: never logged.
		log.WarnContext(ctx, "no admin account yet: open the web UI and enter MCPBOX_SETUP_CODE")
	default:
		// The derived code is meant to be read from the log (backend.md §7.1).
		log.WarnContext(ctx, "no admin account yet: open the web UI and enter the setup code "+code)
	}
	return svc, code, nil
}
