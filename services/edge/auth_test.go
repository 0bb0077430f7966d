package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
)

const metadataURL = publicURL + "/.well-known/oauth-protected-resource/mcp"

func TestEDGE11_MetadataDocuments(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	var bodies []string
	for _, p := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		r := e.Do(t, http.MethodGet, p, "")
		if r.Status != 200 || r.Header.Get("Cache-Control") != "public, max-age=300" ||
			r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %v", p, r.Status, r.Header)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.Body), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["resource"] != resource || !equalJSON(doc["authorization_servers"], []any{e.IDP.URL}) ||
			!equalJSON(doc["bearer_methods_supported"], []any{"header"}) ||
			!equalJSON(doc["scopes_supported"], []any{"openid", "email"}) {
			t.Errorf("%s: %v", p, doc)
		}
		bodies = append(bodies, r.Body)
	}
	if bodies[0] != bodies[1] {
		t.Errorf("documents differ:\n%s\n%s", bodies[0], bodies[1])
	}
	if n := e.GW.Count(); n != 0 {
		t.Errorf("upstream called %d times", n)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestEDGE12_HostIgnored(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	r := e.Raw(t, http.MethodGet, "/.well-known/oauth-protected-resource/mcp", "Host: evil.example")
	if !strings.Contains(r.Body, `"resource":"`+resource+`"`) || strings.Contains(r.Body, "evil") {
		t.Errorf("metadata with Host evil.example: %s", r.Body)
	}
	c := e.Raw(t, http.MethodPost, "/mcp", "Host: evil.example", "Content-Length: 0")
	if got := c.Header.Get("WWW-Authenticate"); !strings.Contains(got, metadataURL) || strings.Contains(got, "evil") {
		t.Errorf("challenge with Host evil.example: %q", got)
	}
}

func TestEDGE13_NoTokenChallenge(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	r := e.Post(t, "")
	wantJSONError(t, r, 401, "unauthorized")
	if got, want := r.Header.Get("WWW-Authenticate"), `Bearer resource_metadata="`+metadataURL+`"`; got != want {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}
	if e.GW.Count() != 0 {
		t.Error("upstream called")
	}
}

func TestEDGE14_RequiredScopeInChallenge(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_REQUIRED_SCOPES": "mcp"})
	r := e.Post(t, "")
	if got, want := r.Header.Get("WWW-Authenticate"), `Bearer resource_metadata="`+metadataURL+`", scope="mcp"`; got != want {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}
}

func TestEDGE15_InvalidTokenChallenges(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	expired := e.Token("alice", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
	r := e.Post(t, expired)
	wantJSONError(t, r, 401, "invalid_token")
	want := `Bearer error="invalid_token", error_description="token expired", resource_metadata="` + metadataURL + `"`
	if got := r.Header.Get("WWW-Authenticate"); got != want {
		t.Errorf("expired: %q, want %q", got, want)
	}
	other := testissuer.NewKey(t, "k1", 1) // same kid, other key
	bad := testissuer.Sign(map[string]any{"alg": "RS256", "kid": "k1"}, e.IDP.Claims("alice", resource), other.Private)
	r = e.Post(t, bad)
	if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error_description="token verification failed"`) {
		t.Errorf("bad signature: %q", got)
	}
	if e.GW.Count() != 0 {
		t.Error("upstream called")
	}
}

func TestEDGE16_Carriers(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	tok := e.Token("alice", nil)
	r := e.Do(t, http.MethodPost, "/mcp", "{}", "Authorization", "Basic YTpi")
	if r.Status != 401 || strings.Contains(r.Header.Get("WWW-Authenticate"), "error=") {
		t.Errorf("Basic: %d %q", r.Status, r.Header.Get("WWW-Authenticate"))
	}
	for _, v := range []string{"Bearer ", "Bearer a b"} {
		r := e.Raw(t, http.MethodPost, "/mcp", "Authorization: "+v, "Content-Length: 0")
		if r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%q: %d %q", v, r.Status, r.Header.Get("WWW-Authenticate"))
		}
	}
	r = e.Raw(t, http.MethodPost, "/mcp", "Authorization: Bearer "+tok, "Authorization: Bearer "+tok, "Content-Length: 0")
	wantJSONError(t, r, 400, "invalid_request")
	if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_request"`) {
		t.Errorf("duplicate: %q", r.Header.Get("WWW-Authenticate"))
	}
	if e.GW.Count() != 0 {
		t.Fatal("upstream called for a refused carrier")
	}
	for _, scheme := range []string{"bearer", "BEARER"} {
		r := e.Do(t, http.MethodPost, "/mcp", "{}", "Authorization", scheme+" "+tok)
		if r.Status != 200 {
			t.Errorf("%s: %d", scheme, r.Status)
		}
	}
}

func TestEDGE17_OversizedToken(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	fetches := e.IDP.JWKSFetches()
	big := strings.Repeat("a", 9<<10)
	r := e.Post(t, big)
	if r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("9 KiB token: %d %q", r.Status, r.Header.Get("WWW-Authenticate"))
	}
	if got := e.metricValue(t, "mcpbox_edge_jwt_rejections_total", "reason", "too_large"); got != 1 {
		t.Errorf("too_large counted %v", got)
	}
	if e.IDP.JWKSFetches() != fetches {
		t.Error("a JWKS fetch happened")
	}
}

