package main

import (
	"context"
	"log/slog"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/proto/buildinfo"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// newAuth builds admin authentication (backend.md §7): the pinned Argon2id
// hasher, the JWT signing key (startup step 5) and the setup code, logged
// while no admin exists (step 7).
func newAuth(ctx context.Context, log *slog.Logger, cfg config.Config, store *db.Store, keys *seal.Keyring) (*auth.Service, error) {
	issuer := accesstoken.New(store, keys)
	if err := issuer.EnsureKey(ctx); err != nil {
		return nil, err
	}
	code := string(cfg.SetupCode)
	if code == "" {
		code = keys.SetupCode()
	}
	svc := auth.New(store, password.New(password.Pinned(), cfg.HashConcurrency), issuer, auth.Options{
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax, SetupCode: code, Version: buildinfo.Version,
	})
	st, err := svc.Status(ctx)
	if err != nil {
		return nil, err
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
	return svc, nil
}
