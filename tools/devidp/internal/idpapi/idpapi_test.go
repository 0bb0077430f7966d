package idpapi_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/mcpbox/mcpbox/tools/devidp/internal/idpapi"
	"github.com/mcpbox/mcpbox/tools/devidp/internal/keyring"
)

// newServer runs the handler on 127.0.0.1:0; the issuer is the server's own URL, as with devidp serve.
func newServer(t *testing.T) (*httptest.Server, *keyring.Ring) {
	t.Helper()
	ring, err := keyring.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	srv.Config.Handler = idpapi.Handler(ring, issuer, slog.New(slog.DiscardHandler), time.Now)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, ring
}

func do(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

func TestDiscoveryDocument(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	status, body := do(t, http.MethodGet, srv.URL+idpapi.DiscoveryPath, "")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var d idpapi.Discovery
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != srv.URL {
		t.Errorf("issuer %q, want %q", d.Issuer, srv.URL)
	}
	if d.JWKSURI != srv.URL+"/jwks.json" {
		t.Errorf("jwks_uri %q", d.JWKSURI)
	}
	if len(d.IDTokenSigningAlgValuesSupported) != 1 || d.IDTokenSigningAlgValuesSupported[0] != "RS256" {
		t.Errorf("id_token_signing_alg_values_supported %v", d.IDTokenSigningAlgValuesSupported)
	}
	if len(d.ResponseTypesSupported) == 0 || len(d.SubjectTypesSupported) == 0 {
		t.Errorf("required discovery metadata missing: %s", body)
	}
}

func TestJWKSPublishesCurrentKey(t *testing.T) {
	t.Parallel()
	srv, ring := newServer(t)
	set := fetchJWKS(t, srv.URL)
	if set.Len() != 1 {
		t.Fatalf("%d keys, want 1", set.Len())
	}
	k, ok := set.LookupKeyID(ring.Current().ID)
	if !ok {
		t.Fatalf("current kid %s not published", ring.Current().ID)
	}
	var pub rsa.PublicKey
	if err := jwk.Export(k, &pub); err != nil {
		t.Fatalf("published key is not an RSA public key: %v", err)
	}
	if pub.N.Cmp(ring.Current().Private.N) != 0 {
		t.Error("published modulus differs from the signing key's")
	}
}

func TestTokenClaimsVerifyAgainstPublishedKey(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	tok := mintToken(t, srv.URL, `{"sub":"alice","email":"alice@example.com","aud":"http://127.0.0.1:18080/mcp","scope":"openid email","ttl":"1h"}`)
	parsed := verify(t, srv.URL, tok, "http://127.0.0.1:18080/mcp")
	if sub, _ := parsed.Subject(); sub != "alice" {
		t.Errorf("sub %q", sub)
	}
	var email, scope string
	var verified bool
	if err := parsed.Get("email", &email); err != nil || email != "alice@example.com" {
		t.Errorf("email %q (%v)", email, err)
	}
	if err := parsed.Get("email_verified", &verified); err != nil || !verified {
		t.Errorf("email_verified %v (%v)", verified, err)
	}
	if err := parsed.Get("scope", &scope); err != nil || scope != "openid email" {
		t.Errorf("scope %q (%v)", scope, err)
	}
	exp, _ := parsed.Expiration()
	if d := time.Until(exp); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("exp in %v, want 1h", d)
	}
	hdr := protectedHeader(t, tok)
	if hdr.alg != "RS256" || hdr.typ != "JWT" || hdr.kid == "" {
		t.Errorf("header %+v", hdr)
	}
}

