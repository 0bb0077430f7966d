// Package auth is admin authentication (backend.md §7): first-run setup with
// the one-time code, login with throttling shared across replicas, cookie
// sessions for the web UI and access + refresh tokens for scripts, refresh
// rotation with reuse detection, logout, password change and the session
// check every authenticated request makes against the database.
//
// It is HTTP-agnostic: package adminapi turns its errors into the API's
// error shape and sets cookies.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
)

// Errors of the service; the API maps each to its code (backend.md §15.1).
var (
	ErrAlreadySetup       = errors.New("auth: an admin account already exists")
	ErrSetupCodeInvalid   = errors.New("auth: the setup code is wrong")
	ErrInvalidCredentials = errors.New("auth: invalid username or password")
	ErrTokenInvalid       = errors.New("auth: the token is not valid")
	ErrTokenExpired       = errors.New("auth: the token has expired")
	ErrSessionRevoked     = errors.New("auth: the session was revoked")
	ErrUnauthenticated    = errors.New("auth: not signed in")
	ErrNotFound           = errors.New("auth: no such session")
)

// ThrottledError is a login refused before any hashing (backend.md §7.4);
// RetryAfter is how long until the oldest counted failure ages out.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: too many failed logins; retry in %s", e.RetryAfter.Round(time.Second))
}

// Hasher hashes and verifies passwords (package password).
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, stored string) (ok, needsRehash bool, err error)
	VerifyUnknown(ctx context.Context, password string) (bool, error)
}

// Tokens signs and verifies access tokens (package accesstoken).
type Tokens interface {
	Sign(ctx context.Context, userID, sessionID uuid.UUID, passwordVersion int32) (string, accesstoken.Claims, error)
	Verify(ctx context.Context, token string) (accesstoken.Claims, error)
}

// Options are the session settings of backend.md §3.
type Options struct {
	SessionIdle time.Duration // MCPBOX_SESSION_IDLE: a cookie session unused this long ends
	SessionMax  time.Duration // MCPBOX_SESSION_MAX: absolute lifetime of a session
	SetupCode   string        // the expected setup code (MCPBOX_SETUP_CODE or derived)
	Version     string        // the build version for GET /auth/status
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Service is admin authentication over the store.
type Service struct {
	store   *db.Store
	hasher  Hasher
	tokens  Tokens
	opt     Options
	metrics metrics
}

// New returns the service. Its metrics are registered by Instrument.
func New(store *db.Store, hasher Hasher, tokens Tokens, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{store: store, hasher: hasher, tokens: tokens, opt: opt, metrics: newMetrics()}
}

// Client kinds of a session.
const (
	ClientCookie = "cookie"
	ClientToken  = "token"
)

// Lifetimes of backend.md §7.3.
const (
	RefreshLifetime = 7 * 24 * time.Hour
	// ipWindow and ipLimit: failures from one client IP.
	ipWindow = time.Minute
	ipLimit  = 5
	// userWindow and userLimit: failures for one username, from any IP.
	userWindow = 15 * time.Minute
	userLimit  = 20
)

// Principal is the authenticated admin of a request.
type Principal struct {
	UserID    uuid.UUID
	Username  string
	SessionID uuid.UUID
	Client    string // ClientCookie or ClientToken
	csrfHash  []byte
}

// Actor is the actor string of the admin (backend.md §2).
func (p Principal) Actor() string { return "admin:" + p.Username }

// randomToken returns 256 random bits, base64url without padding.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// digest is the sha256 stored for a session id, CSRF token or refresh token.
func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// addrPtr returns &a, or nil for an invalid address (no peer address).
func addrPtr(a netip.Addr) *netip.Addr {
	if !a.IsValid() {
		return nil
	}
	return &a
}

// mapNotFound turns db.ErrNotFound into err.
func mapNotFound(e, err error) error {
	if errors.Is(e, db.ErrNotFound) {
		return err
	}
	return e
}

// inTx runs fn in a read-committed transaction.
func (s *Service) inTx(ctx context.Context, fn func(q *dbq.Queries) error) error {
	return s.store.InTx(ctx, db.ReadCommitted, fn)
}
