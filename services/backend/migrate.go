package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
)

// migrate implements `backend migrate [up|status|check|down [--force]]`.
// It needs only the database URL and the encryption-key variables.
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
		log.Info("migrate check passed", obs.KeyMigration, st.Current)
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
