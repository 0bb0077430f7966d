// Package transfer is the signed export and the import of backend.md §14.4.
package transfer

import (
	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// Deps are what the service works with.
type Deps struct {
	Store *db.Store
	Keys  *seal.Keyring
	Tools *tools.Service
	// Version is the app_version written into exports.
	Version string
}

// Service exports and imports installations.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }
