package accesstoken_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
)

func TestEnsureKeyTwiceKeepsOneKey(t *testing.T) {
	t.Parallel()
	store := dbtest.New(t)
	iss := newIssuer(t, store, newClock())
	first, _ := activeKey(t, store)
	if err := iss.EnsureKey(t.Context()); err != nil {
		t.Fatalf("second EnsureKey: %v", err)
	}
	keys, err := store.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Kid != first {
		t.Fatalf("keys after two EnsureKey = %+v, want only %s", keys, first)
	}
	token, _ := mustSign(t, iss)
	if kid := kidOf(t, token); kid != first {
		t.Errorf("token kid %s, want %s", kid, first)
	}
}

// TestEnsureKeyConcurrent starts several replicas (one Store each) on one
// empty database at once: exactly one key is created and all of them sign
// with it.
func TestEnsureKeyConcurrent(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	const replicas = 6
	issuers := make([]*accesstoken.Issuer, replicas)
	for n := range issuers {
		issuers[n] = accesstoken.New(openStore(t, dsn), newSealer(t, 0x42))
	}
	start := make(chan struct{})
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for n, iss := range issuers {
		wg.Go(func() {
			<-start
			errs[n] = iss.EnsureKey(t.Context())
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("EnsureKey: %v", err)
	}

	store := openStore(t, dsn)
	keys, err := store.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].RetiredAt != nil {
		t.Fatalf("keys = %+v, want exactly one active key", keys)
	}
	for n, iss := range issuers {
		token, _ := mustSign(t, iss)
		if kid := kidOf(t, token); kid != keys[0].Kid {
			t.Errorf("replica %d signs with %s, want %s", n, kid, keys[0].Kid)
		}
		if _, err := issuers[(n+1)%replicas].Verify(t.Context(), token); err != nil {
			t.Errorf("replica %d's token rejected by the next replica: %v", n, err)
		}
	}
}

// TestStoredKeyIsSealed: the row holds the sealed seed, bound to the purpose
// jwt_signing_key:<kid>, and a 32-byte public key.
func TestStoredKeyIsSealed(t *testing.T) {
	t.Parallel()
	store := dbtest.New(t)
	newIssuer(t, store, newClock())
	row, err := store.ActiveSigningKey(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(row.Kid) != 16 || strings.Trim(row.Kid, "0123456789abcdef") != "" {
		t.Errorf("kid %q: want 16 lowercase hex digits", row.Kid)
	}
	if len(row.PublicKey) != ed25519.PublicKeySize {
		t.Errorf("public_key is %d bytes, want 32", len(row.PublicKey))
	}
	sealer := newSealer(t, 0x42)
	seed, err := sealer.Open("jwt_signing_key:"+row.Kid, row.PrivateKeyEnc)
	if err != nil {
		t.Fatalf("open private_key_enc with purpose jwt_signing_key:%s: %v", row.Kid, err)
	}
	if len(seed) != ed25519.SeedSize {
		t.Fatalf("sealed private key is %d bytes, want the 32-byte seed", len(seed))
	}
	if pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey); !bytes.Equal(pub, row.PublicKey) {
		t.Error("the sealed seed does not belong to public_key")
	}
	if bytes.Contains(row.PrivateKeyEnc, seed) {
		t.Error("private_key_enc contains the raw seed")
	}
	if _, err := sealer.Open("jwt_signing_key:0000000000000000", row.PrivateKeyEnc); err == nil {
		t.Error("private_key_enc opens under another kid's purpose")
	}
}

// TestEnsureKeyWrongEncryptionKey: a replica whose encryption key differs
// cannot load the signing key and says so at startup.
func TestEnsureKeyWrongEncryptionKey(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	newIssuer(t, openStore(t, dsn), newClock())
	other := accesstoken.New(openStore(t, dsn), newSealer(t, 0x07))
	err := other.EnsureKey(t.Context())
	if err == nil || !strings.Contains(err.Error(), "decrypt signing key") {
		t.Fatalf("EnsureKey with another encryption key = %v, want a decrypt error", err)
	}
}

func TestSignWithoutKey(t *testing.T) {
	t.Parallel()
	iss := accesstoken.New(dbtest.New(t), newSealer(t, 0x42))
	if _, _, err := iss.Sign(t.Context(), uuid.New(), uuid.New(), 1); err == nil ||
		!strings.Contains(err.Error(), "no active signing key") {
		t.Fatalf("Sign on an empty database = %v, want no active signing key", err)
	}
}

// TestRotate: old tokens keep verifying, new tokens carry the new kid, and
// another replica that loaded its keys before the rotation verifies new
// tokens (reload on an unknown kid) and signs with the new key within a
// minute.
func TestRotate(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	clock := newClock()
	a := newIssuer(t, openStore(t, dsn), clock)
	b := newIssuer(t, openStore(t, dsn), newClock()) // the other replica
	cClock := newClock()
	c := newIssuer(t, openStore(t, dsn), cClock) // a third, idle replica
	before, beforeClaims := mustSign(t, a)
	oldKid := kidOf(t, before)
	fromB, _ := mustSign(t, b)

	kid, err := a.Rotate(t.Context())
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if kid == oldKid || len(kid) != 16 {
		t.Fatalf("Rotate returned kid %q (old %s)", kid, oldKid)
	}
	after, _ := mustSign(t, a)
	if got := kidOf(t, after); got != kid {
		t.Errorf("token after rotation has kid %s, want %s", got, kid)
	}
	for name, iss := range map[string]*accesstoken.Issuer{"rotating replica": a, "other replica": b} {
		got, err := iss.Verify(t.Context(), before)
		if err != nil || !sameClaims(got, beforeClaims) {
			t.Errorf("%s: token signed before rotation: %+v, %v", name, got, err)
		}
		if _, err := iss.Verify(t.Context(), after); err != nil {
			t.Errorf("%s: token with the new kid: %v", name, err)
		}
		if _, err := iss.Verify(t.Context(), fromB); err != nil {
			t.Errorf("%s: other replica's old token: %v", name, err)
		}
	}

	// b reloaded for the unknown kid and signs with the new key; c, which
	// has verified nothing since, switches within a minute.
	if token, _ := mustSign(t, b); kidOf(t, token) != kid {
		t.Errorf("replica that reloaded signs with %s, want %s", kidOf(t, token), kid)
	}
	if token, _ := mustSign(t, c); kidOf(t, token) != oldKid {
		t.Errorf("idle replica switched keys before its refresh interval")
	}
	cClock.Add(time.Minute)
	if token, _ := mustSign(t, c); kidOf(t, token) != kid {
		t.Errorf("idle replica still signs with %s a minute after the rotation, want %s", kidOf(t, token), kid)
	}

	keys, err := openStore(t, dsn).SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Kid != oldKid || keys[0].RetiredAt == nil ||
		keys[1].Kid != kid || keys[1].RetiredAt != nil {
		t.Errorf("keys after rotation = %+v, want %s retired and %s active", keys, oldKid, kid)
	}
}

// TestUnknownKidReloadsAtMostOncePerSecond: a replica reloads its keys for
// an unknown kid, but not again within a second.
func TestUnknownKidReloadsAtMostOncePerSecond(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	a := newIssuer(t, openStore(t, dsn), newClock())
	bClock := newClock()
	b := newIssuer(t, openStore(t, dsn), bClock)

	_, stranger, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	unknown := rawToken(t, map[string]any{"alg": "EdDSA", "kid": "0123456789abcdef"}, goodClaims(bClock.Now()),
		edSigner(stranger))
	if _, err := b.Verify(t.Context(), unknown); !errors.Is(err, accesstoken.ErrInvalid) {
		t.Fatalf("unknown kid: %v, want ErrInvalid", err)
	}
	if _, err := a.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	token, _ := mustSign(t, a)
	if _, err := b.Verify(t.Context(), token); !errors.Is(err, accesstoken.ErrInvalid) {
		t.Fatalf("new kid within a second of the last reload: %v, want ErrInvalid (no reload yet)", err)
	}
	bClock.Add(time.Second)
	if _, err := b.Verify(t.Context(), token); err != nil {
		t.Fatalf("new kid a second later: %v, want it reloaded and accepted", err)
	}
}

// TestRotateDeletesOldKeys: a key retired more than 8 days ago stops
// verifying and is deleted by the next rotation.
func TestRotateDeletesOldKeys(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	clock := newClock()
	iss := newIssuer(t, openStore(t, dsn), clock)
	first, _ := activeKey(t, openStore(t, dsn))
	oldToken, _ := mustSign(t, iss)
	if _, err := iss.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	dbtest.Exec(t, dsn, `UPDATE signing_keys SET retired_at = now() - interval '9 days' WHERE kid = $1`, first)
	second, err := iss.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Exec fails the test when the DO block raises.
	dbtest.Exec(t, dsn, `DO $$ BEGIN
		IF (SELECT count(*) FROM signing_keys) <> 2 THEN RAISE EXCEPTION 'want 2 signing keys'; END IF;
		IF EXISTS (SELECT FROM signing_keys WHERE kid = '`+first+`') THEN RAISE EXCEPTION 'old key kept'; END IF;
	END $$`)
	if _, err := iss.Verify(t.Context(), oldToken); !errors.Is(err, accesstoken.ErrInvalid) {
		t.Errorf("token of a deleted key: %v, want ErrInvalid", err)
	}
	if token, _ := mustSign(t, iss); kidOf(t, token) != second {
		t.Errorf("signing kid %s, want %s", kidOf(t, token), second)
	}
}

// TestConcurrentRotations: rotations racing on two replicas leave exactly
// one active key.
func TestConcurrentRotations(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	issuers := []*accesstoken.Issuer{
		newIssuer(t, openStore(t, dsn), newClock()),
		newIssuer(t, openStore(t, dsn), newClock()),
	}
	var wg sync.WaitGroup
	kids := make([]string, 4)
	for n := range kids {
		wg.Go(func() {
			kid, err := issuers[n%2].Rotate(t.Context())
			// Racing rotations conflict; the loser fails cleanly, to be rerun.
			if err != nil && !errors.Is(err, db.ErrSerialization) && !strings.Contains(err.Error(), "another rotation") {
				t.Errorf("rotation %d: %v", n, err)
			}
			kids[n] = kid
		})
	}
	wg.Wait()
	keys, err := openStore(t, dsn).SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, k := range keys {
		if k.RetiredAt == nil {
			active++
		}
	}
	succeeded := 0
	for _, k := range kids {
		if k != "" {
			succeeded++
		}
	}
	if active != 1 || succeeded == 0 || len(keys) != succeeded+1 {
		t.Errorf("after rotations %v: keys %+v, want one active and one per successful rotation", kids, keys)
	}
}
