package password

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
)

const testPassword = "correct horse battery staple"

// TestBE16_PinnedParameters asserts the production parameters (backend.md §7.2) and BE-16: a stored hash with t=2
// verifies under the pinned hasher and asks for a rehash, and the rehash carries m=65536,t=3,p=2 (TestVerify shows
// that a hash with the hasher's own parameters asks for none). It runs the only 64 MiB computations in this
// package, three of them.
func TestBE16_PinnedParameters(t *testing.T) {
	t.Parallel()
	want := Params{MemoryKiB: 65536, Iterations: 3, Parallelism: 2, SaltLen: 16, KeyLen: 32}
	if got := Pinned(); got != want {
		t.Fatalf("Pinned() = %v, want %v", got, want)
	}
	h := New(Pinned(), 2)
	ctx := t.Context()

	hash, err := h.Hash(ctx, testPassword)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	const prefix = "$argon2id$v=19$m=65536,t=3,p=2$"
	if !strings.HasPrefix(hash, prefix) {
		t.Fatalf("Hash = %q, want prefix %q", hash, prefix)
	}
	shape := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !shape.MatchString(hash) {
		t.Fatalf("Hash = %q, want a 16-byte salt and 32-byte key in standard base64 without padding", hash)
	}

	old, err := argon2id.CreateHash(testPassword, &argon2id.Params{
		Memory: 65536, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32,
	})
	if err != nil {
		t.Fatalf("CreateHash t=2: %v", err)
	}
	ok, rehash, err := h.Verify(ctx, testPassword, old)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify(t=2 hash) = ok %v, needsRehash %v, err %v; want true, true, nil", ok, rehash, err)
	}
}

func TestFastParameters(t *testing.T) {
	t.Parallel()
	want := Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	if got := Fast(); got != want {
		t.Fatalf("Fast() = %v, want %v", got, want)
	}
}

