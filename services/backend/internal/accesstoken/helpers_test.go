package accesstoken_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
)

// testSealer is AES-256-GCM under a fixed key with the purpose as
// additional data, so Open with another purpose fails, as with seal.Keyring.
type testSealer struct{ aead cipher.AEAD }

func newSealer(t testing.TB, keyByte byte) *testSealer {
	t.Helper()
	block, err := aes.NewCipher(bytes.Repeat([]byte{keyByte}, 32))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return &testSealer{aead: aead}
}

func (s *testSealer) Seal(purpose string, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, []byte(purpose)), nil
}

func (s *testSealer) Open(purpose string, ciphertext []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("test sealer: ciphertext too short")
	}
	return s.aead.Open(nil, ciphertext[:n], ciphertext[n:], []byte(purpose))
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openStore opens one more Store (one more "replica") on the database at dsn.
func openStore(t testing.TB, dsn string) *db.Store {
	t.Helper()
	st, err := db.Open(t.Context(), dsn, db.WithMaxConns(4), db.WithConnectTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// newIssuer returns an Issuer on store with the test sealer and clock, its
// key ensured.
func newIssuer(t testing.TB, store *db.Store, clock *testClock) *accesstoken.Issuer {
	t.Helper()
	iss := accesstoken.New(store, newSealer(t, 0x42), accesstoken.WithClock(clock.Now))
	if err := iss.EnsureKey(t.Context()); err != nil {
		t.Fatalf("EnsureKey: %v", err)
	}
	return iss
}

// activeKey reads the active key from the database the way an attacker
// holding MCPBOX_ENCRYPTION_KEY could: it lets tests sign tokens that only
// break one rule.
func activeKey(t testing.TB, store *db.Store) (string, ed25519.PrivateKey) {
	t.Helper()
	row, err := store.ActiveSigningKey(t.Context())
	if err != nil {
		t.Fatalf("ActiveSigningKey: %v", err)
	}
	seed, err := newSealer(t, 0x42).Open("jwt_signing_key:"+row.Kid, row.PrivateKeyEnc)
	if err != nil {
		t.Fatalf("open private key of %s: %v", row.Kid, err)
	}
	return row.Kid, ed25519.NewKeyFromSeed(seed)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawToken builds a compact JWS by hand: sign gets the signing input.
func rawToken(t testing.TB, header, payload map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	input := b64(mustJSON(t, header)) + "." + b64(mustJSON(t, payload))
	return input + "." + b64(sign([]byte(input)))
}

func edSigner(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

func hmacSigner(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

// goodClaims are claims Sign would write at now.
func goodClaims(now time.Time) map[string]any {
	iat := now.Unix()
	return map[string]any{
		"iss": accesstoken.ClaimIssuer,
		"aud": accesstoken.ClaimAudience,
		"sub": uuid.NewString(),
		"sid": uuid.NewString(),
		"pv":  3,
		"jti": "0123456789abcdef0123456789abcdef",
		"iat": iat,
		"exp": iat + int64(accesstoken.Lifetime/time.Second),
	}
}

// decodeSegment decodes one base64url JSON segment of a compact token.
func decodeSegment(t testing.TB, token string, n int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[n])
	if err != nil {
		t.Fatalf("segment %d: %v", n, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("segment %d: %v", n, err)
	}
	return m
}

func sameClaims(a, b accesstoken.Claims) bool {
	return a.UserID == b.UserID && a.SessionID == b.SessionID && a.PasswordVersion == b.PasswordVersion &&
		a.JTI == b.JTI && a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func mustSign(t testing.TB, iss *accesstoken.Issuer) (string, accesstoken.Claims) {
	t.Helper()
	tok, c, err := iss.Sign(t.Context(), uuid.New(), uuid.New(), 7)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok, c
}

func kidOf(t testing.TB, token string) string {
	t.Helper()
	kid, _ := decodeSegment(t, token, 0)["kid"].(string)
	return kid
}
