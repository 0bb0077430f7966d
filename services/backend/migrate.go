package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// migrate implements `backend migrate [up|status|check|down [--force]]`.
// It needs only the database URL and the encryption-key variables. `check`
// fails unless the schema is current and every key id a ciphertext carries
// is configured (backend.md §3).
func migrate(ctx context.Context, args, environ []string, stdout io.Writer) error {
	sub := "up"
	if len(args) > 0 {
		sub = args[0]
	}
	cfg, err := config.LoadMigrate(lifecycle.Getenv(environ))
	if err != nil {
		return err
	}
	log := lifecycle.Start(stdout, service, cfg.Common, cfg, environ)
	store, err := openStore(ctx, log, cfg.Store)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "up":
		return applyMigrations(ctx, store)
	case "status":
		st, err := store.MigrateStatus(ctx)
		if err != nil {
			return err
		}
		for _, m := range st {
			result := "pending"
			if m.Applied {
				result = "applied"
			}
			log.Info("migration status", obs.KeyMigration, m.Version, obs.KeyResult, result)
		}
		return nil
	case "check":
		st, err := store.Schema(ctx)
		if err != nil {
			return err
		}
		if st.BelowFloor() || st.Pending() {
			return fmt.Errorf("migrate check: schema at %d, floor %d, this binary needs %d", st.Current, st.Floor, st.Newest)
		}
		// Every key id a ciphertext carries must be configured (backend.md §3).
		keys, err := openKeyring(cfg.Store)
		if err != nil {
			return err
		}
		counts, err := ciphertextKeyIDs(ctx, store)
		if err != nil {
			return err
		}
		if err := unconfiguredKeyIDs(counts, keys); err != nil {
			return fmt.Errorf("migrate check: %w", err)
		}
		log.Info("migrate check passed", obs.KeyMigration, st.Current, obs.KeyKeyID, keys.CurrentID())
		return nil
	case "down":
		if !cfg.Dev() && !slices.Contains(args[1:], "--force") {
			return errors.New("migrate down: refused outside dev mode without --force; in production roll back by redeploying the previous release")
		}
		_, err := store.MigrateDown(ctx, 0) // logs each migration it rolls back
		return err
	}
	return fmt.Errorf("unknown migrate command %q (want up, status, check or down)", sub)
}

// maintenance is what the maintenance commands (rekey, rotate-jwt-key,
// reset-password) work with: like `backend migrate` they need only the
// database URL and the encryption-key variables.
type maintenance struct {
	log   *slog.Logger
	store *db.Store
	keys  *seal.Keyring
}

// openMaintenance loads the store configuration, starts the logger, opens
// the database and the keyring, and refuses a schema this binary cannot
// work with (below the floor, or migrations pending).
func openMaintenance(ctx context.Context, environ []string, stdout io.Writer) (*maintenance, error) {
	cfg, err := config.LoadMigrate(lifecycle.Getenv(environ))
	if err != nil {
		return nil, err
	}
	log := lifecycle.Start(stdout, service, cfg.Common, cfg, environ)
	keys, err := openKeyring(cfg.Store)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, log, cfg.Store)
	if err != nil {
		return nil, err
	}
	st, err := store.Schema(ctx)
	switch {
	case err != nil:
		err = fmt.Errorf("read schema version: %w", err)
	case st.BelowFloor():
		err = &db.FloorError{Floor: st.Floor, Binary: st.Newest}
	case st.Pending():
		err = fmt.Errorf("the schema is at migration %d, this binary needs %d: run `backend migrate` first", st.Current, st.Newest)
	}
	if err != nil {
		store.Close()
		return nil, err
	}
	return &maintenance{log: log, store: store, keys: keys}, nil
}

// Close closes the database.
func (m *maintenance) Close() { m.store.Close() }
