package tokencheck

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
)

// TestRejectionShapes pins the §6.6 fields of every reason.
func TestRejectionShapes(t *testing.T) {
	t.Parallel()
	for _, r := range []Reason{
		NoToken, Malformed, TooLarge, AlgNotAllowed, KIDMissing, KIDUnknown, TypNotAllowed,
		SignatureInvalid, IssMismatch, AudMismatch, ExpMissing, Expired, NotYetValid, SubInvalid,
		ClientNotAllowed, InsufficientScope, KeysUnavailable, DuplicateHeader,
	} {
		wantRejection(t, reject(r), r)
	}
}

func TestEDGE15_Descriptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	now := e.clock.Now().Unix()
	expired := e.token(map[string]any{"exp": now - 3600, "iat": now - 7200})
	e.mustReject(t, bearer(expired), Expired)
	_, rej := e.check(t, bearer(expired))
	if rej.Description != "token expired" || rej.Error != "invalid_token" || rej.Status != 401 {
		t.Fatalf("expired: %+v", *rej)
	}
	badSig := testissuer.Sign(header(nil), e.claims(nil), e.other.Private)
	_, rej = e.check(t, bearer(badSig))
	if rej == nil || rej.Reason != SignatureInvalid || rej.Description != "token verification failed" {
		t.Fatalf("bad signature: %+v", rej)
	}
}

func TestEDGE16_Extraction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(nil)
	cases := []struct {
		name string
		h    http.Header
		want Reason // "" = verified
	}{
		{"no header", http.Header{}, NoToken},
		{"basic", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, NoToken},
		{"empty value", http.Header{"Authorization": {""}}, NoToken},
		{"other scheme glued", http.Header{"Authorization": {"Bearerx " + tok}}, NoToken},
		{"token scheme", http.Header{"Authorization": {"Token " + tok}}, NoToken},
		{"empty bearer", http.Header{"Authorization": {"Bearer "}}, Malformed},
		{"bare bearer (trimmed by Go)", http.Header{"Authorization": {"Bearer"}}, Malformed},
		{"bearer a b", http.Header{"Authorization": {"Bearer a b"}}, Malformed},
		{"two spaces", http.Header{"Authorization": {"Bearer  " + tok}}, Malformed},
		{"tab", http.Header{"Authorization": {"Bearer\t" + tok}}, Malformed},
		{"trailing space", http.Header{"Authorization": {"Bearer " + tok + " "}}, Malformed},
		{"duplicate header", http.Header{"Authorization": {"Bearer " + tok, "Bearer " + tok}}, DuplicateHeader},
		{"duplicate with basic", http.Header{"Authorization": {"Basic eA==", "Bearer " + tok}}, DuplicateHeader},
		{"Bearer", http.Header{"Authorization": {"Bearer " + tok}}, ""},
		{"bearer", http.Header{"Authorization": {"bearer " + tok}}, ""},
		{"BEARER", http.Header{"Authorization": {"BEARER " + tok}}, ""},
		{"BeArEr", http.Header{"Authorization": {"BeArEr " + tok}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.want == "" {
				e.mustAccept(t, tc.h)
				return
			}
			e.mustReject(t, tc.h, tc.want)
		})
	}

	// Over a real connection "Bearer " arrives as "Bearer" (Go trims header
	// values) and must still be an invalid token, not "no token".
	t.Run("over the wire", func(t *testing.T) {
		t.Parallel()
		var got atomic.Value
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, rej := e.v.Check(r.Context(), r.Header)
			if rej != nil {
				got.Store(rej.Reason)
			} else {
				got.Store(Reason("verified"))
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		for _, tc := range []struct {
			values []string
			want   Reason
		}{
			{[]string{"Bearer "}, Malformed},
			{[]string{"Basic eDp5"}, NoToken},
			{[]string{"Bearer " + tok, "Bearer " + tok}, DuplicateHeader},
			{[]string{"bearer " + tok}, "verified"},
		} {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/mcp", http.NoBody)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tc.values {
				req.Header.Add("Authorization", v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if r := got.Load(); r != tc.want {
				t.Errorf("%q: got %v, want %s", tc.values, r, tc.want)
			}
		}
	})
}

func TestEDGE17_TooLargeBeforeKeyLookup(t *testing.T) {
	t.Parallel()
	t.Run("9 KiB of token characters", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.mustReject(t, bearer(strings.Repeat("a", 9<<10)), TooLarge)
		if n := e.keys.calls.Load(); n != 0 {
			t.Fatalf("%d key lookups, want 0", n)
		}
	})
	t.Run("9 KiB with bytes that are not base64url", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.mustReject(t, bearer(strings.Repeat("{ ", 9<<9)), TooLarge)
		if n := e.keys.calls.Load(); n != 0 {
			t.Fatalf("%d key lookups, want 0", n)
		}
	})
	t.Run("boundary: a real token just under and just over 8 KiB", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		var under, over string
		base := len(e.token(map[string]any{"pad": ""}))
		for pad := (8192-base)*3/4 - 8; over == ""; pad++ {
			tok := e.token(map[string]any{"pad": strings.Repeat("x", pad)})
			if len(tok) <= 8192 {
				under = tok
			} else {
				over = tok
			}
		}
		if under == "" || len(under) < 8185 {
			t.Fatalf("no token close under the limit (%d)", len(under))
		}
		e.mustAccept(t, bearer(under))
		before := e.keys.calls.Load()
		e.mustReject(t, bearer(over), TooLarge)
		if n := e.keys.calls.Load() - before; n != 0 {
			t.Fatalf("%d key lookups for the oversized token, want 0", n)
		}
	})
}

