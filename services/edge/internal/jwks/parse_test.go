package jwks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
)

func TestParseDiscovery(t *testing.T) {
	t.Parallel()
	const iss = "https://idp.example/realms/x"
	tests := []struct {
		name      string
		body      string
		insecure  bool
		want      string
		permanent bool
		errPart   string
	}{
		{"ok", `{"issuer":"` + iss + `","jwks_uri":"https://idp.example/certs"}`, false, "https://idp.example/certs", false, ""},
		{"other host allowed", `{"issuer":"` + iss + `","jwks_uri":"https://keys.example/certs"}`, false, "https://keys.example/certs", false, ""},
		{"http in dev mode", `{"issuer":"` + iss + `","jwks_uri":"http://127.0.0.1/certs"}`, true, "http://127.0.0.1/certs", false, ""},
		{"http refused", `{"issuer":"` + iss + `","jwks_uri":"http://idp.example/certs"}`, false, "", true, "https required"},
		{"trailing slash", `{"issuer":"` + iss + `/","jwks_uri":"https://idp.example/certs"}`, false, "", true, "does not equal"},
		{"case", `{"issuer":"https://IDP.example/realms/x","jwks_uri":"https://idp.example/certs"}`, false, "", true, "does not equal"},
		{"relative", `{"issuer":"` + iss + `","jwks_uri":"/certs"}`, false, "", true, "absolute"},
		{"userinfo", `{"issuer":"` + iss + `","jwks_uri":"https://u:p@idp.example/certs"}`, false, "", true, "userinfo"},
		{"scheme", `{"issuer":"` + iss + `","jwks_uri":"ftp://idp.example/certs"}`, false, "", true, "scheme"},
		{"not an object", `<html>`, false, "", false, "not a JSON object"},
		{"array", `[1]`, false, "", false, "not a JSON object"},
		{"null", `null`, false, "", false, "not a JSON object"},
		{"issuer number", `{"issuer":1,"jwks_uri":"https://idp.example/certs"}`, false, "", true, `no "issuer"`},
		{"jwks_uri number", `{"issuer":"` + iss + `","jwks_uri":1}`, false, "", true, `no "jwks_uri"`},
	}
	for _, tt := range tests {
		got, err := parseDiscovery([]byte(tt.body), iss, tt.insecure)
		if tt.errPart == "" {
			if err != nil || got != tt.want {
				t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
			}
			continue
		}
		var pe *permanentError
		isPermanent := errors.As(err, &pe)
		if err == nil || !strings.Contains(err.Error(), tt.errPart) || isPermanent != tt.permanent {
			t.Errorf("%s: err %v (permanent %v), want %q (permanent %v)", tt.name, err, isPermanent, tt.errPart, tt.permanent)
		}
	}
	if u := discoveryURL(iss + "/"); u != iss+discoveryPath {
		t.Errorf("discoveryURL = %q", u)
	}
}

func FuzzParseDiscovery(f *testing.F) {
	const iss = "https://idp.example"
	f.Add([]byte(`{"issuer":"https://idp.example","jwks_uri":"https://idp.example/certs"}`), false)
	f.Add([]byte(`{"issuer":"https://idp.example","jwks_uri":"http://idp.example/certs"}`), true)
	f.Add([]byte(`{"issuer":"https://idp.example","jwks_uri":"//idp.example/certs"}`), false)
	f.Add([]byte(`{"issuer":"https://idp.example","jwks_uri":"https://idp.example/c#f"}`), false)
	f.Add([]byte(`{"issuer":"https://idp.example","issuer":"https://evil.example","jwks_uri":"https://x/"}`), false)
	f.Add([]byte(`{"issuer":"https://idp.example\u0000","jwks_uri":"https://idp.example/certs"}`), false)
	f.Add([]byte(`{"issuer":null}`), false)
	f.Add([]byte(`[]`), false)
	f.Add([]byte(``), false)
	f.Fuzz(func(t *testing.T, body []byte, insecure bool) {
		u, err := parseDiscovery(body, iss, insecure)
		if err != nil {
			if u != "" {
				t.Fatalf("URL %q with error %v", u, err)
			}
			return
		}
		var doc struct {
			Issuer string `json:"issuer"`
		}
		if json.Unmarshal(body, &doc) != nil || doc.Issuer != iss {
			t.Fatalf("accepted a document whose issuer is not %q", iss)
		}
		parsed, err := validateURL(u, insecure)
		if err != nil {
			t.Fatalf("accepted jwks_uri %q: %v", u, err)
		}
		if parsed.Scheme != "https" && !insecure {
			t.Fatalf("accepted non-https jwks_uri %q", u)
		}
	})
}

