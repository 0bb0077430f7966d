package seal_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// FuzzOpen feeds arbitrary bytes and purposes to Open, KeyID and Reseal:
// they never panic, fail only with the package's errors, and Open succeeds
// only on a value Seal produced for that very purpose (the fixed vectors:
// Seal is random, and fuzz workers are separate processes).
func FuzzOpen(f *testing.F) {
	k := vectorKeyring(f)
	genuine := map[string]vector{} // ciphertext → the vector it is
	for _, v := range vectors() {
		ct := v.ciphertext(f)
		genuine[string(ct)] = v
		f.Add(ct, v.purpose)
		f.Add(ct, v.purpose+"x")
		f.Add(ct[:len(ct)-1], v.purpose)
		flipped := bytes.Clone(ct)
		flipped[len(flipped)/2] ^= 0x80
		f.Add(flipped, v.purpose)
		other := bytes.Clone(ct)
		other[1] = byte(3 - v.keyID) // the other configured id
		f.Add(other, v.purpose)
	}
	f.Add([]byte{}, "p")
	f.Add([]byte{0x01}, "p")
	f.Add([]byte{0x01, 0x02}, "")
	f.Add(append([]byte{0x01, 0x09}, make([]byte, 28)...), "p")
	f.Add(append([]byte{0x02, 0x02}, make([]byte, 40)...), "p")

	f.Fuzz(func(t *testing.T, data []byte, purpose string) {
		id, idErr := seal.KeyID(data)
		if idErr != nil && !errors.Is(idErr, seal.ErrMalformed) {
			t.Fatalf("KeyID error %v is not ErrMalformed", idErr)
		}
		if idErr == nil && (id < 1 || id > 255 || id != int(data[1])) {
			t.Fatalf("KeyID = %d for header % x", id, data[:2])
		}

		got, err := k.Open(purpose, data)
		if err != nil {
			if got != nil {
				t.Fatalf("Open returned %q alongside %v", got, err)
			}
		} else {
			want, ok := genuine[string(data)]
			if !ok || want.purpose != purpose || string(got) != want.value {
				t.Fatalf("Open(%q, % x) succeeded on bytes Seal did not produce for that purpose", purpose, data)
			}
		}

		out, changed, rerr := k.Reseal(purpose, data)
		switch {
		case rerr != nil:
			if out != nil || changed {
				t.Fatalf("Reseal returned output alongside %v", rerr)
			}
		case changed:
			if err != nil {
				t.Fatalf("Reseal re-encrypted a value Open rejects: %v", err)
			}
			again, err := k.Open(purpose, out)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("resealed value opens to %q, %v; want %q", again, err, got)
			}
		case !bytes.Equal(out, data) || id != k.CurrentID():
			t.Fatal("Reseal reported no change but returned other bytes or left an old key id")
		}
	})
}
