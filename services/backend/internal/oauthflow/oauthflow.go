// Package oauthflow signs external sources in with OAuth (backend.md §13.3):
// the authorization start, the code exchange and the token refresh, every
// request brokered by the sandbox's /v1/fetch.
//
// The protocol work is done by golang.org/x/oauth2 (PKCE verifier and S256
// challenge, code exchange, refresh) and the go-sdk's oauthex and auth
// packages (WWW-Authenticate parsing, protected-resource metadata of RFC
// 9728, authorization-server metadata of RFC 8414 with the OpenID
// configuration fallback, dynamic client registration of RFC 7591). Those
// libraries are handed an http.Client whose transport sends each request
// through POST /v1/fetch with purpose "oauth", never follows a redirect,
// and gives a request to the source's own origin the allowed_hosts of
// discovery (§13.2) and every other request null, so metadata cannot steer
// a request to a private address.
//
// A pending authorization is a row of oauth_flows keyed by the hash of its
// state (and of the admin session that started it), used at most once by
// whichever replica receives the callback, 10 minutes at most. Tokens,
// verifiers and client secrets are sealed (§12.1) and never logged.
package oauthflow

import (
	"errors"
	"fmt"
	"time"

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
type Service struct {
	d   Deps
	now func() time.Time
}

// New returns the service.
func New(d Deps) *Service { return &Service{d: d, now: time.Now} }

// CallbackPath is the path of the default redirect URI, served by the UI
// (admin-ui.md §11.5).
const CallbackPath = "/oauth/callback"

// ErrSourceNotFound is returned for an unknown source id.
var ErrSourceNotFound = errors.New("external source not found")

// ErrStateInvalid is returned by Callback for a state that is unknown,
// already used, expired or started by another session (400
// oauth_state_invalid). Nothing is stored.
var ErrStateInvalid = errors.New("OAuth state is unknown, used or expired")

// NotOAuthError refuses a flow for a source whose auth_type is not oauth
// (400).
type NotOAuthError struct {
	Source   string
	AuthType string
}

// Error names the source, its auth type and the way out.
func (e *NotOAuthError) Error() string {
	return fmt.Sprintf("source '%s' has auth_type %s; an OAuth sign-in needs auth_type oauth "+
		"(change it with PATCH /api/v1/external-sources/{id} first)", e.Source, e.AuthType)
}

// UnusableError refuses a flow or a token for a source that is not usable
// (backend.md §13.1: pending review or disabled; 409 invalid_state).
type UnusableError struct {
	Source string
	Status string
}

// Error names the source, its status and the way out.
func (e *UnusableError) Error() string {
	if e.Status == statusPendingReview {
		return fmt.Sprintf("Source '%s' is pending review; an admin must approve it before signing in.", e.Source)
	}
	return fmt.Sprintf("Source '%s' is %s; enable it before signing in.", e.Source, e.Status)
}

// UpstreamError is a failed OAuth step upstream (502): the source, its
// authorization server or the broker's egress policy refused or did not
// answer. Message says which step, which host and why; it never holds a
// token, code, verifier or client secret.
type UpstreamError struct {
	Message string
}

// Error returns the message.
func (e *UpstreamError) Error() string { return e.Message }

// SignInError means a source's tokens cannot give an access token: the
// source never signed in, or its refresh failed. An admin must sign in
// again (409 source_auth_failed on plans, backend.md §9.4).
type SignInError struct {
	Source string
	// Reason is why, for the logs and the discovery error; no token.
	Reason string
}

// Error says what the admin must do.
func (e *SignInError) Error() string {
	return fmt.Sprintf("External source '%s' needs an admin to sign in again (%s).", e.Source, e.Reason)
}

// SignInRequired marks the error for callers that must not import this
// package (the catalog's plans).
func (e *SignInError) SignInRequired() bool { return true }

// Source statuses and the auth type of backend.md §4.2.
const (
	statusPendingReview = "pending_review"
	statusActive        = "active"
	statusError         = "error"
	authOAuth           = "oauth"
)

// usable reports a status of backend.md §13.1 that allows credentials.
func usable(status string) bool { return status == statusActive || status == statusError }