func TestRotationKeepsPreviousKeyUntilRetired(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	const aud = "http://127.0.0.1:8080/mcp"
	oldTok := mintToken(t, srv.URL, `{"sub":"alice"}`)
	oldKid := protectedHeader(t, oldTok).kid

	status, body := do(t, http.MethodPost, srv.URL+"/dev/rotate", "")
	if status != http.StatusOK {
		t.Fatalf("rotate: %d %s", status, body)
	}
	var rr idpapi.RotateResponse
	if err := json.Unmarshal(body, &rr); err != nil {
		t.Fatal(err)
	}
	if rr.Previous != oldKid || rr.KeyID == oldKid {
		t.Fatalf("rotate answered %+v; old kid %s", rr, oldKid)
	}
	newTok := mintToken(t, srv.URL, `{"sub":"alice"}`)
	if kid := protectedHeader(t, newTok).kid; kid != rr.KeyID {
		t.Errorf("new token signed by %s, want %s", kid, rr.KeyID)
	}
	verify(t, srv.URL, oldTok, aud) // still published
	verify(t, srv.URL, newTok, aud)
	if n := fetchJWKS(t, srv.URL).Len(); n != 2 {
		t.Errorf("%d keys after rotation, want 2", n)
	}

	status, body = do(t, http.MethodPost, srv.URL+"/dev/rotate?retire=previous", "")
	if status != http.StatusOK {
		t.Fatalf("retire: %d %s", status, body)
	}
	set := fetchJWKS(t, srv.URL)
	if _, ok := set.LookupKeyID(oldKid); ok || set.Len() != 1 {
		t.Errorf("old kid still published after retire (%d keys)", set.Len())
	}
	verify(t, srv.URL, newTok, aud)
	if status, _ := do(t, http.MethodPost, srv.URL+"/dev/rotate?retire=previous", ""); status != http.StatusConflict {
		t.Errorf("retire without previous: %d, want 409", status)
	}
	if status, _ := do(t, http.MethodPost, srv.URL+"/dev/rotate?retire=all", ""); status != http.StatusBadRequest {
		t.Errorf("retire=all: %d, want 400", status)
	}
}

func TestControlRoutesRefuseNonLoopbackClients(t *testing.T) {
	t.Parallel()
	ring, err := keyring.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := idpapi.Handler(ring, "http://127.0.0.1:9400", slog.New(slog.DiscardHandler), time.Now)
	for _, path := range []string{"/dev/token", "/dev/rotate"} {
		for remote, want := range map[string]int{"192.0.2.7:4000": http.StatusForbidden, "[::1]:4000": http.StatusOK} {
			req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, path, bytes.NewBufferString(`{"sub":"x"}`))
			req.RemoteAddr = remote
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Errorf("%s from %s: %d, want %d", path, remote, rec.Code, want)
			}
		}
	}
}

func TestTokenRejectsBadRequest(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	status, body := do(t, http.MethodPost, srv.URL+"/dev/token", `{"email":"x@example.com"}`)
	if status != http.StatusBadRequest || !strings.Contains(string(body), "sub: required") {
		t.Errorf("%d %s, want 400 naming sub", status, body)
	}
}

func mintToken(t *testing.T, base, body string) string {
	t.Helper()
	status, data := do(t, http.MethodPost, base+"/dev/token", body)
	if status != http.StatusOK {
		t.Fatalf("mint: %d %s", status, data)
	}
	var tr idpapi.TokenResponse
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.TokenType != "Bearer" || tr.AccessToken == "" {
		t.Fatalf("token response %s", data)
	}
	return tr.AccessToken
}

func fetchJWKS(t *testing.T, base string) jwk.Set {
	t.Helper()
	status, data := do(t, http.MethodGet, base+"/jwks.json", "")
	if status != http.StatusOK {
		t.Fatalf("jwks: %d %s", status, data)
	}
	set, err := jwk.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// verify checks tok the way the edge does: the key picked by kid from the published set, RS256 fixed.
func verify(t *testing.T, base, tok, aud string) jwt.Token {
	t.Helper()
	key, ok := fetchJWKS(t, base).LookupKeyID(protectedHeader(t, tok).kid)
	if !ok {
		t.Fatalf("kid of token not published")
	}
	var pub rsa.PublicKey
	if err := jwk.Export(key, &pub); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse([]byte(tok), jwt.WithKey(jwa.RS256(), &pub), jwt.WithIssuer(base), jwt.WithAudience(aud))
	if err != nil {
		t.Fatalf("token does not verify against the published key: %v", err)
	}
	return parsed
}

type header struct{ alg, kid, typ string }

func protectedHeader(t *testing.T, tok string) header {
	t.Helper()
	msg, err := jws.Parse([]byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	alg, _ := h.Algorithm()
	kid, _ := h.KeyID()
	typ, _ := h.Type()
	return header{alg: alg.String(), kid: kid, typ: typ}
}
