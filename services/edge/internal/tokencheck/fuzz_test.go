package tokencheck

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
)

// FuzzCheck feeds arbitrary Authorization values to Check: it must never
// panic, every rejection must have a §6.6 shape, and a verified token must
// carry a genuine RS256 signature of the published key over its first two
// segments (checked here with crypto/rsa, independently of jwx).
func FuzzCheck(f *testing.F) {
	e := newEnv(f, nil)
	valid := e.token(nil)
	p := strings.Split(valid, ".")
	seeds := []string{
		"", "Bearer", "Bearer ", "bearer " + valid, "BEARER " + valid, "Bearer " + valid,
		"Basic dXNlcjpwYXNz", "Bearer a b", "Bearer " + strings.Repeat("a", 9<<10),
		"Bearer " + p[0] + "." + p[1], "Bearer " + p[0] + "." + p[1] + ".",
		"Bearer " + valid + "." + p[1] + "." + p[2], "Bearer " + p[0] + "==." + p[1] + "." + p[2],
		"Bearer " + testissuer.Sign(header(map[string]any{"alg": "none"}), e.claims(nil), nil),
		"Bearer " + testissuer.Sign(header(map[string]any{"alg": "HS256"}), e.claims(nil), []byte("k")),
		"Bearer " + testissuer.Sign(header(map[string]any{"crit": []string{"exp"}}), e.claims(nil), e.k1.Private),
		"Bearer " + testissuer.Sign(header(nil), e.claims(map[string]any{"exp": "9999999999"}), e.k1.Private),
		"Bearer " + testissuer.Sign(header(nil), e.claims(map[string]any{"sub": 5, "email": []int{1}}), e.k1.Private),
		"Bearer " + testissuer.SignRaw([]byte(`["alg"]`), []byte(`{}`), "RS256", e.k1.Private),
		`Bearer {"payload":"x","signatures":[]}`,
		"Bearer \x00\xff.é.\r\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	pub := &e.k1.Private.PublicKey
	f.Fuzz(func(t *testing.T, value string) {
		id, rej := e.v.Check(context.Background(), http.Header{"Authorization": {value}})
		if rej != nil {
			if id != (Identity{}) {
				t.Fatalf("rejection %+v with identity %+v", *rej, id)
			}
			wantRejection(t, rej, rej.Reason)
			return
		}
		if id.Subject == "" || id.Issuer != testIssuer {
			t.Fatalf("verified with identity %+v", id)
		}
		if !genuine(value, pub) {
			t.Fatalf("verified %q without a genuine RS256 signature", value)
		}
	})
}

// genuine reports whether the bearer value is a compact JWS whose third
// segment is an RS256 signature by pub over the first two.
func genuine(value string, pub *rsa.PublicKey) bool {
	if len(value) < 7 || !strings.EqualFold(value[:7], "bearer ") {
		return false
	}
	parts := strings.Split(value[7:], ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) == nil
}

// FuzzClaims signs arbitrary payload bytes with the published key and runs
// the whole check, so the claims decoder and every claim rule see hostile
// input that passed the signature: no panic, §6.6 shapes only, and a verified
// identity holds a valid subject and either a valid email or a withheld
// reason of §6.5.
func FuzzClaims(f *testing.F) {
	e := newEnv(f, func(c *Config) {
		c.RequiredScopes = []string{"mcp"}
		c.AllowedClients = []string{"a"}
	})
	now := e.clock.Now().Unix()
	base := e.claims(map[string]any{"scope": "openid mcp", "azp": "a"})
	for _, edit := range []map[string]any{
		nil,
		{"exp": "9999999999"},
		{"exp": now - 61, "nbf": now + 61},
		{"aud": []any{"x", 5, testResource}},
		{"sub": "a\r\nb", "email": 5},
		{"email": "alice@example.com\n", "email_verified": "false"},
		{"scp": []any{"mcp", 1, nil}, "scope": nil},
		{"azp": 5, "client_id": "a"},
		{"iat": 1e300, "exp": -1e300},
	} {
		f.Add(mustJSON(f, merge(base, edit)))
	}
	f.Add([]byte(`{"iss":"` + testIssuer + `","aud":"` + testResource + `","exp":1e999,"sub":"s","scope":"mcp","azp":"a"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte("{\"sub\":\"\xff\"}"))
	hdr := mustJSON(f, header(nil))
	withheldReasons := map[string]bool{"absent": true, "invalid": true, "unverified": true}
	f.Fuzz(func(t *testing.T, payload []byte) {
		tok := testissuer.SignRaw(hdr, payload, "RS256", e.k1.Private)
		id, rej := e.v.Check(context.Background(), bearer(tok))
		if rej != nil {
			wantRejection(t, rej, rej.Reason)
			return
		}
		if id.Issuer != testIssuer || !proto.ValidSub(id.Subject) {
			t.Fatalf("verified identity %+v", id)
		}
		switch {
		case id.Email != "" && (id.EmailWithheld != "" || !proto.ValidEmail(id.Email)):
			t.Fatalf("forwarded email %q (withheld %q)", id.Email, id.EmailWithheld)
		case id.Email == "" && !withheldReasons[id.EmailWithheld]:
			t.Fatalf("no email and withheld reason %q", id.EmailWithheld)
		}
	})
}
