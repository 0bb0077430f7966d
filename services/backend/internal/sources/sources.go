// Package sources is the external MCP sources of backend.md §13: their
// lifecycle (§13.1), discovery through the sandbox and the import of their
// tools (§13.2).
package sources

import (
	"log/slog"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// Deps are what the service works with.
type Deps struct {
	Store     *db.Store
	Sandbox   *sandboxclient.Client
	Secrets   *secrets.Service
	Policy    *policy.Service
	Tools     *tools.Service
	Approvals *approvals.Service
	Logger    *slog.Logger
}

// Service manages external sources.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }
