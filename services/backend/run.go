package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
	"github.com/mcpbox/mcpbox/services/backend/internal/wiring"
)

const service = wiring.Service

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

// serve starts the backend: config → logger → store (migrated, checked) →
// keyring → the wiring (services, both handlers) → the main and internal
// listeners.
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
	b, err := wiring.New(ctx, wiring.Options{Config: cfg, Store: store, Keys: keys, Log: log})
	if err != nil {
		return err
	}
	defer b.Close() // after both listeners have drained, before the store closes
	// Streams never end on their own: close them when the drain begins, after
	// MCPBOX_SHUTDOWN_DELAY (backend.md §3), so the drain does not wait on them.
	stopStreams := context.AfterFunc(ctx, func() {
		time.Sleep(cfg.ShutdownDelay)
		b.CloseStreams()
	})
	defer stopStreams()
	return httpserve.Serve(ctx, log, b.Health,
		httpserve.Shutdown{Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout},
		httpserve.Listener{Name: "main", Addr: cfg.Listen, WriteTimeout: config.WriteTimeout, Handler: b.Main},
		// No write timeout: the event stream is long-lived; the long class
		// sets per-route deadlines.
		httpserve.Listener{Name: "internal", Addr: cfg.InternalListen, Handler: b.Internal},
	)
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