func TestEDGE18_OnlyTheHeaderCarriesAToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(nil)
	form := url.Values{"access_token": {tok}}.Encode()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost,
		"https://mcp.example.test/mcp?access_token="+url.QueryEscape(tok), strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "access_token", Value: tok})
	req.AddCookie(&http.Cookie{Name: "Authorization", Value: "Bearer " + tok})
	if err := req.ParseForm(); err != nil || req.Form.Get("access_token") != tok {
		t.Fatalf("test request does not carry the token in its form/query: %v", err)
	}
	e.mustReject(t, req.Header, NoToken)
	if n := e.keys.calls.Load(); n != 0 {
		t.Fatalf("%d key lookups, want 0", n)
	}

	// A header token next to a garbage query token is verified.
	req = httptest.NewRequestWithContext(t.Context(), http.MethodPost,
		"https://mcp.example.test/mcp?access_token=garbage", http.NoBody)
	req.Header.Set("Authorization", "Bearer "+tok)
	e.mustAccept(t, req.Header)
}

func TestEDGE19_Baseline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	id := e.mustAccept(t, bearer(e.token(nil)))
	want := Identity{Issuer: testIssuer, Subject: "user-1", Email: "alice@example.com"}
	if id != want {
		t.Fatalf("identity %+v, want %+v", id, want)
	}
	if n := e.keys.calls.Load(); n != 1 {
		t.Fatalf("%d key lookups, want 1", n)
	}
	for _, r := range []string{metrics.EmailAbsent, metrics.EmailInvalid, metrics.EmailUnverified} {
		if n := withheld(e.m, r); n != 0 {
			t.Errorf("email_withheld{%s} = %v, want 0", r, n)
		}
	}
	// Issuer and audience arrays with the configured value, typ absent.
	id = e.mustAccept(t, bearer(testissuer.Sign(header(map[string]any{"typ": nil}),
		e.claims(map[string]any{"aud": []string{testResource}}), e.k1.Private)))
	if id.Subject != "user-1" {
		t.Fatalf("identity %+v", id)
	}
}

func TestEDGE20_AlgNone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	h := testissuer.B64(mustJSON(t, header(map[string]any{"alg": "none"})))
	p := testissuer.B64(mustJSON(t, e.claims(nil)))
	for name, tok := range map[string]string{
		"empty signature":     h + "." + p + ".",
		"non-empty signature": h + "." + p + "." + testissuer.B64([]byte("signature")),
		"forged by Sign":      testissuer.Sign(header(map[string]any{"alg": "none"}), e.claims(nil), nil),
		"None":                testissuer.Sign(header(map[string]any{"alg": "None"}), e.claims(nil), nil),
		"NONE":                testissuer.Sign(header(map[string]any{"alg": "NONE"}), e.claims(nil), nil),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e.mustReject(t, bearer(tok), AlgNotAllowed)
		})
	}
}

func TestEDGE21_HS256WithThePublicKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	pub := &e.k1.Private.PublicKey
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PublicKey(pub)
	secrets := map[string][]byte{
		"PEM (PKIX)":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		"PEM (PKCS#1)":   pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1}),
		"DER (PKIX)":     pkix,
		"DER (PKCS#1)":   pkcs1,
		"JWK JSON":       mustJSON(t, e.k1.JWK()),
		"modulus bytes":  pub.N.Bytes(),
		"modulus base64": []byte(testissuer.B64(pub.N.Bytes())),
	}
	for name, secret := range secrets {
		for _, alg := range []string{"HS256", "HS384", "HS512"} {
			t.Run(name+" "+alg, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, nil)
				tok := testissuer.Sign(header(map[string]any{"alg": alg}), e.claims(nil), secret)
				e.mustReject(t, bearer(tok), AlgNotAllowed)
				if n := e.keys.calls.Load(); n != 0 {
					t.Fatalf("%d key lookups, want 0", n)
				}
			})
		}
	}
}

func TestEDGE22_OtherAlgorithms(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ec := testissuer.NewECKey(t)
	cases := map[string]string{
		"RS384": testissuer.Sign(header(map[string]any{"alg": "RS384"}), e.claims(nil), e.k1.Private),
		"RS512": testissuer.Sign(header(map[string]any{"alg": "RS512"}), e.claims(nil), e.k1.Private),
		"PS256": testissuer.Sign(header(map[string]any{"alg": "PS256"}), e.claims(nil), e.k1.Private),
		"ES256": testissuer.Sign(header(map[string]any{"alg": "ES256"}), e.claims(nil), ec),
		// A genuine RS256 signature by the real key under a lower-case name.
		"rs256":   testissuer.Sign(header(map[string]any{"alg": "rs256"}), e.claims(nil), e.k1.Private),
		"EdDSA":   testissuer.Sign(header(map[string]any{"alg": "EdDSA"}), e.claims(nil), nil),
		"RS256 ":  testissuer.Sign(header(map[string]any{"alg": "RS256 "}), e.claims(nil), e.k1.Private),
		"missing": testissuer.Sign(header(map[string]any{"alg": nil}), e.claims(nil), e.k1.Private),
		"numeric": testissuer.Sign(header(map[string]any{"alg": 256}), e.claims(nil), e.k1.Private),
		"array":   testissuer.Sign(header(map[string]any{"alg": []string{"RS256"}}), e.claims(nil), e.k1.Private),
		// encoding/json folds member names onto struct fields; the header
		// check must not: "ALG" is not "alg".
		"ALG member": testissuer.SignRaw([]byte(`{"ALG":"RS256","kid":"k1"}`), mustJSON(t, e.claims(nil)), "RS256", e.k1.Private),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			e.mustReject(t, bearer(tok), AlgNotAllowed)
			if n := e.keys.calls.Load(); n != 0 {
				t.Fatalf("%d key lookups, want 0", n)
			}
		})
	}
}

func TestEDGE23_KIDMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, kid := range map[string]any{
		"absent":    nil,
		"empty":     "",
		"numeric":   5,
		"object":    map[string]any{"kid": "k1"},
		"257 bytes": strings.Repeat("k", 257),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := header(map[string]any{"kid": kid}) // nil deletes the member
			e.mustReject(t, bearer(testissuer.Sign(h, e.claims(nil), e.k1.Private)), KIDMissing)
		})
	}
	t.Run("null", func(t *testing.T) {
		t.Parallel()
		tok := testissuer.SignRaw([]byte(`{"alg":"RS256","kid":null}`), mustJSON(t, e.claims(nil)), "RS256", e.k1.Private)
		e.mustReject(t, bearer(tok), KIDMissing)
	})
	t.Run("256 bytes passes the header check", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("k", 256)
		e := newEnv(t, nil)
		e.keys.set(long, &e.k1.Private.PublicKey)
		e.mustAccept(t, bearer(testissuer.Sign(header(map[string]any{"kid": long}), e.claims(nil), e.k1.Private)))
	})
}

func TestEDGE24_UnknownKID(t *testing.T) {
	t.Parallel()
	// The single rate-limited refetch is the KeySource's (jwks, §7.3); here
	// ErrUnknownKID after it becomes kid_unknown.
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.mustReject(t, bearer(testissuer.Sign(header(map[string]any{"kid": "nope"}), e.claims(nil), e.k1.Private)), KIDUnknown)
		if n := e.keys.calls.Load(); n != 1 {
			t.Fatalf("%d key lookups, want 1", n)
		}
	})
	t.Run("empty key list", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.keys.set("k1")
		e.mustReject(t, bearer(e.token(nil)), KIDUnknown)
	})
	t.Run("keys unavailable is 503", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.keys.err = ErrUnavailable
		e.mustReject(t, bearer(e.token(nil)), KeysUnavailable)
	})
	t.Run("wrapped sentinels", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.keys.err = errorsJoin(errors.New("refetch suppressed"), ErrUnknownKID)
		e.mustReject(t, bearer(e.token(nil)), KIDUnknown)
	})
	t.Run("any other error fails closed", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.keys.err = errors.New("boom")
		e.mustReject(t, bearer(e.token(nil)), KeysUnavailable)
	})
}

