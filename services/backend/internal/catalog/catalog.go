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
	"log/slog"

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