func TestHashFormat(t *testing.T) {
	t.Parallel()
	h := New(Fast(), 2)
	a, err := h.Hash(t.Context(), testPassword)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	shape := regexp.MustCompile(`^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !shape.MatchString(a) {
		t.Fatalf("Hash = %q, want the PHC string in standard base64 without padding", a)
	}
	if p, err := parseStored(a); err != nil || p != Fast() {
		t.Fatalf("parseStored(Hash) = %v, %v; want %v, nil", p, err, Fast())
	}
	b, err := h.Hash(t.Context(), testPassword)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal (%q): the salt is not random", a)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	h := New(Fast(), 4)
	mustHash := func(p Params, password string) string {
		t.Helper()
		s, err := argon2id.CreateHash(password, p.library())
		if err != nil {
			t.Fatalf("CreateHash: %v", err)
		}
		return s
	}
	slower := Fast()
	slower.Iterations = 2
	shortSalt := Fast()
	shortSalt.SaltLen = 8
	tests := []struct {
		name, password, stored string
		ok, rehash             bool
	}{
		{"round trip", testPassword, mustHash(Fast(), testPassword), true, false},
		{"wrong password", "correct horse battery stapler", mustHash(Fast(), testPassword), false, false},
		{"empty password", "", mustHash(Fast(), testPassword), false, false},
		{"multi-byte password", "пароль-密码-🔑🔑", mustHash(Fast(), "пароль-密码-🔑🔑"), true, false},
		{"other iterations", testPassword, mustHash(slower, testPassword), true, true},
		{"other iterations, wrong password", "nope", mustHash(slower, testPassword), false, false},
		{"other salt length", testPassword, mustHash(shortSalt, testPassword), true, true},
		// Reference vectors (phc-winner-argon2 and libar2 test suites): password "password", salt "somesalt".
		{"reference m=256,p=1", "password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", true, true},
		{"reference m=256,p=2", "password", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", true, true},
		{"reference, wrong password", "passwore", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(t.Context(), tt.password, tt.stored)
			if err != nil || ok != tt.ok || rehash != tt.rehash {
				t.Fatalf("Verify = ok %v, needsRehash %v, err %v; want %v, %v, nil", ok, rehash, err, tt.ok, tt.rehash)
			}
		})
	}
}

// malformedHashes are stored strings Verify must refuse without computing; the fuzz target starts from them too.
func malformedHashes() map[string]string {
	const salt, key = "c29tZXNhbHQ", "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	valid := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	return map[string]string{
		"empty":                   "",
		"truncated":               "$argon2id$v=19$m=1",
		"bcrypt":                  "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"plain text":              "hunter2hunter2",
		"argon2i":                 "$argon2i$v=19$m=256,t=2,p=1$" + salt + "$" + key,
		"version 16":              "$argon2id$v=16$m=256,t=2,p=1$" + salt + "$" + key,
		"no version":              "$argon2id$m=256,t=2,p=1$" + salt + "$" + key,
		"huge memory":             valid("m=4294967295,t=2,p=1"),
		"memory above cap":        valid("m=262145,t=1,p=1"),
		"memory overflow":         valid("m=4294967296,t=2,p=1"),
		"memory below 8 per lane": valid("m=15,t=1,p=2"),
		"iterations above cap":    valid("m=256,t=11,p=1"),
		"huge iterations":         valid("m=256,t=4294967295,p=1"),
		"zero iterations":         valid("m=256,t=0,p=1"),
		"parallelism above cap":   valid("m=256,t=2,p=17"),
		"parallelism overflow":    valid("m=256,t=2,p=256"),
		"zero parallelism":        valid("m=256,t=2,p=0"),
		"leading zero":            valid("m=0256,t=2,p=1"),
		"sign":                    valid("m=+256,t=2,p=1"),
		"reordered":               valid("t=2,m=256,p=1"),
		"extra parameter":         valid("m=256,t=2,p=1,k=1"),
		"trailing garbage":        valid("m=256,t=2,p=1x"),
		"padded salt":             "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$" + key,
		"newline in key":          "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$nf65EOgLrQMR/uIPnA4r\nEsF5h7TKyQwu9U1bMCHGi/4",
		"url alphabet":            "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$nf65EOgLrQMR_uIPnA4rEsF5h7TKyQwu9U1bMCHGi_4",
		"non-canonical bits":      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHR$" + key,
		"short salt":              "$argon2id$v=19$m=256,t=2,p=1$c29tZQ$" + key,
		"empty key":               "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$",
		"short key":               "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$bmY2NUVPZ0xyUU1S",
		"extra field":             valid("m=256,t=2,p=1") + "$",
		"leading text":            "x" + valid("m=256,t=2,p=1"),
		"too long":                "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + strings.Repeat("A", 300),
	}
}

// TestVerifyRefusesMalformed holds the only slot while verifying, so a stored string that got as far as a
// computation would return ErrBusy: an ErrInvalidHash answer proves the refusal came first, before any allocation
// (the m=4294967295 case would otherwise ask for 4 TiB).
func TestVerifyRefusesMalformed(t *testing.T) {
	t.Parallel()
	for name, stored := range malformedHashes() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := New(Fast(), 1)
			h.wait = time.Millisecond
			holdSlot(t, h)
			ok, rehash, err := h.Verify(t.Context(), "password", stored)
			if !errors.Is(err, ErrInvalidHash) || ok || rehash {
				t.Fatalf("Verify(%q) = ok %v, needsRehash %v, err %v; want false, false, ErrInvalidHash",
					stored, ok, rehash, err)
			}
			if strings.Contains(err.Error(), "nf65EOgL") {
				t.Fatalf("error %q quotes the stored hash", err)
			}
		})
	}
}

// holdSlot takes one of h's slots for the rest of the test.
func holdSlot(t *testing.T, h *Hasher) {
	t.Helper()
	if err := h.acquire(t.Context()); err != nil {
		t.Fatalf("acquire: %v", err)
	}
	t.Cleanup(h.release)
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2} {
		h := New(Fast(), n)
		h.wait = 10 * time.Millisecond
		stored, err := h.Hash(t.Context(), testPassword)
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		for range n {
			if err := h.acquire(t.Context()); err != nil {
				t.Fatalf("concurrency %d: acquire: %v", n, err)
			}
		}
		if _, err := h.Hash(t.Context(), testPassword); !errors.Is(err, ErrBusy) {
			t.Fatalf("concurrency %d, all slots held: Hash err = %v, want ErrBusy", n, err)
		}
		if ok, _, err := h.Verify(t.Context(), testPassword, stored); !errors.Is(err, ErrBusy) || ok {
			t.Fatalf("concurrency %d, all slots held: Verify = %v, %v; want false, ErrBusy", n, ok, err)
		}
		if ok, err := h.VerifyUnknown(t.Context(), testPassword); !errors.Is(err, ErrBusy) || ok {
			t.Fatalf("concurrency %d, all slots held: VerifyUnknown = %v, %v; want false, ErrBusy", n, ok, err)
		}
		h.release()
		if ok, _, err := h.Verify(t.Context(), testPassword, stored); err != nil || !ok {
			t.Fatalf("concurrency %d, one slot freed: Verify = %v, %v; want true, nil", n, ok, err)
		}
		for range n - 1 {
			h.release()
		}
	}
}

// TestWaiterGetsFreedSlot: a computation that finds every slot taken waits, and runs once a slot frees up.
func TestWaiterGetsFreedSlot(t *testing.T) {
	t.Parallel()
	h := New(Fast(), 1)
	h.wait = time.Minute
	if err := h.acquire(t.Context()); err != nil {
		t.Fatalf("acquire: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(t.Context(), testPassword)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Hash returned %v while the only slot was held", err)
	case <-time.After(20 * time.Millisecond):
	}
	h.release()
	if err := <-done; err != nil {
		t.Fatalf("Hash after the slot was freed: %v", err)
	}
}

func TestNewClampsConcurrency(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, 0} {
		if got := cap(New(Fast(), n).slots); got != 1 {
			t.Errorf("New(Fast(), %d): %d slots, want 1", n, got)
		}
	}
	if got := cap(New(Fast(), 3).slots); got != 3 {
		t.Errorf("New(Fast(), 3): %d slots, want 3", got)
	}
	if got := New(Fast(), 1).wait; got != 3*time.Second {
		t.Errorf("default wait = %v, want 3s (backend.md §7.2)", got)
	}
}

func TestNewPanicsOnUnusableParams(t *testing.T) {
	t.Parallel()
	for _, p := range []Params{
		{MemoryKiB: 1024, Iterations: 0, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 1024, Iterations: 1, Parallelism: 0, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 1 << 20, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, SaltLen: 4, KeyLen: 32},
		{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 0},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("New(%v) did not panic", p)
				}
			}()
			New(p, 1)
		}()
	}
}

func TestContextCancel(t *testing.T) {
	t.Parallel()
	h := New(Fast(), 1)
	stored, err := h.Hash(t.Context(), testPassword)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}

	t.Run("ended before", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := h.Hash(ctx, testPassword); !errors.Is(err, context.Canceled) {
			t.Errorf("Hash err = %v, want context.Canceled", err)
		}
		if ok, _, err := h.Verify(ctx, testPassword, stored); !errors.Is(err, context.Canceled) || ok {
			t.Errorf("Verify = %v, %v; want false, context.Canceled", ok, err)
		}
		if ok, err := h.VerifyUnknown(ctx, testPassword); !errors.Is(err, context.Canceled) || ok {
			t.Errorf("VerifyUnknown = %v, %v; want false, context.Canceled", ok, err)
		}
	})

	t.Run("ends while waiting", func(t *testing.T) {
		t.Parallel()
		waiting := New(Fast(), 1)
		waiting.wait = time.Hour
		holdSlot(t, waiting)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		if _, err := waiting.Hash(ctx, testPassword); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Hash err = %v, want context.DeadlineExceeded", err)
		}
	})
}

// TestVerifyUnknown covers BE-13's cost side: the dummy hash has the hasher's own parameters, so checking an
// unknown user runs the same Argon2id computation as checking a known one, and it takes a slot like one.
func TestVerifyUnknown(t *testing.T) {
	t.Parallel()
	for _, p := range []Params{Fast(), {MemoryKiB: 2048, Iterations: 2, Parallelism: 2, SaltLen: 24, KeyLen: 48}} {
		h := New(p, 1)
		if got, err := parseStored(h.dummy); err != nil || got != p {
			t.Fatalf("dummy hash %q reads as %v, %v; want %v, nil", h.dummy, got, err, p)
		}
		for _, password := range []string{"", testPassword, "mcpbox unknown-user dummy salt.."} {
			if ok, err := h.VerifyUnknown(t.Context(), password); ok || err != nil {
				t.Fatalf("VerifyUnknown(%q) = %v, %v; want false, nil", password, ok, err)
			}
		}
	}
}
