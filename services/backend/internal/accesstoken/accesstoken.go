// Package accesstoken issues and verifies the admin API's access tokens and
// keeps the keys that sign them (backend.md §7.3, startup step 5 of §3,
// acceptance test BE-17).
//
// An access token is a JWT signed with EdDSA (Ed25519) whose header names
// the signing key by kid. The keys live in the signing_keys table, shared by
// every replica: the public key in clear, the private key (its 32-byte seed)
// sealed under the purpose "jwt_signing_key:<kid>". At most one key is
// active; [Issuer.Rotate] retires it and adds a new one, and retired keys
// keep verifying for 8 days, far longer than any token they signed lives.
//
// Verification never lets the token choose how it is checked: the algorithm
// is pinned to EdDSA, the key is looked up by kid among the keys this package
// loaded, and every claim must be present. A token only proves who logged
// in; the caller still checks the session and password version against the
// database on every request (§7.3).
package accesstoken

import (
	"crypto/ed25519"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
)

// Fixed claim values and time limits of backend.md §7.3.
const (
	// ClaimIssuer is the "iss" of every access token.
	ClaimIssuer = "mcpbox"
	// ClaimAudience is the "aud" of every access token.
	ClaimAudience = "mcpbox-admin"
	// Lifetime is how long an access token is valid: exp = iat + Lifetime.
	Lifetime = 15 * time.Minute
	// Skew is the clock difference between replicas that verification
	// tolerates on exp and iat.
	Skew = 60 * time.Second
)

// Sentinel errors of Verify; compare with errors.Is. Their messages never
// contain the token or any part of it.
var (
	// ErrExpired means the token was genuine but its exp lies more than
	// Skew in the past: the client refreshes or logs in again.
	ErrExpired = errors.New("accesstoken: access token expired; refresh it or log in again")
	// ErrInvalid means the token is not one this backend issued: malformed,
	// signed with another algorithm or an unknown key, tampered with, or
	// missing or mismatching a claim.
	ErrInvalid = errors.New("accesstoken: invalid access token; log in again")
)

// Claims are the facts an access token carries.
type Claims struct {
	// UserID is "sub", the admin user's id.
	UserID uuid.UUID
	// SessionID is "sid", the admin session the token belongs to.
	SessionID uuid.UUID
	// PasswordVersion is "pv", the user's password_version at issue time.
	PasswordVersion int32
	// JTI is "jti", 128 random bits as 32 lowercase hex digits.
	JTI string
	// IssuedAt is "iat", in whole seconds (UTC).
	IssuedAt time.Time
	// ExpiresAt is "exp", IssuedAt + Lifetime.
	ExpiresAt time.Time
}

// Sealer encrypts the private keys at rest (package seal's *Keyring
// implements it). Open must fail for a ciphertext sealed under another
// purpose.
type Sealer interface {
	Seal(purpose string, plaintext []byte) ([]byte, error)
	Open(purpose string, ciphertext []byte) ([]byte, error)
}

// Option configures an Issuer.
type Option func(*Issuer)

// WithClock replaces the wall clock used for iat, exp and their
// verification, and for the reload intervals; tests move it.
func WithClock(now func() time.Time) Option {
	return func(i *Issuer) { i.now = now }
}

// Intervals of the in-memory key cache.
const (
	// refreshAfter is the age after which Sign reloads the keys, so a
	// rotation made by another process takes effect on every replica.
	refreshAfter = time.Minute
	// missInterval is how often, at most, a token with an unknown kid makes
	// Verify reload the keys (another replica may just have rotated).
	missInterval = time.Second
)

// Issuer signs and verifies access tokens with the keys of the
// signing_keys table, cached in memory. It is safe for concurrent use.
type Issuer struct {
	store  *db.Store
	sealer Sealer
	now    func() time.Time

	loadMu   sync.Mutex // serialises loads from the database
	lastMiss time.Time  // guarded by loadMu: when an unknown kid last caused a load

	mu       sync.RWMutex // guards the fields below
	keys     map[string]ed25519.PublicKey
	active   *activeKey // nil when the database had no active key
	loadedAt time.Time  // zero until the first load
}

// activeKey is the decrypted key Sign uses.
type activeKey struct {
	kid  string
	priv ed25519.PrivateKey
}

// New returns an Issuer that keeps its keys in store, sealed with sealer.
// It loads nothing yet: call EnsureKey at startup.
func New(store *db.Store, sealer Sealer, opts ...Option) *Issuer {
	i := &Issuer{store: store, sealer: sealer, now: time.Now}
	for _, opt := range opts {
		opt(i)
	}
	return i
}