func TestEDGE25_RightKIDOtherKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.mustReject(t, bearer(testissuer.Sign(header(nil), e.claims(nil), e.other.Private)), SignatureInvalid)

	t.Run("keys sharing a kid are tried in order", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.keys.set("k1", &e.other.Private.PublicKey, nil, &e.k1.Private.PublicKey)
		e.mustAccept(t, bearer(e.token(nil)))
		e.keys.set("k1", &e.other.Private.PublicKey, &e.k2.Private.PublicKey)
		e.mustReject(t, bearer(e.token(nil)), SignatureInvalid)
	})
}

func TestEDGE26_AlteredToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(nil)
	parts := strings.Split(tok, ".")
	now := e.clock.Now().Unix()
	for name, edit := range map[string]map[string]any{
		"sub":   {"sub": "admin"},
		"email": {"email": "root@example.com"},
		"exp":   {"exp": now + 10*365*24*3600},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			forged := parts[0] + "." + testissuer.B64(mustJSON(t, e.claims(edit))) + "." + parts[2]
			e.mustReject(t, bearer(forged), SignatureInvalid)
		})
	}
	t.Run("kid swapped to another real key", func(t *testing.T) {
		t.Parallel()
		h := testissuer.B64(mustJSON(t, header(map[string]any{"kid": "k2"})))
		e.mustReject(t, bearer(h+"."+parts[1]+"."+parts[2]), SignatureInvalid)
	})
	t.Run("signature of another token", func(t *testing.T) {
		t.Parallel()
		other := strings.Split(e.token(map[string]any{"sub": "user-2"}), ".")
		e.mustReject(t, bearer(parts[0]+"."+parts[1]+"."+other[2]), SignatureInvalid)
	})
	e.mustAccept(t, bearer(tok)) // the original still verifies
}

func TestEDGE27_KeyURLsInTheTokenAreNeverUsed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	attacker := e.other // named "k1", never published
	evilJWK := attacker.JWK()
	evilJWK["kid"] = "evil"
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{attacker.JWK(), evilJWK}})
	}))
	t.Cleanup(srv.Close) // registered first, so it runs after the zero-hits check below
	cert := selfSigned(t, attacker)
	sum := sha1.Sum(cert)
	x5t := testissuer.B64(sum[:])
	x5c := []string{base64.StdEncoding.EncodeToString(cert)}
	cases := map[string]map[string]any{
		"jku":       {"jku": srv.URL + "/jwks.json"},
		"x5u":       {"x5u": srv.URL + "/cert.pem"},
		"jwk":       {"jwk": attacker.JWK()},
		"x5c":       {"x5c": x5c},
		"x5t":       {"x5t": x5t},
		"all":       {"jku": srv.URL + "/jwks.json", "x5u": srv.URL + "/cert.pem", "jwk": attacker.JWK(), "x5c": x5c},
		"jku + kid": {"jku": srv.URL + "/jwks.json", "kid": "evil"},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := SignatureInvalid // the real key named k1 is used, and fails
			if edit["kid"] == "evil" {
				want = KIDUnknown // only the configured key set names keys
			}
			e.mustReject(t, bearer(testissuer.Sign(header(edit), e.claims(nil), attacker.Private)), want)
		})
	}
	t.Run("real key with a jku header is accepted", func(t *testing.T) {
		t.Parallel()
		tok := testissuer.Sign(header(map[string]any{"jku": srv.URL + "/jwks.json", "x5u": srv.URL + "/x"}), e.claims(nil), e.k1.Private)
		e.mustAccept(t, bearer(tok))
	})
	t.Cleanup(func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("attacker server got %d requests, want 0", n)
		}
	})
}

func TestEDGE28_CritB64Typ(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, tc := range map[string]struct {
		edit map[string]any
		want Reason
	}{
		"crit exp":      {map[string]any{"crit": []string{"exp"}}, Malformed},
		"crit b64":      {map[string]any{"crit": []string{"b64"}, "b64": false}, Malformed},
		"b64 false":     {map[string]any{"b64": false}, Malformed},
		"b64 true":      {map[string]any{"b64": true}, Malformed},
		"crit empty":    {map[string]any{"crit": []string{}}, Malformed},
		"typ JWE":       {map[string]any{"typ": "JWE"}, TypNotAllowed},
		"typ numeric":   {map[string]any{"typ": 1}, TypNotAllowed},
		"typ empty":     {map[string]any{"typ": ""}, TypNotAllowed},
		"typ JOSE+JSON": {map[string]any{"typ": "JOSE+JSON"}, TypNotAllowed},
		"typ at+jwt":    {map[string]any{"typ": "at+jwt"}, ""},
		"typ AT+JWT":    {map[string]any{"typ": "AT+JWT"}, ""},
		"typ app":       {map[string]any{"typ": "application/at+jwt"}, ""},
		"typ JWT":       {map[string]any{"typ": "JWT"}, ""},
		"typ jwt":       {map[string]any{"typ": "jwt"}, ""},
		"typ absent":    {map[string]any{"typ": nil}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok := testissuer.Sign(header(tc.edit), e.claims(nil), e.k1.Private)
			if tc.want == "" {
				e.mustAccept(t, bearer(tok))
				return
			}
			e.mustReject(t, bearer(tok), tc.want)
		})
	}
	t.Run("crit null", func(t *testing.T) {
		t.Parallel()
		tok := testissuer.SignRaw([]byte(`{"alg":"RS256","kid":"k1","crit":null}`), mustJSON(t, e.claims(nil)), "RS256", e.k1.Private)
		e.mustReject(t, bearer(tok), Malformed)
	})
}