func TestEDGE18_TokenOnlyInHeader(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	tok := e.Token("alice", nil)
	for name, r := range map[string]response{
		"query":  e.Do(t, http.MethodPost, "/mcp?access_token="+tok, "{}"),
		"form":   e.Do(t, http.MethodPost, "/mcp", "access_token="+tok, "Content-Type", "application/x-www-form-urlencoded"),
		"cookie": e.Do(t, http.MethodPost, "/mcp", "{}", "Cookie", "access_token="+tok),
	} {
		if r.Status != 401 || strings.Contains(r.Header.Get("WWW-Authenticate"), "error=") {
			t.Errorf("%s: %d %q", name, r.Status, r.Header.Get("WWW-Authenticate"))
		}
	}
	r := e.Do(t, http.MethodPost, "/mcp?access_token=garbage-query-marker", "{}", "Authorization", "Bearer "+tok)
	if r.Status != 200 {
		t.Fatalf("header token with a query token: %d", r.Status)
	}
	if logs := e.Svc.Logs.String(); strings.Contains(logs, "garbage-query-marker") || strings.Contains(logs, "access_token") {
		t.Error("the query string reached the logs")
	}
}

// TestEDGE19to38_RejectedNeverReachUpstream sends each token attack of §19
// through the whole edge: the stated status, the reason counted once, and
// zero upstream requests. The token rules themselves are tested in
// internal/tokencheck.
func TestEDGE19to38_RejectedNeverReachUpstream(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_REQUIRED_SCOPES": "mcp", "MCPBOX_EDGE_ALLOWED_CLIENTS": "a"})
	k := e.IDP.Signer()
	valid := func(edit func(map[string]any)) map[string]any {
		c := e.IDP.Claims("alice", resource)
		c["scope"] = "openid mcp"
		c["azp"] = "a"
		if edit != nil {
			edit(c)
		}
		return c
	}
	hdr := func(alg string) map[string]any { return map[string]any{"alg": alg, "kid": k.KID} }
	other := testissuer.NewKey(t, "k1", 1)
	cases := []struct {
		id, name string
		token    string
		status   int
		reason   string
	}{
		{"EDGE-20", "alg none", testissuer.Sign(hdr("none"), valid(nil), nil), 401, "alg_not_allowed"},
		{"EDGE-21", "HS256 with the public key", testissuer.Sign(hdr("HS256"), valid(nil), k.Private.N.Bytes()), 401, "alg_not_allowed"},
		{"EDGE-22", "RS512", testissuer.Sign(hdr("RS512"), valid(nil), k.Private), 401, "alg_not_allowed"},
		{"EDGE-23", "no kid", testissuer.Sign(map[string]any{"alg": "RS256"}, valid(nil), k.Private), 401, "kid_missing"},
		{"EDGE-24", "unknown kid", testissuer.Sign(map[string]any{"alg": "RS256", "kid": "nope"}, valid(nil), k.Private), 401, "kid_unknown"},
		{"EDGE-25", "other key", testissuer.Sign(hdr("RS256"), valid(nil), other.Private), 401, "signature_invalid"},
		{"EDGE-28", "typ JWE", testissuer.Sign(map[string]any{"alg": "RS256", "kid": k.KID, "typ": "JWE"}, valid(nil), k.Private), 401, "typ_not_allowed"},
		{"EDGE-29", "two segments", "abc.def", 401, "malformed"},
		{"EDGE-30", "iss", e.IDP.Token(valid(func(c map[string]any) { c["iss"] = e.IDP.URL + "/" })), 401, "iss_mismatch"},
		{"EDGE-31", "aud", e.IDP.Token(valid(func(c map[string]any) { c["aud"] = publicURL })), 401, "aud_mismatch"},
		{"EDGE-32", "exp missing", e.IDP.Token(valid(func(c map[string]any) { delete(c, "exp") })), 401, "exp_missing"},
		{"EDGE-33", "expired", e.IDP.Token(valid(func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })), 401, "expired"},
		{"EDGE-34", "nbf future", e.IDP.Token(valid(func(c map[string]any) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() })), 401, "not_yet_valid"},
		{"EDGE-35", "sub CRLF", e.IDP.Token(valid(func(c map[string]any) { c["sub"] = "a\r\nb" })), 401, "sub_invalid"},
		{"EDGE-36", "scope missing", e.IDP.Token(valid(func(c map[string]any) { c["scope"] = "mcpx" })), 403, "insufficient_scope"},
		{"EDGE-37", "client", e.IDP.Token(valid(func(c map[string]any) { c["azp"] = "b" })), 403, "client_not_allowed"},
	}
	for _, tc := range cases {
		before := e.metricValue(t, "mcpbox_edge_jwt_rejections_total", "reason", tc.reason)
		r := e.Post(t, tc.token)
		if r.Status != tc.status {
			t.Errorf("%s %s: status %d, want %d (%s)", tc.id, tc.name, r.Status, tc.status, r.Body)
		}
		if got := e.metricValue(t, "mcpbox_edge_jwt_rejections_total", "reason", tc.reason); got != before+1 {
			t.Errorf("%s %s: %s counted %v→%v", tc.id, tc.name, tc.reason, before, got)
		}
	}
	if n := e.GW.Count(); n != 0 {
		t.Fatalf("rejected tokens reached the gateway %d times", n)
	}
	// EDGE-19: the baseline is proxied with the subject.
	if r := e.Post(t, e.IDP.Token(valid(nil))); r.Status != 200 {
		t.Fatalf("baseline: %d %s", r.Status, r.Body)
	}
	if sub := e.GW.Last(t).Header.Get("X-MCPbox-User-Sub"); sub != "alice" {
		t.Errorf("X-MCPbox-User-Sub %q", sub)
	}
}
