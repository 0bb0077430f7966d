package remoteaccess

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in     []string
		scheme []string
		params []map[string]string
	}{
		{
			in:     []string{`Bearer resource_metadata="https://e.example/.well-known/oauth-protected-resource/mcp"`},
			scheme: []string{"Bearer"},
			params: []map[string]string{{"resource_metadata": "https://e.example/.well-known/oauth-protected-resource/mcp"}},
		},
		{
			in:     []string{`Bearer error="invalid_token", error_description="token verification failed", resource_metadata="https://e/m"`},
			scheme: []string{"Bearer"},
			params: []map[string]string{{"error": "invalid_token", "error_description": "token verification failed", "resource_metadata": "https://e/m"}},
		},
		{
			in:     []string{`Basic realm="a, b", Bearer Error=invalid_token,scope="x y"`},
			scheme: []string{"Basic", "Bearer"},
			params: []map[string]string{{"realm": "a, b"}, {"error": "invalid_token", "scope": "x y"}},
		},
		{
			in:     []string{`Negotiate abc==, bearer realm="q\"uote"`, `DPoP algs="ES256"`},
			scheme: []string{"Negotiate", "bearer", "DPoP"},
			params: []map[string]string{{}, {"realm": `q"uote`}, {"algs": "ES256"}},
		},
		{
			in:     []string{`Bearer realm="unterminated`, ``, `  ,, Bearer`},
			scheme: []string{"Bearer", "Bearer"},
			params: []map[string]string{{"realm": "unterminated"}, {}},
		},
		{
			in:     []string{`Bearer a=1, a=2, @junk, b=3`},
			scheme: []string{"Bearer"},
			params: []map[string]string{{"a": "1", "b": "3"}},
		},
	}
	for _, tc := range cases {
		got := parseChallenges(tc.in)
		if len(got) != len(tc.scheme) {
			t.Errorf("%q: %+v", tc.in, got)
			continue
		}
		for i, c := range got {
			if c.scheme != tc.scheme[i] || !maps.Equal(c.params, tc.params[i]) {
				t.Errorf("%q: challenge %d = %+v, want %s %v", tc.in, i, c, tc.scheme[i], tc.params[i])
			}
		}
	}
	ch, ok := bearerChallenge([]string{`Basic realm=x`, `BEARER resource_metadata="m"`})
	if !ok || ch.params["resource_metadata"] != "m" {
		t.Fatalf("bearerChallenge: %+v %v", ch, ok)
	}
	if _, ok := bearerChallenge([]string{`Basic realm=x`}); ok {
		t.Fatal("found a Bearer challenge in a Basic one")
	}
}