func TestEDGE29_Malformed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tok := e.token(nil)
	p := strings.Split(tok, ".")
	claims := mustJSON(t, e.claims(nil))
	signed := func(h, c string) string { return testissuer.SignRaw([]byte(h), []byte(c), "RS256", e.k1.Private) }
	jwe := testissuer.B64([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"k1"}`))
	jsonSer, _ := json.Marshal(map[string]any{
		"payload":    p[1],
		"signatures": []any{map[string]any{"protected": p[0], "signature": p[2]}},
	})
	flattened, _ := json.Marshal(map[string]any{"payload": p[1], "protected": p[0], "signature": p[2]})
	cases := map[string]string{
		"two segments":               p[0] + "." + p[1],
		"one segment":                p[0],
		"four segments":              tok + "." + p[2],
		"five segments (JWE)":        jwe + "." + p[1] + "." + p[2] + "." + p[1] + "." + p[2],
		"five segments of the token": tok + "." + p[1] + "." + p[2],
		"JSON serialization":         string(jsonSer),
		"flattened JSON":             string(flattened),
		"padding on header":          p[0] + "==." + p[1] + "." + p[2],
		"padding on payload":         p[0] + "." + p[1] + "=." + p[2],
		"padding on signature":       tok + "=",
		"plus":                       p[0] + "." + p[1] + "+." + p[2],
		"slash":                      p[0] + "." + p[1] + "." + p[2][:10] + "/" + p[2][11:],
		"space":                      p[0] + ". " + p[1] + "." + p[2],
		"bang":                       p[0] + "!." + p[1] + "." + p[2],
		"NUL":                        p[0] + "\x00." + p[1] + "." + p[2],
		"non-ASCII":                  p[0] + "é." + p[1] + "." + p[2],
		"CR LF":                      p[0] + "\r\n." + p[1] + "." + p[2],
		"empty header":               "." + p[1] + "." + p[2],
		"empty payload":              p[0] + ".." + p[2],
		"empty signature":            p[0] + "." + p[1] + ".",
		"only dots":                  "..",
		"header array":               signed(`["alg","RS256","kid","k1"]`, string(claims)),
		"header null":                signed(`null`, string(claims)),
		"header string":              signed(`"RS256"`, string(claims)),
		"header trailing bytes":      signed(`{"alg":"RS256","kid":"k1"}x`, string(claims)),
		"header two objects":         signed(`{"alg":"RS256","kid":"k1"}{}`, string(claims)),
		"header not JSON":            signed(`alg=RS256`, string(claims)),
		"header bad base64 tail":     p[0][:len(p[0])-1] + "." + p[1] + "." + p[2],
		"payload array":              signed(`{"alg":"RS256","kid":"k1"}`, `["sub"]`),
		"payload not JSON":           signed(`{"alg":"RS256","kid":"k1"}`, `sub=user-1`),
		"payload null":               signed(`{"alg":"RS256","kid":"k1"}`, `null`),
		"payload trailing bytes":     signed(`{"alg":"RS256","kid":"k1"}`, string(claims)+`{}`),
		"header jwk not a key":       signed(`{"alg":"RS256","kid":"k1","jwk":5}`, string(claims)),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e.mustReject(t, bearer(tok), Malformed)
		})
	}
}

func TestEDGE30_Issuer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, iss := range map[string]any{
		"wrong":          "https://evil.example.test/realms/mcpbox",
		"trailing slash": testIssuer + "/",
		"case":           strings.ToUpper(testIssuer),
		"host case":      "https://ID.example.test/realms/mcpbox",
		"missing":        nil,
		"numeric":        42,
		"array":          []string{testIssuer},
		"empty":          "",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e.mustReject(t, bearer(e.token(map[string]any{"iss": iss})), IssMismatch)
		})
	}
	t.Run("empty configured issuer accepts nothing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *Config) { c.Issuer = "" })
		e.mustReject(t, bearer(e.token(map[string]any{"iss": ""})), IssMismatch)
	})
}

func TestEDGE31_Audience(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, tc := range map[string]struct {
		aud any
		ok  bool
	}{
		"missing":               {nil, false},
		"other":                 {"https://other.example/mcp", false},
		"bare origin":           {"https://mcp.example.test", false},
		"trailing slash":        {testResource + "/", false},
		"case":                  {strings.ToUpper(testResource), false},
		"numeric":               {7, false},
		"empty array":           {[]string{}, false},
		"array of others":       {[]string{"https://other.example/mcp", "https://mcp.example.test"}, false},
		"array with a number":   {[]any{"x", 5, testResource}, false},
		"array containing ours": {[]string{"https://other.example/api", testResource, "account"}, true},
		"string":                {testResource, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok := e.token(map[string]any{"aud": tc.aud})
			if tc.ok {
				e.mustAccept(t, bearer(tok))
				return
			}
			e.mustReject(t, bearer(tok), AudMismatch)
		})
	}
	t.Run("several configured audiences", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *Config) { c.Audiences = []string{"https://mcp.example.test", testResource} })
		e.mustAccept(t, bearer(e.token(map[string]any{"aud": "https://mcp.example.test"})))
		e.mustAccept(t, bearer(e.token(map[string]any{"aud": testResource})))
		e.mustReject(t, bearer(e.token(map[string]any{"aud": "https://mcp.example.test/"})), AudMismatch)
	})
}

func TestEDGE32_ExpRequiredAndNumeric(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, exp := range map[string]any{
		"missing":         nil,
		"string":          "9999999999",
		"boolean":         true,
		"array":           []int64{9999999999},
		"numeric string2": "1e10",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e.mustReject(t, bearer(e.token(map[string]any{"exp": exp})), ExpMissing)
		})
	}
	t.Run("null", func(t *testing.T) {
		t.Parallel()
		c := e.claims(nil)
		raw := strings.Replace(string(mustJSON(t, c)), `"exp":`, `"exp":null,"x":`, 1)
		e.mustReject(t, bearer(testissuer.SignRaw(mustJSON(t, header(nil)), []byte(raw), "RS256", e.k1.Private)), ExpMissing)
	})
	t.Run("fractional and exponent numbers are numbers", func(t *testing.T) {
		t.Parallel()
		now := e.clock.Now().Unix()
		e.mustAccept(t, bearer(e.token(map[string]any{"exp": json.Number("1e10")})))
		e.mustAccept(t, bearer(e.token(map[string]any{"exp": float64(now) + 0.5})))
		e.mustReject(t, bearer(e.token(map[string]any{"exp": float64(now-3600) + 0.5})), Expired)
	})
}

func TestEDGE33_ClockBoundaries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		skew time.Duration
		exp  int64 // relative to now, seconds
		ok   bool
	}{
		{"skew 60 exp now-59", 60 * time.Second, -59, true},
		{"skew 60 exp now-60", 60 * time.Second, -60, false},
		{"skew 60 exp now-61", 60 * time.Second, -61, false},
		{"skew 0 exp now+1", 0, 1, true},
		{"skew 0 exp now", 0, 0, false},
		{"skew 0 exp now-1", 0, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.Skew = tc.skew })
			now := e.clock.Now().Unix()
			tok := e.token(map[string]any{"exp": now + tc.exp, "iat": now - 600})
			if tc.ok {
				e.mustAccept(t, bearer(tok))
				return
			}
			e.mustReject(t, bearer(tok), Expired)
		})
	}
	t.Run("the injected clock decides", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		tok := bearer(e.token(nil)) // exp = now + 1 h
		e.mustAccept(t, tok)
		e.clock.Advance(time.Hour + 59*time.Second)
		e.mustAccept(t, tok)
		e.clock.Advance(time.Second)
		e.mustReject(t, tok, Expired)
	})
}

func TestEDGE34_NbfIat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	now := e.clock.Now().Unix()
	for _, tc := range []struct {
		name string
		edit map[string]any
		ok   bool
	}{
		{"nbf now+59", map[string]any{"nbf": now + 59}, true},
		{"nbf now+60", map[string]any{"nbf": now + 60}, true},
		{"nbf now+61", map[string]any{"nbf": now + 61}, false},
		{"nbf far future", map[string]any{"nbf": json.Number("1e400")}, false},
		{"iat now+59", map[string]any{"iat": now + 59}, true},
		{"iat now+61", map[string]any{"iat": now + 61}, false},
		{"iat an hour ago", map[string]any{"iat": now - 3600}, true},
		{"iat absent", map[string]any{"iat": nil}, true},
		// The wrong JSON type counts as missing (§6.4): not checked.
		{"nbf as a string is ignored", map[string]any{"nbf": "9999999999"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := bearer(e.token(tc.edit))
			if tc.ok {
				e.mustAccept(t, tok)
				return
			}
			e.mustReject(t, tok, NotYetValid)
		})
	}
}

func TestEDGE35_Sub(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for name, sub := range map[string]any{
		"missing":   nil,
		"empty":     "",
		"256 bytes": strings.Repeat("s", 256),
		"CR LF":     "user\r\nX-MCPbox-User-Email: admin@example.com",
		"LF":        "user\n1",
		"NUL":       "user\x001",
		"DEL":       "user\x7f",
		"non-ASCII": "usér",
		"numeric":   12345,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e.mustReject(t, bearer(e.token(map[string]any{"sub": sub})), SubInvalid)
		})
	}
	t.Run("255 bytes", func(t *testing.T) {
		t.Parallel()
		sub := strings.Repeat("s", 255)
		if id := e.mustAccept(t, bearer(e.token(map[string]any{"sub": sub}))); id.Subject != sub {
			t.Fatalf("subject %q", id.Subject)
		}
	})
}

func TestEDGE36_RequiredScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RequiredScopes = []string{"mcp"} })
	for name, tc := range map[string]struct {
		edit map[string]any
		ok   bool
	}{
		"scope openid mcp":      {map[string]any{"scope": "openid mcp"}, true},
		"scp [mcp]":             {map[string]any{"scp": []string{"mcp"}}, true},
		"scp string":            {map[string]any{"scp": "openid mcp"}, true},
		"scope mcpx":            {map[string]any{"scope": "mcpx"}, false},
		"absent":                {nil, false},
		"scope mcp:read":        {map[string]any{"scope": "openid mcp:read"}, false},
		"scope as an array":     {map[string]any{"scope": []string{"mcp"}}, false},
		"scp element with a sp": {map[string]any{"scp": []string{"openid mcp"}}, false},
		"scope MCP":             {map[string]any{"scope": "MCP"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok := bearer(e.token(tc.edit))
			if tc.ok {
				e.mustAccept(t, tok)
				return
			}
			e.mustReject(t, tok, InsufficientScope)
		})
	}
	t.Run("every required scope from either claim", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *Config) { c.RequiredScopes = []string{"mcp", "tools"} })
		e.mustAccept(t, bearer(e.token(map[string]any{"scope": "mcp", "scp": []string{"tools"}})))
		e.mustReject(t, bearer(e.token(map[string]any{"scope": "mcp"})), InsufficientScope)
	})
	t.Run("no required scopes", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		e.mustAccept(t, bearer(e.token(nil)))
	})
}

func TestEDGE37_AllowedClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AllowedClients = []string{"a"} })
	for name, tc := range map[string]struct {
		edit map[string]any
		ok   bool
	}{
		"azp b":             {map[string]any{"azp": "b"}, false},
		"azp a":             {map[string]any{"azp": "a"}, true},
		"client_id a":       {map[string]any{"client_id": "a"}, true},
		"azp b client_id a": {map[string]any{"azp": "b", "client_id": "a"}, false},
		"neither":           {nil, false},
		"client_id b":       {map[string]any{"client_id": "b"}, false},
		"azp A":             {map[string]any{"azp": "A"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok := bearer(e.token(tc.edit))
			if tc.ok {
				e.mustAccept(t, tok)
				return
			}
			e.mustReject(t, tok, ClientNotAllowed)
		})
	}
}

// TestClaimOrder pins the order iss, aud, exp, nbf, sub, client, scope.
func TestClaimOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.AllowedClients = []string{"a"}
		c.RequiredScopes = []string{"mcp"}
	})
	now := e.clock.Now().Unix()
	bad := map[string]any{
		"iss": "x", "aud": "x", "exp": now - 3600, "nbf": now + 3600, "sub": "", "azp": "b", "scope": "",
	}
	for _, step := range []struct {
		claim string
		want  Reason
		fix   any
	}{
		{"iss", IssMismatch, testIssuer},
		{"aud", AudMismatch, testResource},
		{"exp", Expired, now + 60},
		{"nbf", NotYetValid, now},
		{"sub", SubInvalid, "u"},
		{"azp", ClientNotAllowed, "a"},
		{"scope", InsufficientScope, "mcp"},
	} {
		e.mustReject(t, bearer(e.token(bad)), step.want)
		bad[step.claim] = step.fix
	}
	e.mustAccept(t, bearer(e.token(bad)))
}

func TestEDGE52_EmailVerified(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		require bool
		ev      any // nil: absent
		forward bool
	}{
		{"absent", false, nil, true},
		{"true", false, true, true},
		{"string true", false, "true", true},
		{"false", false, false, false},
		{"string false", false, "false", false},
		{"string FALSE", false, "FALSE", false},
		{"required, absent", true, nil, false},
		{"required, string true", true, "true", false},
		{"required, false", true, false, false},
		{"required, true", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.RequireEmailVerified = tc.require })
			id := e.mustAccept(t, bearer(e.token(map[string]any{"email_verified": tc.ev})))
			if id.Subject != "user-1" {
				t.Fatalf("subject %q", id.Subject)
			}
			if tc.forward {
				if id.Email != "alice@example.com" || id.EmailWithheld != "" {
					t.Fatalf("identity %+v, want the email", id)
				}
				if n := withheld(e.m, metrics.EmailUnverified); n != 0 {
					t.Fatalf("email_withheld{unverified} = %v", n)
				}
				return
			}
			if id.Email != "" || id.EmailWithheld != metrics.EmailUnverified {
				t.Fatalf("identity %+v, want the email withheld as unverified", id)
			}
			if n := withheld(e.m, metrics.EmailUnverified); n != 1 {
				t.Fatalf("email_withheld{unverified} = %v, want 1", n)
			}
		})
	}
}

func TestEDGE53_EmailInvalid(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 255-len("@example.com")) + "@example.com"
	for name, email := range map[string]any{
		"number":    42,
		"boolean":   true,
		"array":     []string{"alice@example.com"},
		"object":    map[string]any{"email": "alice@example.com"},
		"255 bytes": long,
		"CR LF":     "alice@example.com\r\nX-Evil: 1",
		"LF":        "alice@example.com\n",
		"no @":      "alice.example.com",
		"two @":     "alice@bob@example.com",
		"empty":     "",
		"no TLD":    "alice@example",
		"space":     "alice @example.com",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			id := e.mustAccept(t, bearer(e.token(map[string]any{"email": email})))
			if id.Email != "" || id.EmailWithheld != metrics.EmailInvalid {
				t.Fatalf("identity %+v, want the email withheld as invalid", id)
			}
			if n := withheld(e.m, metrics.EmailInvalid); n != 1 {
				t.Fatalf("email_withheld{invalid} = %v, want 1", n)
			}
		})
	}
	t.Run("254 bytes is forwarded", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		ok := long[1:]
		if id := e.mustAccept(t, bearer(e.token(map[string]any{"email": ok}))); id.Email != ok {
			t.Fatalf("identity %+v", id)
		}
	})
	t.Run("absent", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		id := e.mustAccept(t, bearer(e.token(map[string]any{"email": nil})))
		if id.Email != "" || id.EmailWithheld != metrics.EmailAbsent || withheld(e.m, metrics.EmailAbsent) != 1 {
			t.Fatalf("identity %+v, absent count %v", id, withheld(e.m, metrics.EmailAbsent))
		}
	})
	t.Run("counted once per verified token, never for rejected ones", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		for range 3 {
			e.mustAccept(t, bearer(e.token(map[string]any{"email": 5})))
		}
		e.mustReject(t, bearer(e.token(map[string]any{"email": 5, "aud": "x"})), AudMismatch)
		if n := withheld(e.m, metrics.EmailInvalid); n != 3 {
			t.Fatalf("email_withheld{invalid} = %v, want 3", n)
		}
	})
}

func TestEDGE54_EmailClaim(t *testing.T) {
	t.Parallel()
	const claim = "https://mcpbox.example/email"
	e := newEnv(t, func(c *Config) { c.EmailClaim = claim })
	id := e.mustAccept(t, bearer(e.token(map[string]any{claim: "ns@example.com", "email": "plain@example.com"})))
	if id.Email != "ns@example.com" {
		t.Fatalf("identity %+v, want the namespaced claim", id)
	}
	id = e.mustAccept(t, bearer(e.token(map[string]any{"email": "plain@example.com"})))
	if id.Email != "" || id.EmailWithheld != metrics.EmailAbsent {
		t.Fatalf("identity %+v, want the plain claim ignored", id)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errorsJoin(errs ...error) error { return errors.Join(errs...) }

// selfSigned is a DER certificate for k's public key, signed by k.
func selfSigned(t testing.TB, k *testissuer.Key) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.Private.PublicKey, k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
