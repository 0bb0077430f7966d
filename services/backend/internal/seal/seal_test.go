package seal_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

// Test keys: distinct, and not required to be strong (config judges that).
const (
	key1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	key2 = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	key3 = "f0e1d2c3b4a5968778695a4b3c2d1e0f0f1e2d3c4b5a69788796a5b4c3d2e1f0"
)

// setupVector is SetupCode for key1, computed once from backend.md §7.1
// (HMAC-SHA256(key, "mcpbox setup code"), base32 without padding, first 16
// characters in groups of four) and cross-checked in TestSetupCode.
const setupVector = "VU6I-5RQS-YB7E-C5W2"

// vector is a value sealed once by this package and kept as bytes, so a
// change of format, associated data or key handling that would strand the
// values already in databases fails TestKnownAnswer. FuzzOpen uses the same
// values as seeds: they are fixed, so every fuzz worker process agrees on
// which inputs are genuine.
type vector struct {
	keyID          int
	purpose, value string
	ciphertextHex  string
}

// vectors were produced by Seal with key1 (id 1) and key2 (id 2).
func vectors() []vector {
	return []vector{
		{2, "key_check", "mcpbox", "0102c0534079c9d96fa77c344ff3d3f279fe3f4a7750ae4b46b1745693a9097c5496debf"},
		{
			2, "server_secret:0b6f6c1e-6d0c-4b1a-9d2e-5f3c2a1b0c9d:API_TOKEN", "sk-live-0123456789",
			"0102ffa262e7678e8558a9376f07a5ec60faafd11eb98ff120e15c610b5d9cf74772ef61f71d37f68bc6774365b9f433",
		},
		{2, "p", "", "01023d370b85cc0c97ab92402fcf8a005fa6b191ab9aaa95d3b6a3d69519"},
		{
			1, "oauth_tokens:5a0e2b8c-2f71-4c1e-9a3b-0d4e6f8a1b2c", `{"access_token":"t"}`,
			"01011993dcc769ac1f6235ee1ec5869c112db6a5cb6ccfa03c56ed0aaedce8bc36bfec4275f611e036a55eb64376bef16ec7",
		},
	}
}

// vectorKeyring opens every vector: key2 current, key1 old.
func vectorKeyring(tb testing.TB) *seal.Keyring {
	tb.Helper()
	k, err := seal.New(2, key2, "1:"+key1)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func (v vector) ciphertext(tb testing.TB) []byte {
	tb.Helper()
	ct, err := hex.DecodeString(v.ciphertextHex)
	if err != nil {
		tb.Fatal(err)
	}
	return ct
}

func TestKnownAnswer(t *testing.T) {
	t.Parallel()
	k := vectorKeyring(t)
	for _, v := range vectors() {
		t.Run(v.purpose, func(t *testing.T) {
			t.Parallel()
			ct := v.ciphertext(t)
			if id, err := seal.KeyID(ct); err != nil || id != v.keyID {
				t.Errorf("KeyID = %d, %v; want %d", id, err, v.keyID)
			}
			got, err := k.Open(v.purpose, ct)
			if err != nil || string(got) != v.value {
				t.Errorf("Open = %q, %v; want %q", got, err, v.value)
			}
		})
	}
	if err := k.CheckKey(vectors()[0].ciphertext(t)); err != nil {
		t.Errorf("CheckKey of the stored key_check vector: %v", err)
	}
}

func newKeyring(t *testing.T, id int, hexKey, old string) *seal.Keyring {
	t.Helper()
	k, err := seal.New(id, hexKey, old)
	if err != nil {
		t.Fatalf("seal.New(%d, key, %q): %v", id, old, err)
	}
	return k
}

func mustSeal(t *testing.T, k *seal.Keyring, purpose string, plaintext []byte) []byte {
	t.Helper()
	ct, err := k.Seal(purpose, plaintext)
	if err != nil {
		t.Fatalf("Seal(%q): %v", purpose, err)
	}
	return ct
}

func TestBE58_PurposeBindsCiphertext(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 1, key1, "")
	const serverA, serverB = "0b6f6c1e-6d0c-4b1a-9d2e-5f3c2a1b0c9d", "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
	value := []byte("sk-live-0123456789")
	ct := mustSeal(t, k, seal.PurposeServerSecret(serverA, "API_TOKEN"), value)

	got, err := k.Open(seal.PurposeServerSecret(serverB, "API_TOKEN"), ct)
	if !errors.Is(err, seal.ErrDecrypt) {
		t.Fatalf("Open under server B = %v, want ErrDecrypt", err)
	}
	if got != nil {
		t.Errorf("Open under server B returned plaintext %q, want nil", got)
	}
	for _, leak := range []string{serverA, serverB, "API_TOKEN", "server_secret", string(value)} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q names %q; it must not say which secret it was", err, leak)
		}
	}
	if _, err := k.Open(seal.PurposeServerSecret(serverA, "OTHER"), ct); !errors.Is(err, seal.ErrDecrypt) {
		t.Errorf("Open under another name = %v, want ErrDecrypt", err)
	}

	got, err = k.Open(seal.PurposeServerSecret(serverA, "API_TOKEN"), ct)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("Open under server A = %q, %v; want %q", got, err, value)
	}

	ct2 := mustSeal(t, k, seal.PurposeServerSecret(serverA, "API_TOKEN"), value)
	if bytes.Equal(ct, ct2) {
		t.Error("two seals of one value are identical; the nonce must be random")
	}
	if bytes.Equal(ct[2:14], ct2[2:14]) {
		t.Error("two seals share a nonce")
	}
}

