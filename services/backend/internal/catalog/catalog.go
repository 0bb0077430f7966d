// Package catalog is the gateway's catalog snapshot and call plans
// (backend.md §9.3, §9.4).
//
// The catalog is one REPEATABLE READ snapshot of every tool: the live ones
// (an approved version, enabled, the server running and, for an external
// tool, a usable source) with their approved version and pinned hash, and
// every other one under withheld with the first reason that applies. A plan
// is served only for the approved version of a live tool; the version's
// hash is recomputed with proto/canon on every read and a mismatch is
// treated as corruption (§6.4): 500 and an error activity row.
package catalog

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

// Service builds catalog snapshots and plans.
type Service struct {
	store   *db.Store
	secrets *secrets.Service
	policy  *policy.Service
	log     *slog.Logger
	oauth   OAuthTokens
}

// OAuthTokens hands out the access tokens of external sources that sign in
// with OAuth (package oauthflow).
type OAuthTokens interface {
	// AccessTokenWithExpiry returns a valid access token of the source and
	// its expiry (zero when unknown), refreshing it when it is about to
	// expire. An error for which errors.As finds an
	// interface{ SignInRequired() bool } reporting true means an admin must
	// sign the source in again.
	AccessTokenWithExpiry(ctx context.Context, sourceID uuid.UUID) (string, time.Time, error)
}

// New returns the service. It logs nothing until WithLogger is called.
func New(store *db.Store, secrets *secrets.Service, policy *policy.Service) *Service {
	return &Service{store: store, secrets: secrets, policy: policy, log: slog.New(slog.DiscardHandler)}
}

// WithLogger makes the handlers log internal errors (500) to log, with the
// full error, which never reaches the client. It returns s.
func (s *Service) WithLogger(log *slog.Logger) *Service {
	if log != nil {
		s.log = log
	}
	return s
}

// WithOAuth makes plans of tools of OAuth sources carry the source's
// access token from tokens (without it they are refused as not
// implemented). It returns s.
func (s *Service) WithOAuth(tokens OAuthTokens) *Service {
	s.oauth = tokens
	return s
}
