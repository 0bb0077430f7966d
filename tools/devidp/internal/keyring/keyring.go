// Package keyring keeps the developer identity provider's RSA signing keys.
//
// The keys live in one state file (keys.json, mode 0600, in a 0700 directory) so tokens keep verifying
// across restarts and `devidp token` can sign without the server. There is always a current key, which
// signs, and at most one previous key, which stays published in the JWKS after a rotation until it is
// retired, so tokens signed before the rotation keep verifying (edge.md §18). Each kid is the RFC 7638
// thumbprint of the public key (SHA-256, base64url).
package keyring

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// StateFile is the name of the file in the state directory that holds the keys.
const StateFile = "keys.json"

// KeyBits is the RSA modulus size of every generated key.
const KeyBits = 2048

// ErrNoPrevious is returned by RetirePrevious when there is no previous key.
var ErrNoPrevious = errors.New("keyring: no previous key to retire")

// Key is one signing key and its kid.
type Key struct {
	ID      string
	Private *rsa.PrivateKey
}

// Ring holds the current and previous key, backed by the state file. It is safe for concurrent use.
type Ring struct {
	mu       sync.RWMutex
	dir      string
	current  Key
	previous *Key
}

// state is the on-disk form: PKCS#8 PEM blocks.
type state struct {
	Current  string `json:"current"`
	Previous string `json:"previous,omitempty"`
}

// Open loads the keys from dir, creating the directory (0700) and a first key when there is none.
// Two processes opening an empty directory at once agree on one key: the first to link its file wins.
func Open(dir string) (*Ring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: create state directory: %w", err)
	}
	r := &Ring{dir: dir}
	err := r.load()
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k, err := newKey()
	if err != nil {
		return nil, err
	}
	r.current = k
	created, err := r.writeState(true)
	if err != nil {
		return nil, err
	}
	if !created { // another process created the state first: use its key
		if err := r.load(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Current returns the signing key.
func (r *Ring) Current() Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// Previous returns the previous key, if one is still published.
func (r *Ring) Previous() (Key, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.previous == nil {
		return Key{}, false
	}
	return *r.previous, true
}

// Rotate makes a new current key; the old current key becomes the previous one (an older previous key
// is dropped). The state file is replaced atomically.
func (r *Ring) Rotate() (Key, error) {
	k, err := newKey()
	if err != nil {
		return Key{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.current
	oldPrev := r.previous
	r.previous, r.current = &old, k
	if _, err := r.writeState(false); err != nil {
		r.current, r.previous = old, oldPrev
		return Key{}, err
	}
	return k, nil
}

// RetirePrevious stops publishing the previous key and returns it.
func (r *Ring) RetirePrevious() (Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.previous == nil {
		return Key{}, ErrNoPrevious
	}
	old := r.previous
	r.previous = nil
	if _, err := r.writeState(false); err != nil {
		r.previous = old
		return Key{}, err
	}
	return *old, nil
}

// PublicSet returns the published key set: the current key, then the previous one. Each key carries
// kid, use=sig and alg=RS256.
func (r *Ring) PublicSet() (jwk.Set, error) {
	r.mu.RLock()
	keys := []Key{r.current}
	if r.previous != nil {
		keys = append(keys, *r.previous)
	}
	r.mu.RUnlock()

	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := jwk.Import(&k.Private.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("keyring: import public key: %w", err)
		}
		for name, v := range map[string]any{
			jwk.KeyIDKey: k.ID, jwk.KeyUsageKey: jwk.ForSignature, jwk.AlgorithmKey: jwa.RS256(),
		} {
			if err := pub.Set(name, v); err != nil {
				return nil, fmt.Errorf("keyring: set %s: %w", name, err)
			}
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("keyring: add key: %w", err)
		}
	}
	return set, nil
}

// Sign signs payload (a JSON claims object) with the current key as a compact RS256 JWS whose
// protected header carries the kid and typ JWT. It returns the JWS and the kid that signed it.
func (r *Ring) Sign(payload []byte) ([]byte, string, error) {
	k := r.Current()
	h := jws.NewHeaders()
	if err := h.Set(jws.KeyIDKey, k.ID); err != nil {
		return nil, "", fmt.Errorf("keyring: set kid: %w", err)
	}
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return nil, "", fmt.Errorf("keyring: set typ: %w", err)
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), k.Private, jws.WithProtectedHeaders(h)))
	if err != nil {
		return nil, "", fmt.Errorf("keyring: sign: %w", err)
	}
	return out, k.ID, nil
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of pub, base64url without padding.
func Thumbprint(pub *rsa.PublicKey) (string, error) {
	k, err := jwk.Import(pub)
	if err != nil {
		return "", fmt.Errorf("keyring: import public key: %w", err)
	}
	if err := jwk.AssignKeyID(k); err != nil {
		return "", fmt.Errorf("keyring: thumbprint: %w", err)
	}
	kid, _ := k.KeyID()
	return kid, nil
}

func newKey() (Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return Key{}, fmt.Errorf("keyring: generate RSA key: %w", err)
	}
	return keyOf(priv)
}

