package password

import (
	"errors"
	"testing"

	"github.com/alexedwards/argon2id"
)

// FuzzVerifyStored feeds arbitrary stored strings to Verify: it must never panic, must refuse exactly what
// parseStored refuses (with ErrInvalidHash, ok and needsRehash false), and whatever parseStored accepts must be the
// canonical spelling that argon2id.DecodeHash reads the same way.
func FuzzVerifyStored(f *testing.F) {
	// pwHash is a Fast-parameter hash of "pw", fixed rather than made per run: fuzz workers are separate processes,
	// and each must know the one stored string that may match.
	const pwHash = "$argon2id$v=19$m=1024,t=1,p=1$cJmf7FsibCnu3QSfDfgCeA$I1cA7BPggzfi37YMpMy/8QFtoKTwSgPvfBkkpxOmRME"
	h := New(Fast(), 1)
	f.Add(pwHash)
	f.Add(h.dummy)
	f.Add("$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
	for _, s := range malformedHashes() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stored string) {
		p, perr := parseStored(stored)
		if perr == nil {
			lp, salt, key, err := argon2id.DecodeHash(stored)
			if err != nil {
				t.Fatalf("parseStored accepted %q but argon2id.DecodeHash refuses it: %v", stored, err)
			}
			if fromLibrary(lp) != p {
				t.Fatalf("%q: parseStored reads %v, argon2id.DecodeHash %v", stored, p, fromLibrary(lp))
			}
			if canon := formatPHC(p, salt, key); canon != stored {
				t.Fatalf("parseStored accepted the non-canonical %q (canonical %q)", stored, canon)
			}
			if err := p.validate(); err != nil {
				t.Fatalf("parseStored accepted %q beyond the limits: %v", stored, err)
			}
			if uint64(p.MemoryKiB)*uint64(p.Iterations) > 8*1024 {
				return // valid but too slow to compute for every fuzz input; the checks above covered it
			}
		} else if !errors.Is(perr, ErrInvalidHash) {
			t.Fatalf("parseStored(%q) err = %v, want ErrInvalidHash", stored, perr)
		}
		ok, rehash, err := h.Verify(t.Context(), "pw", stored)
		switch {
		case (err == nil) != (perr == nil):
			t.Fatalf("Verify(%q) err = %v, but parseStored err = %v", stored, err, perr)
		case err != nil && (ok || rehash):
			t.Fatalf("Verify(%q) = ok %v, needsRehash %v with err %v", stored, ok, rehash, err)
		case ok != (stored == pwHash):
			// Accepted spellings are canonical, so only pwHash itself can match "pw".
			t.Fatalf("Verify(%q) = ok %v; only pwHash should match", stored, ok)
		}
	})
}
