package keyring_test

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/mcpbox/mcpbox/tools/devidp/internal/keyring"
)

// rfc7638 computes the thumbprint by hand (RFC 7638 §3.1: the required members in lexicographic order,
// no whitespace), independently of jwx.
func rfc7638(pub *rsa.PublicKey) string {
	b64 := base64.RawURLEncoding.EncodeToString
	doc := `{"e":"` + b64(big.NewInt(int64(pub.E)).Bytes()) + `","kty":"RSA","n":"` + b64(pub.N.Bytes()) + `"}`
	sum := sha256.Sum256([]byte(doc))
	return b64(sum[:])
}

func TestOpenCreatesKeyWithThumbprintKidAndPrivateFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "devidp")
	r, err := keyring.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	k := r.Current()
	if got := k.Private.N.BitLen(); got != keyring.KeyBits {
		t.Errorf("modulus: %d bits, want %d", got, keyring.KeyBits)
	}
	if want := rfc7638(&k.Private.PublicKey); k.ID != want {
		t.Errorf("kid = %q, want RFC 7638 thumbprint %q", k.ID, want)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, keyring.StateFile), 0o600)
	if _, ok := r.Previous(); ok {
		t.Error("a fresh ring has a previous key")
	}

	again, err := keyring.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Current().ID != k.ID {
		t.Errorf("reopened kid %q, want the stored %q (tokens must survive restarts)", again.Current().ID, k.ID)
	}
}

func TestRotateKeepsPreviousUntilRetired(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r, err := keyring.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Current()
	second, err := r.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID {
		t.Fatal("rotation kept the same key")
	}
	prev, ok := r.Previous()
	if !ok || prev.ID != first.ID {
		t.Fatalf("previous = %q, %v; want %q", prev.ID, ok, first.ID)
	}
	assertKids(t, r, second.ID, first.ID)
	assertMode(t, filepath.Join(dir, keyring.StateFile), 0o600)

	reopened, err := keyring.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	assertKids(t, reopened, second.ID, first.ID)

	retired, err := r.RetirePrevious()
	if err != nil {
		t.Fatal(err)
	}
	if retired.ID != first.ID {
		t.Errorf("retired %q, want %q", retired.ID, first.ID)
	}
	assertKids(t, r, second.ID)
	if _, err := r.RetirePrevious(); !errors.Is(err, keyring.ErrNoPrevious) {
		t.Errorf("second retire: %v, want ErrNoPrevious", err)
	}
	reopened, err = keyring.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	assertKids(t, reopened, second.ID)
}

func TestSignUsesCurrentKeyWithKidAndTyp(t *testing.T) {
	t.Parallel()
	r, err := keyring.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tok, kid, err := r.Sign([]byte(`{"sub":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	if kid != r.Current().ID {
		t.Errorf("kid %q, want current %q", kid, r.Current().ID)
	}
	if n := strings.Count(string(tok), "."); n != 2 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(string(tok), ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "RS256" || h["kid"] != kid || h["typ"] != "JWT" {
		t.Errorf("protected header %v, want alg RS256, kid %s, typ JWT", h, kid)
	}
	payload, err := jws.Verify(tok, jws.WithKey(jwa.RS256(), &r.Current().Private.PublicKey))
	if err != nil {
		t.Fatalf("verify with the public key: %v", err)
	}
	if string(payload) != `{"sub":"alice"}` {
		t.Errorf("payload %s", payload)
	}
}

func TestPublicSetHasOnlyPublicSigningKeys(t *testing.T) {
	t.Parallel()
	r, err := keyring.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	set, err := r.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 1 {
		t.Fatalf("%d keys, want 1", len(doc.Keys))
	}
	k := doc.Keys[0]
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := k[private]; ok {
			t.Errorf("published key has private member %q", private)
		}
	}
	if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] != r.Current().ID {
		t.Errorf("published key %v, want kty RSA, use sig, alg RS256, kid %s", k, r.Current().ID)
	}
}

func TestOpenRejectsCorruptState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, keyring.StateFile), []byte(`{"current":"nope"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Open(dir); err == nil {
		t.Fatal("Open accepted a state file without a key")
	}
}

func assertKids(t *testing.T, r *keyring.Ring, want ...string) {
	t.Helper()
	set, err := r.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		got = append(got, kid)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("published kids %v, want %v", got, want)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %o, want %o", path, got, want)
	}
}
