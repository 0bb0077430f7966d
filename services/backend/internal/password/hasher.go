package password

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/argon2id"
)

// ErrBusy means every hashing slot stayed taken for the whole wait; the API answers 503 `busy` with
// `Retry-After: 1` (backend.md §7.2).
var ErrBusy = errors.New("password: every hashing slot is busy; retry in a second")

// defaultWait is how long a computation waits for a slot before ErrBusy (backend.md §7.2).
const defaultWait = 3 * time.Second

// Hasher makes and checks Argon2id password hashes with fixed parameters, running at most a fixed number of
// computations at once. It is safe for concurrent use.
type Hasher struct {
	params Params
	slots  chan struct{} // a buffered send takes a slot; a receive frees it
	wait   time.Duration // how long to wait for a slot; tests shorten it
	dummy  string        // the hash VerifyUnknown checks against: h's parameters, fixed salt, zero key
}

// New returns a Hasher that hashes with p and runs at most concurrency computations at once
// (MCPBOX_HASH_CONCURRENCY; values below 1 count as 1). The parameters come from code, [Pinned] in production and
// [Fast] in tests, never from configuration, so New panics when p is outside the limits a stored hash must meet:
// that is a programming error, and hashes made with such parameters could never be verified.
func New(p Params, concurrency int) *Hasher {
	if err := p.validate(); err != nil {
		panic(fmt.Sprintf("password.New: parameters %v: %v", p, err))
	}
	// The dummy needs no computation: verifying any password against it costs one Argon2id run with p, exactly
	// like a real hash, and a derived key of all zeros is never produced in practice (ok is ignored anyway).
	salt := make([]byte, p.SaltLen)
	copy(salt, "mcpbox unknown-user dummy salt..")
	return &Hasher{
		params: p,
		slots:  make(chan struct{}, max(concurrency, 1)),
		wait:   defaultWait,
		dummy:  formatPHC(p, salt, make([]byte, p.KeyLen)),
	}
}

// Hash returns the PHC string of password with a fresh 16-byte random salt, for example
// `$argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>` (standard base64 without padding). It returns ErrBusy when no slot
// frees up within the wait, and ctx.Err() when ctx ends first; nothing is computed then.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	s, err := argon2id.CreateHash(password, h.params.library())
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return s, nil
}

// Verify reports whether password matches stored, reading the parameters from stored and comparing in constant
// time. needsRehash is true when ok is true and stored was made with other parameters than h's: the caller then
// stores a fresh Hash of the same password (backend.md §7.2, BE-16). It is never true for a wrong password, which
// must not be stored. A stored string that is not a canonical argon2id v=19 PHC string, or whose parameters exceed
// the limits (m ≤ 262144 KiB, t ≤ 10, p ≤ 16), returns an error wrapping ErrInvalidHash before any slot is taken or
// memory allocated. Errors ErrBusy and ctx.Err() are as for Hash.
func (h *Hasher) Verify(ctx context.Context, password, stored string) (ok, needsRehash bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, false, err
	}
	p, err := parseStored(stored)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	ok, lp, err := argon2id.CheckHash(password, stored)
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	if got := fromLibrary(lp); got != p {
		// parseStored is stricter than argon2id.DecodeHash, so they must agree; refuse rather than guess.
		return false, false, fmt.Errorf("%w: read as %v here but %v by argon2id", ErrInvalidHash, p, got)
	}
	return ok, ok && p != h.params, nil
}

// VerifyUnknown spends what Verify spends on a hash made with h's parameters, for a login naming no existing user,
// so that an unknown username takes as long as a known one (backend.md §7.2, BE-13). ok is always false. It takes a
// slot like Verify, so it returns ErrBusy and ctx.Err() in the same cases.
func (h *Hasher) VerifyUnknown(ctx context.Context, password string) (ok bool, err error) {
	if _, _, err := h.Verify(ctx, password, h.dummy); err != nil {
		return false, err
	}
	return false, nil
}

// acquire takes a computation slot, waiting up to h.wait. A ctx that has already ended fails at once, even when a
// slot is free.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return ErrBusy
	}
}

// release frees the slot taken by acquire.
func (h *Hasher) release() { <-h.slots }
