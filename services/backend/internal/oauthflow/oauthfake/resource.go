package oauthfake

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// Resource is a fake MCP server protected by OAuth: its endpoint answers a
// request without a valid access token with 401 and a Bearer challenge
// naming its protected-resource metadata (RFC 9728), which it serves at
// /.well-known/oauth-protected-resource<endpoint path>.
type Resource struct {
	srv *httptest.Server
	// PublicURL is the endpoint's URL as the source stores it.
	PublicURL string
	// Scope is the scope of the challenge ("" for none).
	Scope string
	meta  oauthex.ProtectedResourceMetadata
	valid func(token string) bool
}

// NewResource starts the fake MCP server of publicURL, whose authorization
// server is issuer; valid says which access tokens it accepts.
func NewResource(t testing.TB, publicURL, issuer string, valid func(token string) bool) *Resource {
	t.Helper()
	u, err := url.Parse(publicURL)
	if err != nil {
		t.Fatal(err)
	}
	r := &Resource{
		PublicURL: publicURL, Scope: "repo:read", valid: valid,
		meta: oauthex.ProtectedResourceMetadata{
			Resource: publicURL, AuthorizationServers: []string{issuer}, ScopesSupported: []string{"repo:read", "repo:write"},
			BearerMethodsSupported: []string{"header"},
		},
	}
	metaPath := "/.well-known/oauth-protected-resource" + u.Path
	metaURL := url.URL{Scheme: u.Scheme, Host: u.Host, Path: metaPath}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+metaPath, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, r.meta)
	})
	mux.HandleFunc("POST "+u.Path, func(w http.ResponseWriter, req *http.Request) {
		if tok, ok := bearerToken(req); ok && r.valid(tok) {
			writeJSON(w, http.StatusOK, map[string]any{"jsonrpc": "2.0", "id": 1, "result": map[string]any{}})
			return
		}
		challenge := `Bearer resource_metadata="` + metaURL.String() + `"`
		if r.Scope != "" {
			challenge += `, scope="` + r.Scope + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
	})
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

// Server is the fake's loopback server, for Sandbox.Map.
func (r *Resource) Server() *httptest.Server { return r.srv }

func bearerToken(r *http.Request) (string, bool) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return "", false
	}
	return h[len(prefix):], true
}
