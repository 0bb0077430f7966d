package accesstoken

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
)

// purpose binds a sealed private key to its row (backend.md §12.1).
func purpose(kid string) string { return "jwt_signing_key:" + kid }

// EnsureKey makes sure an active signing key exists and loads the keys
// (startup step 5 of backend.md §3). On the first start it generates an
// Ed25519 key; when replicas start together, the partial unique index lets
// one insert win and every replica then loads that one.
func (i *Issuer) EnsureKey(ctx context.Context) error {
	_, err := i.store.ActiveSigningKey(ctx)
	switch {
	case errors.Is(err, db.ErrNotFound):
		k, err := i.newKey()
		if err != nil {
			return err
		}
		// ON CONFLICT DO NOTHING: losing a race to another replica is fine.
		if err := i.store.InsertSigningKey(ctx, k); err != nil {
			return fmt.Errorf("accesstoken: insert signing key: %w", err)
		}
	case err != nil:
		return fmt.Errorf("accesstoken: read active signing key: %w", err)
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	if err := i.loadLocked(ctx); err != nil {
		return err
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.active == nil {
		return errors.New("accesstoken: no active signing key after creating one; " +
			"another process retired it meanwhile, restart the backend")
	}
	return nil
}

// Rotate retires the active key and makes a new one active, in one
// transaction, and deletes keys retired more than 8 days ago
// (`backend rotate-jwt-key`). Tokens signed with the old key keep verifying
// until they expire; every replica signs with the new key within a minute.
// It returns the new key's kid.
func (i *Issuer) Rotate(ctx context.Context) (string, error) {
	var kid string
	// Serializable: two rotations at once conflict and one is retried
	// instead of both retiring the same key.
	err := i.store.InTx(ctx, db.Serializable, func(q *dbq.Queries) error {
		k, err := i.newKey()
		if err != nil {
			return err
		}
		if err := q.RetireSigningKeys(ctx); err != nil {
			return fmt.Errorf("retire signing keys: %w", err)
		}
		if err := q.InsertSigningKey(ctx, k); err != nil {
			return fmt.Errorf("insert signing key: %w", err)
		}
		active, err := q.ActiveSigningKey(ctx)
		if err != nil {
			return fmt.Errorf("read new signing key: %w", err)
		}
		if active.Kid != k.Kid {
			return errors.New("another rotation ran at the same time; run rotate-jwt-key again")
		}
		if _, err := q.DeleteRetiredSigningKeys(ctx); err != nil {
			return fmt.Errorf("delete old signing keys: %w", err)
		}
		kid = k.Kid
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("accesstoken: rotate signing key: %w", err)
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	if err := i.loadLocked(ctx); err != nil {
		return "", err
	}
	return kid, nil
}

// newKey generates an Ed25519 key with a random kid and seals its seed.
func (i *Issuer) newKey() (dbq.InsertSigningKeyParams, error) {
	var id [8]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand)
	kid := hex.EncodeToString(id[:])
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return dbq.InsertSigningKeyParams{}, fmt.Errorf("accesstoken: generate signing key: %w", err)
	}
	sealed, err := i.sealer.Seal(purpose(kid), priv.Seed())
	if err != nil {
		return dbq.InsertSigningKeyParams{}, fmt.Errorf("accesstoken: seal signing key %s: %w", kid, err)
	}
	return dbq.InsertSigningKeyParams{Kid: kid, PrivateKeyEnc: sealed, PublicKey: pub}, nil
}

// loadLocked reads the keys that verify (the active one and those retired
// less than 8 days ago) and the active private key, and replaces the cache.
// The private key is decrypted only when the active kid changed. The caller
// holds loadMu.
func (i *Issuer) loadLocked(ctx context.Context) error {
	var (
		active    dbq.ActiveSigningKeyRow
		hasActive bool
		rows      []dbq.SigningKeysRow
	)
	err := i.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		var err error
		active, err = q.ActiveSigningKey(ctx)
		switch {
		case err == nil:
			hasActive = true
		case !errors.Is(err, db.ErrNotFound):
			return err
		}
		rows, err = q.SigningKeys(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("accesstoken: load signing keys: %w", err)
	}
	keys := make(map[string]ed25519.PublicKey, len(rows))
	for _, r := range rows {
		if len(r.PublicKey) != ed25519.PublicKeySize {
			return fmt.Errorf("accesstoken: signing key %s: public key is %d bytes, want %d",
				r.Kid, len(r.PublicKey), ed25519.PublicKeySize)
		}
		keys[r.Kid] = ed25519.PublicKey(bytes.Clone(r.PublicKey))
	}
	i.mu.RLock()
	next := i.active
	i.mu.RUnlock()
	switch {
	case !hasActive:
		next = nil
	case next == nil || next.kid != active.Kid:
		if next, err = i.openKey(active); err != nil {
			return err
		}
	}
	i.mu.Lock()
	i.keys, i.active, i.loadedAt = keys, next, i.now()
	i.mu.Unlock()
	return nil
}

// openKey decrypts an active key and checks it against its public key.
func (i *Issuer) openKey(row dbq.ActiveSigningKeyRow) (*activeKey, error) {
	seed, err := i.sealer.Open(purpose(row.Kid), row.PrivateKeyEnc)
	if err != nil {
		return nil, fmt.Errorf("accesstoken: decrypt signing key %s: %w", row.Kid, err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("accesstoken: signing key %s: private key is %d bytes, want a %d-byte seed",
			row.Kid, len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub, ok := priv.Public().(ed25519.PublicKey)
	if !ok || !bytes.Equal(pub, row.PublicKey) {
		return nil, fmt.Errorf("accesstoken: signing key %s: private key does not match the stored public key; "+
			"run backend rotate-jwt-key", row.Kid)
	}
	return &activeKey{kid: row.Kid, priv: priv}, nil
}

// signingKey returns the active key, reloading the cache first when it is
// older than refreshAfter (or holds no active key).
func (i *Issuer) signingKey(ctx context.Context) (*activeKey, error) {
	if k := i.freshActive(); k != nil {
		return k, nil
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	if k := i.freshActive(); k != nil { // another caller reloaded while we waited
		return k, nil
	}
	if err := i.loadLocked(ctx); err != nil {
		return nil, err
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.active == nil {
		return nil, errors.New("accesstoken: no active signing key; restart the backend to create one")
	}
	return i.active, nil
}

// freshActive returns the cached active key, or nil when there is none or
// the cache is due for a reload.
func (i *Issuer) freshActive() *activeKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.active == nil || i.now().Sub(i.loadedAt) >= refreshAfter {
		return nil
	}
	return i.active
}

// publicKey returns the verification key named kid. An unknown kid reloads
// the keys, at most once per missInterval, since another replica may have
// rotated; ok is false when the kid stays unknown.
func (i *Issuer) publicKey(ctx context.Context, kid string) (pub ed25519.PublicKey, ok bool, err error) {
	if pub, ok := i.lookup(kid); ok {
		return pub, true, nil
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	if pub, ok := i.lookup(kid); ok { // loaded while we waited
		return pub, true, nil
	}
	now := i.now()
	if !i.lastMiss.IsZero() && now.Sub(i.lastMiss) < missInterval {
		return nil, false, nil
	}
	i.lastMiss = now
	if err := i.loadLocked(ctx); err != nil {
		return nil, false, err
	}
	pub, ok = i.lookup(kid)
	return pub, ok, nil
}

func (i *Issuer) lookup(kid string) (ed25519.PublicKey, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	pub, ok := i.keys[kid]
	return pub, ok
}