func TestSealFormat(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 42, key1, "")
	plaintext := []byte("a secret value")
	ct := mustSeal(t, k, "p", plaintext)
	if len(ct) != seal.Overhead+len(plaintext) || seal.Overhead != 30 {
		t.Fatalf("len = %d, Overhead = %d; want 1+1+12+len(plaintext)+16 = %d", len(ct), seal.Overhead, 30+len(plaintext))
	}
	if ct[0] != 0x01 || ct[1] != 42 {
		t.Errorf("header = % x, want 01 2a", ct[:2])
	}
	if bytes.Contains(ct, plaintext) {
		t.Error("ciphertext contains the plaintext")
	}
	// The header is authenticated: changing the format or key id byte fails
	// even when the new id names the same key.
	twin := newKeyring(t, 42, key1, "43:"+key1)
	forged := bytes.Clone(ct)
	forged[1] = 43
	if _, err := twin.Open("p", forged); !errors.Is(err, seal.ErrDecrypt) {
		t.Errorf("Open with the key id byte changed = %v, want ErrDecrypt", err)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	rotated := newKeyring(t, 2, key2, "1:"+key1+", 3:"+key3)
	tests := []struct {
		name   string
		sealer *seal.Keyring
		value  []byte
	}{
		{"current key", rotated, []byte("current-secret")},
		{"old key 1", newKeyring(t, 1, key1, ""), []byte("sealed before the rotation")},
		{"old key 3", newKeyring(t, 3, key3, ""), []byte("another old one")},
		{"empty value", rotated, []byte{}},
		{"binary value", rotated, bytes.Repeat([]byte{0, 0xff, 0x80}, 4000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			purpose := seal.PurposeOAuthTokens("5a0e2b8c-2f71-4c1e-9a3b-0d4e6f8a1b2c")
			ct := mustSeal(t, tt.sealer, purpose, tt.value)
			got, err := rotated.Open(purpose, ct)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got == nil || !bytes.Equal(got, tt.value) {
				t.Errorf("Open = %q, want %q (non-nil)", got, tt.value)
			}
		})
	}
}

func TestOpenUnknownKeyID(t *testing.T) {
	t.Parallel()
	ct := mustSeal(t, newKeyring(t, 7, key3, ""), seal.PurposeKeyCheck, []byte(seal.KeyCheckPlaintext))
	k := newKeyring(t, 2, key2, "1:"+key1)
	for name, open := range map[string]func() error{
		"Open":   func() error { _, err := k.Open(seal.PurposeKeyCheck, ct); return err },
		"Reseal": func() error { _, _, err := k.Reseal(seal.PurposeKeyCheck, ct); return err },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := open()
			var unknown *seal.UnknownKeyIDError
			if !errors.As(err, &unknown) || unknown.ID != 7 {
				t.Fatalf("err = %v, want *UnknownKeyIDError{ID: 7}", err)
			}
			if !errors.Is(err, seal.ErrUnknownKeyID) {
				t.Errorf("errors.Is(%v, ErrUnknownKeyID) = false", err)
			}
			want := "seal: value was sealed with key id 7, which is not configured; add that key to MCPBOX_ENCRYPTION_OLD_KEYS as 7:<64 hex characters>"
			if err.Error() != want {
				t.Errorf("text = %q, want %q", err, want)
			}
		})
	}
}

