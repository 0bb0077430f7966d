// Package oauthflow signs external sources in with OAuth (backend.md §13.3):
// the authorization start, the code exchange and the token refresh, every
// request brokered by the sandbox's /v1/fetch.
package oauthflow

import (
	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// Deps are what the service works with.
type Deps struct {
	Store   *db.Store
	Sandbox *sandboxclient.Client
	Keys    *seal.Keyring
	// PublicOrigin is MCPBOX_PUBLIC_ORIGIN ("" = the request's own origin):
	// the default redirect URI is <origin>/oauth/callback.
	PublicOrigin string
}

// Service runs OAuth flows.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }
