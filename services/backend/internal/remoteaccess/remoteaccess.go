// Package remoteaccess is the remote access settings and the connectivity
// self-check of backend.md §8.2 and admin-ui.md §11.10–§11.11.
package remoteaccess

import (
	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// Deps are what the service works with.
type Deps struct {
	Store   *db.Store
	Sandbox *sandboxclient.Client
}

// Service serves the remote access settings and runs the self-check.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }
