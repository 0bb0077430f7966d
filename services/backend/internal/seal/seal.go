// Package seal encrypts the secrets the backend stores (spec/backend.md
// §12.1, §12.2): server secrets, OAuth tokens and client secrets, OAuth flow
// verifiers, JWT signing keys and the key-check value of startup step 4
// (§3). It also derives the first-run setup code from the encryption key
// (§7.1).
//
// A stored value is AES-256-GCM:
//
//	0x01 (format) ‖ key id (1 byte) ‖ nonce (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)
//
// with associated data = the 2 header bytes ‖ the purpose string. The
// purpose names the row and column a value belongs to (see the Purpose*
// helpers), so a value copied into another row does not decrypt, and the
// header is authenticated, so the key id cannot be swapped. Decryption picks
// the key by the id in the header: the current key
// (MCPBOX_ENCRYPTION_KEY, MCPBOX_ENCRYPTION_KEY_ID) or one of
// MCPBOX_ENCRYPTION_OLD_KEYS. An unknown id, a wrong key or a wrong purpose
// is an error, never a silent default; `backend rekey` moves values off old
// keys with [Keyring.Reseal].
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Layout of a stored value (backend.md §12.1).
const (
	formatV1  = 0x01
	headerLen = 2  // format byte, key id
	nonceLen  = 12 // GCM standard nonce
	tagLen    = 16 // GCM tag
	// Overhead is the number of bytes Seal adds to a plaintext; it is also
	// the length of the shortest well-formed value (an empty plaintext).
	Overhead = headerLen + nonceLen + tagLen
	keyLen   = 32 // AES-256
	maxKeyID = 255
)

// Errors returned by Open, KeyID and Reseal. Compare with errors.Is.
var (
	// ErrMalformed means the bytes are not a value Seal produced: too short,
	// an unknown format byte, or key id 0.
	ErrMalformed = errors.New("seal: malformed ciphertext")
	// ErrUnknownKeyID is matched by an *UnknownKeyIDError: the value was
	// sealed under a key id that is neither the current id nor an old key.
	ErrUnknownKeyID = errors.New("seal: unknown key id")
	// ErrDecrypt means authentication failed: the configured key for the
	// value's key id is not the one that sealed it, the purpose differs, or
	// the bytes were altered. The error never names the purpose (it carries
	// server ids and secret names), and no plaintext is returned.
	ErrDecrypt = errors.New("seal: cannot decrypt: wrong key for its key id, wrong purpose, or altered bytes")
)

// errEmptyPurpose is a programming error: every value has a purpose.
var errEmptyPurpose = errors.New("seal: purpose must not be empty; use one of the seal.Purpose* helpers")

// UnknownKeyIDError is returned when a value names a key id that is not
// configured. It matches ErrUnknownKeyID.
type UnknownKeyIDError struct {
	// ID is the key id found in the value's header (1–255).
	ID int
}

func (e *UnknownKeyIDError) Error() string {
	return fmt.Sprintf("seal: value was sealed with key id %d, which is not configured; "+
		"add that key to MCPBOX_ENCRYPTION_OLD_KEYS as %d:<64 hex characters>", e.ID, e.ID)
}

// Unwrap makes errors.Is(err, ErrUnknownKeyID) true.
func (e *UnknownKeyIDError) Unwrap() error { return ErrUnknownKeyID }

// Keyring holds the AES-256-GCM keys of one process: the current key, which
// seals, and the old keys, which only open. It keeps no raw key bytes, only
// the expanded ciphers, the HKDF pseudorandom keys of derive.go and the
// derived setup code, and it is safe for concurrent use.
type Keyring struct {
	currentID byte
	aeads     [maxKeyID + 1]cipher.AEAD // indexed by key id; nil when not configured
	prks      [maxKeyID + 1][]byte      // HKDF-Extract of each key (derive.go); nil when not configured
	setupCode string
}

// New builds a Keyring from MCPBOX_ENCRYPTION_KEY_ID (currentID, 1–255),
// MCPBOX_ENCRYPTION_KEY (currentHex, 64 hex characters) and
// MCPBOX_ENCRYPTION_OLD_KEYS (oldKeys, "id:hex64[,id:hex64]", may be empty).
// Every problem is reported, each naming its variable and rule; no error
// echoes key material. New does not judge key strength: config.Load does,
// and only warns in dev mode.
func New(currentID int, currentHex, oldKeys string) (*Keyring, error) {
	var errs []error
	validID := currentID >= 1 && currentID <= maxKeyID
	if !validID {
		errs = append(errs, fmt.Errorf("MCPBOX_ENCRYPTION_KEY_ID: must be an integer 1–255 (got %d)", currentID))
	}
	k := &Keyring{}
	key, err := decodeKey(currentHex)
	if err != nil {
		errs = append(errs, fmt.Errorf("MCPBOX_ENCRYPTION_KEY: %w", err))
	}
	if err == nil && validID {
		k.currentID = byte(currentID) //nolint:gosec // G115: validID means 1–255
		k.aeads[currentID] = newAEAD(key)
		k.prks[currentID] = extractPRK(key)
		k.setupCode = deriveSetupCode(key)
	}
	clear(key)
	errs = append(errs, k.addOldKeys(currentID, oldKeys)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return k, nil
}

// addOldKeys parses MCPBOX_ENCRYPTION_OLD_KEYS into k and returns every
// problem found. Entries are named by position or id, never by content.
func (k *Keyring) addOldKeys(currentID int, oldKeys string) []error {
	if strings.TrimSpace(oldKeys) == "" {
		return nil
	}
	const v = "MCPBOX_ENCRYPTION_OLD_KEYS"
	var errs []error
	seen := map[int]bool{}
	for i, entry := range strings.Split(oldKeys, ",") {
		idText, hexKey, ok := strings.Cut(strings.TrimSpace(entry), ":")
		id, err := strconv.Atoi(idText)
		switch {
		case !ok || err != nil || id < 1 || id > maxKeyID:
			errs = append(errs, fmt.Errorf("%s: entry %d must be id:hex64 with id 1–255", v, i+1))
			continue
		case id == currentID:
			errs = append(errs, fmt.Errorf("%s: key id %d equals MCPBOX_ENCRYPTION_KEY_ID; an old key needs an id of its own", v, id))
			continue
		case seen[id]:
			errs = append(errs, fmt.Errorf("%s: key id %d appears twice", v, id))
			continue
		}
		seen[id] = true
		key, err := decodeKey(hexKey)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: key id %d: %w", v, id, err))
			continue
		}
		k.aeads[id] = newAEAD(key)
		k.prks[id] = extractPRK(key)
		clear(key)
	}
	return errs
}

// decodeKey parses 64 hex characters into a 32-byte key.
func decodeKey(s string) ([]byte, error) {
	const gen = "generate one with `openssl rand -hex 32`"
	if len(s) != 2*keyLen {
		return nil, fmt.Errorf("must be exactly 64 hex characters (got %d); %s", len(s), gen)
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("must be exactly 64 hex characters (0-9, a-f); %s", gen)
	}
	return key, nil
}

// newAEAD expands a 32-byte key. aes.NewCipher cannot fail for that length
// and cipher.NewGCM cannot fail for AES, so a failure is a broken invariant.
func newAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("seal: aes.NewCipher with a 32-byte key: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("seal: cipher.NewGCM over AES: " + err.Error())
	}
	return aead
}

// CurrentID returns the id of the key that seals (MCPBOX_ENCRYPTION_KEY_ID).
func (k *Keyring) CurrentID() int { return int(k.currentID) }

// Has reports whether a key with this id is configured, current or old.
func (k *Keyring) Has(id int) bool {
	return id >= 1 && id <= maxKeyID && k.aeads[id] != nil
}

// String describes the keyring without key material or the setup code.
func (k *Keyring) String() string {
	old := 0
	for id, a := range k.aeads {
		if a != nil && id != int(k.currentID) {
			old++
		}
	}
	return fmt.Sprintf("seal.Keyring(current key id %d, %d old keys)", k.currentID, old)
}

// GoString is String, so %#v never prints the fields.
func (k *Keyring) GoString() string { return k.String() }

// Seal encrypts plaintext under the current key, bound to purpose (one of
// the Purpose* helpers). Two seals of one value differ: the nonce is random.
func (k *Keyring) Seal(purpose string, plaintext []byte) ([]byte, error) {
	if purpose == "" {
		return nil, errEmptyPurpose
	}
	out := make([]byte, headerLen+nonceLen, Overhead+len(plaintext))
	out[0] = formatV1
	out[1] = k.currentID
	nonce := out[headerLen : headerLen+nonceLen]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: read nonce: %w", err)
	}
	return k.aeads[k.currentID].Seal(out, nonce, plaintext, additionalData(out[:headerLen], purpose)), nil
}

// Open decrypts a value Seal produced for the same purpose, with the key
// its header names. Errors: ErrMalformed, an *UnknownKeyIDError
// (ErrUnknownKeyID), or ErrDecrypt; on error the plaintext is nil. A
// successful Open returns a non-nil slice the caller owns.
func (k *Keyring) Open(purpose string, ciphertext []byte) ([]byte, error) {
	if purpose == "" {
		return nil, errEmptyPurpose
	}
	id, err := KeyID(ciphertext)
	if err != nil {
		return nil, err
	}
	aead := k.aeads[id]
	if aead == nil {
		return nil, &UnknownKeyIDError{ID: id}
	}
	nonce := ciphertext[headerLen : headerLen+nonceLen]
	plaintext, err := aead.Open(nil, nonce, ciphertext[headerLen+nonceLen:], additionalData(ciphertext[:headerLen], purpose))
	if err != nil {
		return nil, fmt.Errorf("%w (key id %d)", ErrDecrypt, id)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// Reseal is one step of `backend rekey`: a value sealed under an old key
// is opened and sealed again under the current key, and changed is true. A
// value already under the current key id is returned unchanged, without
// being decrypted, and changed is false. Errors are those of Open.
func (k *Keyring) Reseal(purpose string, ciphertext []byte) (resealed []byte, changed bool, err error) {
	id, err := KeyID(ciphertext)
	if err != nil {
		return nil, false, err
	}
	if id == int(k.currentID) {
		return ciphertext, false, nil
	}
	plaintext, err := k.Open(purpose, ciphertext)
	if err != nil {
		return nil, false, err
	}
	defer clear(plaintext)
	out, err := k.Seal(purpose, plaintext)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// KeyID returns the key id in a stored value's header without decrypting
// it, for `backend migrate check`, the rekey row counts and the
// mcpbox_backend_encrypted_values metric. It fails with ErrMalformed when
// the value is too short, has an unknown format byte or key id 0.
func KeyID(ciphertext []byte) (int, error) {
	switch {
	case len(ciphertext) >= 1 && ciphertext[0] != formatV1:
		return 0, fmt.Errorf("%w: format byte 0x%02x, want 0x%02x", ErrMalformed, ciphertext[0], formatV1)
	case len(ciphertext) < Overhead:
		return 0, fmt.Errorf("%w: %d bytes, shorter than the %d of format, key id, nonce and tag", ErrMalformed, len(ciphertext), Overhead)
	case ciphertext[1] == 0:
		return 0, fmt.Errorf("%w: key id 0, want 1–255", ErrMalformed)
	}
	return int(ciphertext[1]), nil
}

// additionalData is the 2 header bytes ‖ purpose (backend.md §12.1).
func additionalData(header []byte, purpose string) []byte {
	ad := make([]byte, 0, len(header)+len(purpose))
	ad = append(ad, header...)
	return append(ad, purpose...)
}
