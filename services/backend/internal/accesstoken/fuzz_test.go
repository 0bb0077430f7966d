package accesstoken_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
)

// FuzzVerify feeds arbitrary strings to Verify: it never panics, fails only
// with ErrInvalid or ErrExpired, never quotes its input, and accepts only
// tokens this process's Issuer signed. Each fuzz worker has its own database
// and key, so the seeds built from a genuine token are all forgeries there.
func FuzzVerify(f *testing.F) {
	store := dbtest.New(f)
	clock := newClock()
	iss := newIssuer(f, store, clock)
	genuine := map[string]bool{}
	token, _ := mustSign(f, iss)
	genuine[token] = true
	parts := strings.Split(token, ".")
	kid, priv := activeKey(f, store)

	f.Add(token[:len(token)-1])
	f.Add(token + "A")
	f.Add(parts[0] + "." + parts[1])
	f.Add(parts[0] + ".." + parts[2])
	f.Add(strings.ToUpper(token))
	f.Add(parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + "B")
	f.Add(rawToken(f, map[string]any{"alg": "none", "kid": kid}, goodClaims(clock.Now()), func([]byte) []byte { return nil }))
	f.Add(rawToken(f, map[string]any{"alg": "HS256", "kid": kid}, goodClaims(clock.Now()), hmacSigner([]byte(priv.Public().(ed25519.PublicKey)))))
	noExp := goodClaims(clock.Now())
	delete(noExp, "exp")
	f.Add(rawToken(f, map[string]any{"alg": "EdDSA", "kid": kid}, noExp, edSigner(priv)))
	f.Add("")
	f.Add(".")
	f.Add("..")
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.AA")
	f.Add(`{"payload":"e30","signatures":[]}`)

	f.Fuzz(func(t *testing.T, s string) {
		c, err := iss.Verify(t.Context(), s)
		if genuine[s] {
			if err != nil {
				t.Fatalf("genuine token rejected: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("forged token %q verified: %+v", s, c)
		}
		if !errors.Is(err, accesstoken.ErrInvalid) && !errors.Is(err, accesstoken.ErrExpired) {
			t.Fatalf("error %v is neither ErrInvalid nor ErrExpired", err)
		}
		if len(s) >= 16 && strings.Contains(err.Error(), s) {
			t.Fatalf("error %q quotes the input", err)
		}
	})
}