func keyOf(priv *rsa.PrivateKey) (Key, error) {
	kid, err := Thumbprint(&priv.PublicKey)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: kid, Private: priv}, nil
}

func (r *Ring) path() string { return filepath.Join(r.dir, StateFile) }

func (r *Ring) load() error {
	raw, err := os.ReadFile(r.path())
	if err != nil {
		return fmt.Errorf("keyring: read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("keyring: parse %s: %w", r.path(), err)
	}
	cur, err := decodeKey(st.Current)
	if err != nil {
		return fmt.Errorf("keyring: current key in %s: %w", r.path(), err)
	}
	r.current, r.previous = cur, nil
	if st.Previous != "" {
		prev, err := decodeKey(st.Previous)
		if err != nil {
			return fmt.Errorf("keyring: previous key in %s: %w", r.path(), err)
		}
		r.previous = &prev
	}
	return nil
}

// writeState writes the keys to a temporary file (0600) and moves it into place. With exclusive set,
// it links instead of renaming and reports false when the state file already exists.
func (r *Ring) writeState(exclusive bool) (bool, error) {
	var st state
	var err error
	if st.Current, err = encodeKey(r.current.Private); err != nil {
		return false, err
	}
	if r.previous != nil {
		if st.Previous, err = encodeKey(r.previous.Private); err != nil {
			return false, err
		}
	}
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return false, fmt.Errorf("keyring: encode state: %w", err)
	}
	tmp, err := os.CreateTemp(r.dir, ".keys-*.json")
	if err != nil {
		return false, fmt.Errorf("keyring: write state: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return false, fmt.Errorf("keyring: chmod state: %w", err)
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		_ = tmp.Close()
		return false, fmt.Errorf("keyring: write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("keyring: write state: %w", err)
	}
	if exclusive {
		err := os.Link(tmp.Name(), r.path())
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("keyring: install state: %w", err)
		}
		return true, nil
	}
	if err := os.Rename(tmp.Name(), r.path()); err != nil {
		return false, fmt.Errorf("keyring: install state: %w", err)
	}
	return true, nil
}

func encodeKey(priv *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("keyring: marshal RSA key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

func decodeKey(s string) (Key, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PRIVATE KEY" {
		return Key{}, errors.New("not a PEM PRIVATE KEY block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return Key{}, fmt.Errorf("parse PKCS#8: %w", err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return Key{}, fmt.Errorf("key is %T, want RSA", parsed)
	}
	if priv.N.BitLen() < KeyBits {
		return Key{}, fmt.Errorf("RSA key has %d bits, want at least %d", priv.N.BitLen(), KeyBits)
	}
	return keyOf(priv)
}