func TestOpenMalformed(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 1, key1, "")
	valid := mustSeal(t, k, "p", []byte("0123456789abcdefghij"))
	empty := mustSeal(t, k, "p", nil)
	withFormat := func(b byte) []byte { c := bytes.Clone(valid); c[0] = b; return c }
	withID := func(b byte) []byte { c := bytes.Clone(valid); c[1] = b; return c }
	flip := func(i int) []byte { c := bytes.Clone(valid); c[i] ^= 1; return c }
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"nil", nil, seal.ErrMalformed},
		{"empty", []byte{}, seal.ErrMalformed},
		{"1 byte", []byte{0x01}, seal.ErrMalformed},
		{"header only", []byte{0x01, 0x01}, seal.ErrMalformed},
		{"wrong format byte", withFormat(0x02), seal.ErrMalformed},
		{"format byte 0", withFormat(0x00), seal.ErrMalformed},
		{"key id 0", withID(0), seal.ErrMalformed},
		{"truncated tag of an empty value", empty[:len(empty)-1], seal.ErrMalformed},
		{"truncated tag", valid[:len(valid)-1], seal.ErrDecrypt},
		{"tag cut off", valid[:len(valid)-16], seal.ErrDecrypt},
		{"flipped nonce bit", flip(5), seal.ErrDecrypt},
		{"flipped ciphertext bit", flip(20), seal.ErrDecrypt},
		{"flipped tag bit", flip(len(valid) - 1), seal.ErrDecrypt},
		{"extra byte", append(bytes.Clone(valid), 0), seal.ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := k.Open("p", tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Open = %v, want %v", err, tt.wantErr)
			}
			if got != nil {
				t.Errorf("Open returned %q alongside an error", got)
			}
			if _, err := seal.KeyID(tt.in); errors.Is(tt.wantErr, seal.ErrMalformed) != errors.Is(err, seal.ErrMalformed) {
				t.Errorf("KeyID = %v; want ErrMalformed exactly when Open reports it", err)
			}
		})
	}
}

func TestMalformedMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []byte
		want string
	}{
		{nil, "seal: malformed ciphertext: 0 bytes, shorter than the 30 of format, key id, nonce and tag"},
		{[]byte{0x01}, "seal: malformed ciphertext: 1 bytes, shorter than the 30 of format, key id, nonce and tag"},
		{[]byte{0x7b, 0x22}, "seal: malformed ciphertext: format byte 0x7b, want 0x01"},
		{append([]byte{0x01, 0x00}, make([]byte, 28)...), "seal: malformed ciphertext: key id 0, want 1–255"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("% x", tt.in), func(t *testing.T) {
			t.Parallel()
			if _, err := seal.KeyID(tt.in); err == nil || err.Error() != tt.want {
				t.Errorf("KeyID = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEmptyPurpose(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 1, key1, "")
	if _, err := k.Seal("", []byte("value")); err == nil {
		t.Error("Seal with an empty purpose succeeded")
	}
	ct := mustSeal(t, k, "p", []byte("value"))
	if got, err := k.Open("", ct); err == nil || got != nil {
		t.Errorf("Open with an empty purpose = %q, %v; want an error", got, err)
	}
}

func TestKeyIDAndHas(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 9, key2, "1:"+key1+",255:"+key3)
	if k.CurrentID() != 9 {
		t.Errorf("CurrentID = %d, want 9", k.CurrentID())
	}
	for id, want := range map[int]bool{-1: false, 0: false, 1: true, 2: false, 9: true, 254: false, 255: true, 256: false, 265: false} {
		if got := k.Has(id); got != want {
			t.Errorf("Has(%d) = %v, want %v", id, got, want)
		}
	}
	for _, id := range []int{1, 9, 255} {
		sealer := newKeyring(t, id, key1, "")
		got, err := seal.KeyID(mustSeal(t, sealer, "p", []byte("v")))
		if err != nil || got != id {
			t.Errorf("KeyID of a value sealed under id %d = %d, %v", id, got, err)
		}
	}
}

func TestReseal(t *testing.T) {
	t.Parallel()
	purpose := seal.PurposeJWTSigningKey("0123456789abcdef")
	value := []byte("-----BEGIN PRIVATE KEY-----")
	rotated := newKeyring(t, 2, key2, "1:"+key1)
	old := mustSeal(t, newKeyring(t, 1, key1, ""), purpose, value)
	current := mustSeal(t, rotated, purpose, value)

	t.Run("old key moves to current", func(t *testing.T) {
		t.Parallel()
		out, changed, err := rotated.Reseal(purpose, old)
		if err != nil || !changed {
			t.Fatalf("Reseal = changed %v, %v; want true, nil", changed, err)
		}
		if id, err := seal.KeyID(out); err != nil || id != 2 {
			t.Errorf("key id after Reseal = %d, %v; want 2", id, err)
		}
		// The key that matters now is key2 alone, and the purpose still binds.
		got, err := newKeyring(t, 2, key2, "").Open(purpose, out)
		if err != nil || !bytes.Equal(got, value) {
			t.Errorf("Open after Reseal = %q, %v; want %q", got, err, value)
		}
		if _, err := rotated.Open(seal.PurposeJWTSigningKey("fedcba9876543210"), out); !errors.Is(err, seal.ErrDecrypt) {
			t.Errorf("resealed value opens under another purpose: %v", err)
		}
	})
	t.Run("current key is left alone", func(t *testing.T) {
		t.Parallel()
		out, changed, err := rotated.Reseal(purpose, current)
		if err != nil || changed || !bytes.Equal(out, current) {
			t.Errorf("Reseal = changed %v, %v, same bytes %v; want false, nil, true", changed, err, bytes.Equal(out, current))
		}
	})
	t.Run("wrong purpose on an old value", func(t *testing.T) {
		t.Parallel()
		out, changed, err := rotated.Reseal(seal.PurposeJWTSigningKey("fedcba9876543210"), old)
		if !errors.Is(err, seal.ErrDecrypt) || changed || out != nil {
			t.Errorf("Reseal = %x, %v, %v; want nil, false, ErrDecrypt", out, changed, err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		t.Parallel()
		if _, _, err := rotated.Reseal(purpose, current[:10]); !errors.Is(err, seal.ErrMalformed) {
			t.Errorf("Reseal = %v, want ErrMalformed", err)
		}
	})
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	check1 := mustCheck(t, newKeyring(t, 1, key1, ""))
	check3 := mustCheck(t, newKeyring(t, 3, key3, ""))
	notCheck := mustSeal(t, newKeyring(t, 1, key1, ""), seal.PurposeKeyCheck, []byte("other"))
	otherPurpose := mustSeal(t, newKeyring(t, 1, key1, ""), "settings", []byte(seal.KeyCheckPlaintext))
	tests := []struct {
		name    string
		ring    *seal.Keyring
		stored  []byte
		want    string // "" means success
		wantErr error
	}{
		{"current key", newKeyring(t, 1, key1, ""), check1, "", nil},
		{"old key during a rotation", newKeyring(t, 2, key2, "1:"+key1), check1, "", nil},
		{
			"another key under the same id", newKeyring(t, 1, key2, ""), check1,
			"MCPBOX_ENCRYPTION_KEY does not match the key this database was created with (key id 1)", seal.ErrDecrypt,
		},
		{
			"wrong old key", newKeyring(t, 1, key1, "3:"+key2), check3,
			"MCPBOX_ENCRYPTION_KEY does not match the key this database was created with (key id 3)", seal.ErrDecrypt,
		},
		{
			"other plaintext", newKeyring(t, 1, key1, ""), notCheck,
			"MCPBOX_ENCRYPTION_KEY does not match the key this database was created with (key id 1)", seal.ErrDecrypt,
		},
		{
			"other purpose", newKeyring(t, 1, key1, ""), otherPurpose,
			"MCPBOX_ENCRYPTION_KEY does not match the key this database was created with (key id 1)", seal.ErrDecrypt,
		},
		{
			"id not configured", newKeyring(t, 1, key1, "2:"+key2), check3,
			"key id 3, which sealed this database's key check, is not configured: make it the current key " +
				"(MCPBOX_ENCRYPTION_KEY_ID=3) or add it to MCPBOX_ENCRYPTION_OLD_KEYS as 3:<64 hex characters>",
			seal.ErrUnknownKeyID,
		},
		{
			"malformed", newKeyring(t, 1, key1, ""), []byte("mcpbox"),
			"settings.encryption_key_check: seal: malformed ciphertext: format byte 0x6d, want 0x01", seal.ErrMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.ring.CheckKey(tt.stored)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckKey = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("CheckKey = %v,\nwant %q", err, tt.want)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("errors.Is(err, %v) = false", tt.wantErr)
			}
		})
	}
}

func mustCheck(t *testing.T, k *seal.Keyring) []byte {
	t.Helper()
	ct, err := k.NewKeyCheck()
	if err != nil {
		t.Fatalf("NewKeyCheck: %v", err)
	}
	return ct
}

func TestSetupCode(t *testing.T) {
	t.Parallel()
	// Recompute the vector from the definition, independently of the package.
	key, err := hex.DecodeString(key1)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("mcpbox setup code"))
	raw := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac.Sum(nil))[:16]
	if recomputed := raw[:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:]; recomputed != setupVector {
		t.Fatalf("test vector %q disagrees with the definition: %q", setupVector, recomputed)
	}

	k := newKeyring(t, 1, key1, "")
	if got := k.SetupCode(); got != setupVector {
		t.Errorf("SetupCode = %q, want %q", got, setupVector)
	}
	if !regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$`).MatchString(k.SetupCode()) {
		t.Errorf("SetupCode %q is not four groups of four base32 characters", k.SetupCode())
	}
	// Only the current key counts: not its id, not the old keys.
	if got := newKeyring(t, 200, key1, "1:"+key2).SetupCode(); got != setupVector {
		t.Errorf("SetupCode with another id and an old key = %q, want %q", got, setupVector)
	}
	if got := newKeyring(t, 1, key2, "").SetupCode(); got == setupVector {
		t.Error("another key gives the same setup code")
	}
}

func TestSetupCodeMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		given, want string
		ok          bool
	}{
		{setupVector, setupVector, true},
		{"vu6i-5rqs-yb7e-c5w2", setupVector, true},
		{"VU6I5RQSYB7EC5W2", setupVector, true},
		{" vu6i 5rqs\tyb7e c5w2\n", setupVector, true},
		{"VU6I-5RQS-YB7E-C5W2", "vu6i5rqsyb7ec5w2", true},
		{"VU6I-5RQS-YB7E-C5W3", setupVector, false},
		{"VU6I-5RQS-YB7E", setupVector, false},
		{"VU6I-5RQS-YB7E-C5W2X", setupVector, false},
		{"", setupVector, false},
		{"", "", false},
		{"- -", "--", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q vs %q", tt.given, tt.want), func(t *testing.T) {
			t.Parallel()
			if got := seal.SetupCodeMatches(tt.given, tt.want); got != tt.ok {
				t.Errorf("SetupCodeMatches = %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	const gen = "generate one with `openssl rand -hex 32`"
	tests := []struct {
		name    string
		id      int
		current string
		old     string
		want    string
	}{
		{"id 0", 0, key1, "", "MCPBOX_ENCRYPTION_KEY_ID: must be an integer 1–255 (got 0)"},
		{"id 256", 256, key1, "", "MCPBOX_ENCRYPTION_KEY_ID: must be an integer 1–255 (got 256)"},
		{"short key", 1, key1[:62], "", "MCPBOX_ENCRYPTION_KEY: must be exactly 64 hex characters (got 62); " + gen},
		{"empty key", 1, "", "", "MCPBOX_ENCRYPTION_KEY: must be exactly 64 hex characters (got 0); " + gen},
		{"not hex", 1, "zz" + key1[2:], "", "MCPBOX_ENCRYPTION_KEY: must be exactly 64 hex characters (0-9, a-f); " + gen},
		{"old key id twice", 1, key1, "3:" + key2 + ",3:" + key3, "MCPBOX_ENCRYPTION_OLD_KEYS: key id 3 appears twice"},
		{
			"old key with the current id", 2, key1, "2:" + key2,
			"MCPBOX_ENCRYPTION_OLD_KEYS: key id 2 equals MCPBOX_ENCRYPTION_KEY_ID; an old key needs an id of its own",
		},
		{"old entry without id", 1, key1, key2, "MCPBOX_ENCRYPTION_OLD_KEYS: entry 1 must be id:hex64 with id 1–255"},
		{"old id 0", 1, key1, "2:" + key2 + ",0:" + key3, "MCPBOX_ENCRYPTION_OLD_KEYS: entry 2 must be id:hex64 with id 1–255"},
		{"old id 256", 1, key1, "256:" + key2, "MCPBOX_ENCRYPTION_OLD_KEYS: entry 1 must be id:hex64 with id 1–255"},
		{"trailing comma", 1, key1, "2:" + key2 + ",", "MCPBOX_ENCRYPTION_OLD_KEYS: entry 2 must be id:hex64 with id 1–255"},
		{"old key short", 1, key1, "4:abcd", "MCPBOX_ENCRYPTION_OLD_KEYS: key id 4: must be exactly 64 hex characters (got 4); " + gen},
		{
			"every problem at once", 0, "xyz", "5:" + key2 + ",5:" + key3,
			"MCPBOX_ENCRYPTION_KEY_ID: must be an integer 1–255 (got 0)\n" +
				"MCPBOX_ENCRYPTION_KEY: must be exactly 64 hex characters (got 3); " + gen + "\n" +
				"MCPBOX_ENCRYPTION_OLD_KEYS: key id 5 appears twice",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := seal.New(tt.id, tt.current, tt.old)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("New error = %v,\nwant %q", err, tt.want)
			}
			if k != nil {
				t.Error("New returned a keyring alongside an error")
			}
			for _, key := range []string{key1, key2, key3, key1[:62], key2[:8]} {
				if strings.Contains(err.Error(), key) {
					t.Errorf("error echoes key material: %q", err)
				}
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	t.Parallel()
	for _, old := range []string{"", " ", "2:" + key2, " 2:" + key2 + " , 3:" + strings.ToUpper(key3) + " ", "255:" + key2} {
		if _, err := seal.New(1, key1, old); err != nil {
			t.Errorf("New(1, key1, %q): %v", old, err)
		}
	}
	if _, err := seal.New(255, strings.ToUpper(key1), ""); err != nil {
		t.Errorf("New with an upper-case key and id 255: %v", err)
	}
}

func TestKeyringDoesNotPrintSecrets(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, 2, key2, "1:"+key1)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, k)
		if out != "seal.Keyring(current key id 2, 1 old keys)" {
			t.Errorf("Sprintf(%q) = %q", format, out)
		}
		if strings.Contains(out, k.SetupCode()) {
			t.Errorf("Sprintf(%q) shows the setup code", format)
		}
	}
}

func TestPurposes(t *testing.T) {
	t.Parallel()
	const id, hash = "0b6f6c1e-6d0c-4b1a-9d2e-5f3c2a1b0c9d", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	tests := []struct{ got, want string }{
		{seal.PurposeServerSecret(id, "API_TOKEN"), "server_secret:" + id + ":API_TOKEN"},
		{seal.PurposeOAuthTokens(id), "oauth_tokens:" + id},
		{seal.PurposeOAuthClientSecret(id), "oauth_client_secret:" + id},
		{seal.PurposeOAuthFlowVerifier(hash), "oauth_flow_verifier:" + hash},
		{seal.PurposeOAuthFlowClientSecret(hash), "oauth_flow_client_secret:" + hash},
		{seal.PurposeJWTSigningKey("0123456789abcdef"), "jwt_signing_key:0123456789abcdef"},
		{seal.PurposeKeyCheck, "key_check"},
		{seal.KeyCheckPlaintext, "mcpbox"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