func TestParseProtectedResource(t *testing.T) {
	t.Parallel()
	p, err := parseProtectedResource(`{"resource":"https://e/mcp","authorization_servers":["https://i"],"bearer_methods_supported":["header"],"x":{}}`)
	if err != nil || p.resource != "https://e/mcp" || len(p.authorizationServers) != 1 || !p.hasBearerMethods {
		t.Fatalf("%+v %v", p, err)
	}
	p, err = parseProtectedResource(`{"resource":"https://e/mcp"}`)
	if err != nil || p.hasBearerMethods || p.authorizationServers != nil {
		t.Fatalf("%+v %v", p, err)
	}
	for body, want := range map[string]string{
		`[]`:                               "not a JSON object",
		`null`:                             "not a JSON object",
		`<html>`:                           "not a JSON object",
		`{"resource":5}`:                   "resource is not a string",
		`{"authorization_servers":"x"}`:    "authorization_servers is not an array of strings",
		`{"bearer_methods_supported":[1]}`: "bearer_methods_supported is not an array of strings",
	} {
		if _, err := parseProtectedResource(body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

func TestParseAuthServer(t *testing.T) {
	t.Parallel()
	a, err := parseAuthServer(`{"issuer":"https://i","authorization_endpoint":"https://i/a","token_endpoint":"https://i/t",
		"jwks_uri":"https://i/k","code_challenge_methods_supported":["S256"],"registration_endpoint":"https://i/r"}`)
	if err != nil || a.issuer != "https://i" || a.jwksURI != "https://i/k" || a.registrationEndpoint == "" || len(a.codeChallengeMethods) != 1 {
		t.Fatalf("%+v %v", a, err)
	}
	_, err = parseAuthServer(`{"issuer":1,"jwks_uri":[],"code_challenge_methods_supported":"S256"}`)
	if err == nil || !strings.Contains(err.Error(), "issuer is not a string") || !strings.Contains(err.Error(), "jwks_uri is not a string") ||
		!strings.Contains(err.Error(), "code_challenge_methods_supported is not an array of strings") {
		t.Fatalf("every bad field named: %v", err)
	}
}

// rsaJWK is an RSA JWK with a modulus of bits bits.
func rsaJWK(kid string, bits int, more string) string {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.Add(n, big.NewInt(1))
	b64 := base64.RawURLEncoding.EncodeToString
	s := fmt.Sprintf(`{"kty":"RSA","n":%q,"e":%q`, b64(n.Bytes()), b64(big.NewInt(65537).Bytes()))
	if kid != "" {
		s += fmt.Sprintf(`,"kid":%q`, kid)
	}
	return s + more + "}"
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	body := `{"keys":[` + strings.Join([]string{
		rsaJWK("good", 2048, `,"use":"sig","alg":"RS256"`),
		rsaJWK("small", 1024, ""),
		rsaJWK("", 2048, ""),
		rsaJWK("enc", 2048, `,"use":"enc"`),
		rsaJWK("ps", 2048, `,"alg":"PS256"`),
		rsaJWK("ops", 2048, `,"key_ops":["encrypt"]`),
		`{"kty":"EC","kid":"ec","crv":"P-256"}`,
		`{"kty":"RSA","kid":"badn","n":"!!","e":"AQAB"}`,
		`{"kty":"RSA","kid":"bade","n":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 256)) + `","e":"AQAB"}`,
		rsaJWK("alsogood", 4096, `,"key_ops":["verify"]`),
		`"not an object"`,
	}, ",") + `]}`
	ks, err := parseJWKS(body)
	if err != nil {
		t.Fatal(err)
	}
	if ks.total != 11 || strings.Join(ks.usable, ",") != "good,alsogood" || len(ks.refused) != 9 {
		t.Fatalf("%+v", ks)
	}
	for i, want := range []string{
		"keys[1]: the modulus has 1024 bits, fewer than 2048", "keys[2]: no kid", `keys[3]: use is "enc", not sig`,
		`keys[4]: alg is "PS256", not RS256`, "keys[5]: key_ops does not contain verify", `keys[6]: kty is "EC", not RSA`,
		"keys[7]: n is not base64url", "keys[8]: the modulus has 0 bits", "keys[10]: not a JSON object",
	} {
		if !strings.HasPrefix(ks.refused[i], want) {
			t.Errorf("refused[%d] = %q, want %q", i, ks.refused[i], want)
		}
	}
	for body, want := range map[string]string{
		`{}`: "no keys member", `{"keys":{}}`: "keys is not an array", `[1]`: "not a JSON object",
	} {
		if _, err := parseJWKS(body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", body, err)
		}
	}
	if !normalExponent("AQAB") || normalExponent("Ag") || normalExponent("AQ") || normalExponent("AQAAAAAB") {
		t.Fatal("exponent rule")
	}
}

func TestClipAndQuote(t *testing.T) {
	t.Parallel()
	if got := clip("héllo", 2); got != "hé…" {
		t.Fatalf("clip %q", got)
	}
	if got := quote("a\x00\"b"); got != `"a\x00\"b"` {
		t.Fatalf("quote %q", got)
	}
	list := make([]string, maxListed+5)
	if got := quoteList(list); !strings.HasSuffix(got, "… 5 more]") {
		t.Fatalf("quoteList %q", got)
	}
}

// FuzzParseChallenges: any header values parse without panicking, within
// the bounds, and every scheme and parameter name is a token.
func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		`Bearer resource_metadata="https://e/m"`, `Bearer error="invalid_token", error_description="x", resource_metadata="m"`,
		`Basic realm="a, b", Bearer a=b`, `Negotiate abc==`, `Bearer "`, `Bearer a="\`, `,,,`, `=`, `Bearer a=, b`, "\x00\xff",
	} {
		f.Add(s, "Bearer x=y")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got := parseChallenges([]string{a, b})
		if len(got) > 2*maxChallenges {
			t.Fatalf("%d challenges", len(got))
		}
		for _, c := range got {
			if c.scheme == "" || strings.IndexFunc(c.scheme, func(r rune) bool { return r > 0x7f || !isTokenChar(byte(r)) }) >= 0 {
				t.Fatalf("scheme %q", c.scheme)
			}
			if len(c.params) > maxParams {
				t.Fatalf("%d params", len(c.params))
			}
			for k := range c.params {
				if k == "" || k != strings.ToLower(k) {
					t.Fatalf("param name %q", k)
				}
			}
		}
	})
}

// FuzzParseDocuments: the metadata and key-set parsers never panic on any
// body, and account for every key they examine.
func FuzzParseDocuments(f *testing.F) {
	for _, s := range []string{
		`{"resource":"https://e/mcp","authorization_servers":["https://i"],"bearer_methods_supported":["header"]}`,
		`{"issuer":"https://i","authorization_endpoint":"a","token_endpoint":"t","jwks_uri":"k","code_challenge_methods_supported":["S256"]}`,
		`{"keys":[` + rsaJWK("k", 2048, "") + `,{"kty":"RSA"},1,null]}`,
		`{"keys":null}`, `{"resource":null}`, `[]`, `{`, `""`, `{"keys":[{"kty":"RSA","kid":"k","n":"AA==","e":"AQAB=="}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, _ = parseProtectedResource(body)
		_, _ = parseAuthServer(body)
		_ = healthOK(body)
		ks, err := parseJWKS(body)
		if err != nil {
			return
		}
		if len(ks.usable)+len(ks.refused) != min(ks.total, maxKeysExamined) {
			t.Fatalf("%d usable + %d refused of %d", len(ks.usable), len(ks.refused), ks.total)
		}
		for _, kid := range ks.usable {
			if kid == "" {
				t.Fatal("usable key without kid")
			}
		}
		if _, err := json.Marshal(ks.refused); err != nil {
			t.Fatal(err)
		}
	})
}
