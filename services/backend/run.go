package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
	"github.com/mcpbox/mcpbox/services/backend/internal/dashboard"
	"github.com/mcpbox/mcpbox/services/backend/internal/dbmetrics"
	"github.com/mcpbox/mcpbox/services/backend/internal/events"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/internalapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/manage"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/peer"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/remoteaccess"
	"github.com/mcpbox/mcpbox/services/backend/internal/retention"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
	"github.com/mcpbox/mcpbox/services/backend/internal/transfer"
)

const service = "backend"

// run is the backend's command line: serve (default), migrate, rekey,
// rotate-jwt-key, reset-password, config-doc, healthcheck. See main.go.
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	return lifecycle.Service{
		ConfigDoc: config.Doc, HealthAddr: config.ListenAddr, Serve: serve,
		Extra: map[string]lifecycle.Command{
			"migrate": migrate, "rekey": rekey, "rotate-jwt-key": rotateJWTKey,
			"reset-password": resetPasswordOnTerminal,
		},
	}.Run(ctx, args, environ, stdout)
}

// serve wires the backend by hand: config → logger → store (migrated) →
// registry → the main and internal listeners.
func serve(ctx context.Context, _, environ []string, stdout io.Writer) error {
	cfg, err := config.Load(lifecycle.Getenv(environ))
	if err != nil {
		return err
	}
	log := lifecycle.Start(stdout, service, cfg.Common, cfg, environ)
	store, err := openStore(ctx, log, cfg.Store)
	if err != nil {
		return err
	}
	defer store.Close() // runs last, after both listeners have drained
	if cfg.MigrateOnStart {
		if err := applyMigrations(ctx, store); err != nil {
			return err
		}
	}
	if err := checkSchema(ctx, log, store); err != nil {
		return err
	}

	keys, err := openKeyring(cfg.Store)
	if err != nil {
		return err
	}
	if err := checkKey(ctx, log, store, keys); err != nil {
		return err
	}
	authn, err := newAuth(ctx, log, cfg, store, keys)
	if err != nil {
		return err
	}
	proxies, err := peer.Parse(cfg.TrustedProxies)
	if err != nil {
		return err
	}

	reg := obs.NewRegistry(service)
	if err := authn.Instrument(reg); err != nil {
		return err
	}
	if err := reg.Register(dbmetrics.New(store)); err != nil {
		return fmt.Errorf("register the database metrics: %w", err)
	}
	// One HTTP metrics middleware for both listeners (operations.md §3.3).
	httpMetrics := obs.NewHTTPMetrics(reg, service, obs.LATBuckets())
	tokens := servicetoken.New(reg, service, string(cfg.Token), string(cfg.TokenPrevious))
	sandbox, err := sandboxclient.New(cfg.SandboxURL, string(cfg.SandboxToken), reg)
	if err != nil {
		return err
	}
	// Startup step 6: the dedicated LISTEN connection feeds the event streams
	// (backend.md §9.2); mcpbox_activity is received for the activity stream.
	hub := events.New(store, reg, log, events.Options{})
	// The same connection wakes this replica's activity streams (§14.2); a
	// reconnection wakes them too, since notifications may have been lost.
	broker := activity.NewBroker()
	opts := hub.Listen(activity.Channel, activity.ExecutionsChannel)
	onNotify, onUp := opts.OnNotify, opts.OnUp
	opts.OnNotify = func(n db.Notification) {
		broker.Handle(n)
		onNotify(n)
	}
	opts.OnUp = func() {
		broker.Notify()
		if onUp != nil {
			onUp()
		}
	}
	listener, err := store.Listen(ctx, opts)
	if err != nil {
		return err
	}
	defer listener.Close() // after both listeners have drained, before the store closes
	// Streams never end on their own: close them when the drain begins, after
	// MCPBOX_SHUTDOWN_DELAY (backend.md §3), so the drain does not wait on them.
	stopStreams := context.AfterFunc(ctx, func() {
		time.Sleep(cfg.ShutdownDelay)
		hub.Close()
	})
	defer stopStreams()
	// Startup step 6 also starts the retention job (backend.md §14.5).
	policySvc := policy.New(store)
	go retention.New(store, func(ctx context.Context) (int, error) {
		p, _, err := policySvc.Current(ctx)
		return p.LogRetentionDays, err
	}, reg, log).Run(ctx)
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
	health := httpserve.NewHealth(
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
		httpserve.Check{Name: "listen", Fn: listener.Ready},
	)
	return httpserve.Serve(ctx, log, health,
		httpserve.Shutdown{Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout},
		httpserve.Listener{
			Name: "main", Addr: cfg.Listen, WriteTimeout: config.WriteTimeout,
			Handler: httpserve.Handler(log, "main", obs.KeepValid, httpMetrics.Wrap(adminapi.Routes(adminapi.Deps{
				Log: log, Store: store, Activity: broker, Health: health, Auth: authn, Proxies: proxies,
				Policy: policySvc, Servers: serversSvc, Secrets: secretsSvc,
				Tools: toolsSvc, Approvals: approvalsSvc, Executions: executionsSvc,
				Dashboard:          dashboard.New(store, executionsSvc, sandbox).WithStatus(listener.Up, hub.Subscribers),
				TestRuns:           testRunsSvc,
				Sources:            sourcesSvc,
				Transfer:           transfer.New(transfer.Deps{Store: store, Keys: keys, Tools: toolsSvc, Version: buildinfo.Version}),
				RemoteAccess:       remoteaccess.New(remoteaccess.Deps{Store: store, Sandbox: sandbox}),
				OAuth:              oauthSvc,
				CookieAlwaysSecure: cfg.CookieSecure == "true", PublicOrigin: cfg.PublicOrigin,
			}))),
		},
		httpserve.Listener{
			// No write timeout: the event stream is long-lived; the long class
			// sets per-route deadlines.
			Name: "internal", Addr: cfg.InternalListen,
			Handler: httpserve.Handler(log, "internal", obs.KeepValid, httpMetrics.Wrap(internalapi.Routes(internalapi.Deps{
				Log: log, Health: health, Metrics: reg, Tokens: tokens, Events: hub, Policy: policySvc,
				Catalog: catalogSvc.CatalogHandler(), Plan: catalogSvc.PlanHandler(), Executions: executionsSvc.IngestHandler(),
				Manage: manageSvc.Handler(),
			}))),
		})
}

func openStore(ctx context.Context, log *slog.Logger, cfg config.Store) (*db.Store, error) {
	store, err := db.Open(ctx, string(cfg.DatabaseURL), db.WithMaxConns(int32(cfg.DBMaxConns)), db.WithLogger(log)) //nolint:gosec // DBMaxConns is validated to 2–1000
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return store, nil
}

// applyMigrations applies pending migrations; Store.Migrate refuses a
// database whose schema floor is above this binary.
func applyMigrations(ctx context.Context, store *db.Store) error {
	// Store.Migrate logs each migration it applies.
	if _, err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// checkSchema refuses a database whose floor is above this binary and warns
// when the database is ahead of it (operations.md §6.2).
func checkSchema(ctx context.Context, log *slog.Logger, store *db.Store) error {
	st, err := store.Schema(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if st.BelowFloor() {
		return &db.FloorError{Floor: st.Floor, Binary: st.Newest}
	}
	if st.Ahead() {
		log.Warn("database schema is ahead of this binary; run the newer release when you can",
			obs.KeyMigration, st.Current, obs.KeyCount, st.Newest)
	}
	return nil
}
