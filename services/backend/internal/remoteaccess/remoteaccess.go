// Package remoteaccess is the remote access settings and the connectivity
// self-check of backend.md §8.2 and admin-ui.md §11.10–§11.11.
//
// The settings (public URL, expected issuer, expected audience) are what
// the admin expects the deployment to be; the edge does not read them. They
// change like every setting (backend.md §6.6): one transaction under the
// revisions row lock, an optimistic revision check, one policy revision
// bump and one settings.update audit row.
//
// The self-check probes the public URL the way an MCP client would, in
// seven steps (R1–R7), every request through the sandbox's brokered fetch
// (sandbox.md §4.7) with purpose selfcheck: the backend never contacts an
// edge or identity provider itself. Everything it reads is untrusted and
// parsed defensively.
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