func TestFilterReasons(t *testing.T) {
	t.Parallel()
	k := testissuer.NewKey(t, "k", 0)
	weak := testissuer.NewWeakKey(t, "weak")
	n := k.JWK()["n"]
	tests := []struct {
		name  string
		entry any
		want  string // "" = usable
	}{
		{"plain", map[string]any{"kty": "RSA", "kid": "a", "n": n, "e": "AQAB"}, ""},
		{"sig RS256 verify", jwkWith(k, map[string]any{"key_ops": []string{"verify", "sign"}}), ""},
		{"private members: public part used", map[string]any{"kty": "RSA", "kid": "a", "n": n, "e": "AQAB", "d": "AQAB"}, ""},
		{"oct", map[string]any{"kty": "oct", "kid": "a", "k": "AAAA"}, metrics.SkipKty},
		{"unknown kty", map[string]any{"kty": "foo", "kid": "a"}, metrics.SkipKty},
		{"not an object", "x", metrics.SkipKty},
		{"use enc", jwkWith(k, map[string]any{"use": "enc"}), metrics.SkipUse},
		{"use unknown", jwkWith(k, map[string]any{"use": "foo"}), metrics.SkipUse},
		{"key_ops sign only", jwkWith(k, map[string]any{"key_ops": []string{"sign"}}), metrics.SkipUse},
		{"alg RS512", jwkWith(k, map[string]any{"alg": "RS512"}), metrics.SkipAlg},
		{"alg PS256", jwkWith(k, map[string]any{"alg": "PS256"}), metrics.SkipAlg},
		{"alg unknown", jwkWith(k, map[string]any{"alg": "FOO"}), metrics.SkipAlg},
		{"kid missing", jwkWith(k, map[string]any{"kid": nil}), metrics.SkipNoKID},
		{"kid empty", jwkWith(k, map[string]any{"kid": ""}), metrics.SkipNoKID},
		{"kid number", jwkWith(k, map[string]any{"kid": 5}), metrics.SkipNoKID},
		{"1024 bits", weak.JWK(), metrics.SkipSize},
		{"e = 1", jwkWith(k, map[string]any{"e": "AQ"}), metrics.SkipSize},
		{"e even", jwkWith(k, map[string]any{"e": "AAE"}), metrics.SkipSize},
		{"e huge", jwkWith(k, map[string]any{"e": "AQAAAAE"}), metrics.SkipSize},
		{"n missing", jwkWith(k, map[string]any{"n": nil}), metrics.SkipSize},
		{"weak enc", jwkWith(weak, map[string]any{"use": "enc"}), metrics.SkipUse},
	}
	for _, tt := range tests {
		doc := mustJSON(t, map[string]any{"keys": []any{tt.entry}})
		set, err := jwk.Parse([]byte(doc), jwk.WithStrictKeySetParsing(false))
		if err != nil {
			t.Fatalf("%s: parse: %v", tt.name, err)
		}
		u := filterSet(set)
		switch {
		case tt.want == "" && (u.n != 1 || len(u.skipped) != 0):
			t.Errorf("%s: not usable: %+v", tt.name, u.skipped)
		case tt.want != "" && (u.n != 0 || len(u.skipped) != 1 || u.skipped[0].reason != tt.want):
			t.Errorf("%s: usable %d, skipped %+v; want reason %q", tt.name, u.n, u.skipped, tt.want)
		}
	}
}
