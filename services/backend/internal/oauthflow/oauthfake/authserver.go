package oauthfake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// AuthServer is a fake OAuth authorization server: metadata (RFC 8414, or
// only OpenID configuration), dynamic client registration (RFC 7591), an
// authorization step the test plays as the user (Authorize), and a token
// endpoint that checks the PKCE S256 verifier, the redirect URI and the
// client, issues refresh tokens and rotates them.
type AuthServer struct {
	srv *httptest.Server
	// Issuer is the public issuer URL, e.g. https://auth.example.com.
	Issuer string

	mu sync.Mutex
	// Meta is the metadata served; tests may change it before a flow.
	Meta oauthex.AuthServerMeta
	// OpenIDOnly serves the metadata only at /.well-known/openid-configuration.
	OpenIDOnly bool
	// ExpiresIn is the lifetime of access tokens in seconds (0: none given).
	ExpiresIn int
	// FailRefresh makes refresh grants fail with invalid_grant.
	FailRefresh bool

	clients  map[string]oauthex.ClientRegistrationMetadata
	codes    map[string]grant
	refresh  map[string]string // refresh token → client id
	access   map[string]bool
	counts   map[string]int // "register", "code", "refresh", "metadata"
	lastForm url.Values
}

// grant is an issued authorization code.
type grant struct {
	clientID, redirectURI, challenge, resource string
}

// NewAuthServer starts the fake authorization server of issuer.
func NewAuthServer(t testing.TB, issuer string) *AuthServer {
	t.Helper()
	a := &AuthServer{
		Issuer: issuer, ExpiresIn: 3600,
		Meta: oauthex.AuthServerMeta{
			Issuer: issuer, AuthorizationEndpoint: issuer + "/authorize", TokenEndpoint: issuer + "/token",
			RegistrationEndpoint: issuer + "/register", ResponseTypesSupported: []string{"code"},
			GrantTypesSupported:           []string{"authorization_code", "refresh_token"},
			CodeChallengeMethodsSupported: []string{"S256"}, ScopesSupported: []string{"repo:read", "offline_access"},
			TokenEndpointAuthMethodsSupported: []string{"none", "client_secret_basic"},
		},
		clients: map[string]oauthex.ClientRegistrationMetadata{}, codes: map[string]grant{},
		refresh: map[string]string{}, access: map[string]bool{}, counts: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		a.metadata(w, r, false)
	})
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		a.metadata(w, r, true)
	})
	mux.HandleFunc("POST /register", a.register)
	mux.HandleFunc("POST /token", a.token)
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// Server is the fake's loopback server, for Sandbox.Map.
func (a *AuthServer) Server() *httptest.Server { return a.srv }

// Count returns how many requests of a kind arrived: "metadata",
// "register", "code" (code exchanges) or "refresh".
func (a *AuthServer) Count(kind string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.counts[kind]
}

// Preregister adds a client id the server knows without registration.
func (a *AuthServer) Preregister(clientID, redirectURI string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clients[clientID] = oauthex.ClientRegistrationMetadata{RedirectURIs: []string{redirectURI}}
}

// ValidAccessToken reports an access token the server issued.
func (a *AuthServer) ValidAccessToken(token string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.access[token]
}

// Set changes the server's settings under its lock.
func (a *AuthServer) Set(f func(a *AuthServer)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

// LastTokenForm is the form of the last token request.
func (a *AuthServer) LastTokenForm() url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastForm
}

// Authorize plays the user who approves the authorization request of
// authURL: it checks the request (endpoint, response_type, a known client
// and its redirect URI, an S256 challenge, a state) and returns the code
// and state the authorization server would redirect back with.
func (a *AuthServer) Authorize(authURL string) (code, state string, err error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	a.mu.Lock()
	defer a.mu.Unlock()
	client, known := a.clients[q.Get("client_id")]
	switch {
	case u.Scheme+"://"+u.Host+u.Path != a.Meta.AuthorizationEndpoint:
		return "", "", fmt.Errorf("authorization request to %s, want %s", u.Host+u.Path, a.Meta.AuthorizationEndpoint)
	case q.Get("response_type") != "code":
		return "", "", fmt.Errorf("response_type %q", q.Get("response_type"))
	case !known:
		return "", "", fmt.Errorf("unknown client %q", q.Get("client_id"))
	case !slices.Contains(client.RedirectURIs, q.Get("redirect_uri")):
		return "", "", fmt.Errorf("redirect_uri %q not registered (%v)", q.Get("redirect_uri"), client.RedirectURIs)
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		return "", "", fmt.Errorf("no S256 challenge: %q %q", q.Get("code_challenge_method"), q.Get("code_challenge"))
	case q.Get("state") == "":
		return "", "", fmt.Errorf("no state")
	}
	code = "code-" + random()
	a.codes[code] = grant{
		clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), resource: q.Get("resource"),
	}
	return code, q.Get("state"), nil
}

func (a *AuthServer) metadata(w http.ResponseWriter, _ *http.Request, openID bool) {
	a.mu.Lock()
	a.counts["metadata"]++
	meta, openIDOnly := a.Meta, a.OpenIDOnly
	a.mu.Unlock()
	if openIDOnly && !openID {
		http.NotFound(w, nil)
		return
	}
	writeJSON(w, http.StatusOK, meta)
}

func (a *AuthServer) register(w http.ResponseWriter, r *http.Request) {
	var meta oauthex.ClientRegistrationMetadata
	if err := json.NewDecoder(r.Body).Decode(&meta); err != nil || len(meta.RedirectURIs) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_redirect_uri"})
		return
	}
	a.mu.Lock()
	a.counts["register"]++
	id := fmt.Sprintf("dyn-client-%d", a.counts["register"])
	a.clients[id] = meta
	a.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"client_id": id, "redirect_uris": meta.RedirectURIs, "token_endpoint_auth_method": "none",
		"grant_types": meta.GrantTypes, "client_id_issued_at": time.Now().Unix(),
	})
}

func (a *AuthServer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	clientID := r.PostForm.Get("client_id")
	if id, _, ok := r.BasicAuth(); ok {
		clientID, _ = url.QueryUnescape(id)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastForm = r.PostForm
	deny := func(code string) { writeJSON(w, http.StatusBadRequest, map[string]string{"error": code}) }
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		a.counts["code"]++
		g, ok := a.codes[r.PostForm.Get("code")]
		delete(a.codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case !ok:
			deny("invalid_grant")
		case g.clientID != clientID || g.redirectURI != r.PostForm.Get("redirect_uri"):
			deny("invalid_grant")
		case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
			deny("invalid_grant") // PKCE S256 check failed
		case g.resource != r.PostForm.Get("resource"):
			deny("invalid_target")
		default:
			a.issue(w, clientID)
		}
	case "refresh_token":
		a.counts["refresh"]++
		owner, ok := a.refresh[r.PostForm.Get("refresh_token")]
		if !ok || owner != clientID || a.FailRefresh {
			deny("invalid_grant")
			return
		}
		delete(a.refresh, r.PostForm.Get("refresh_token"))
		a.issue(w, clientID)
	default:
		deny("unsupported_grant_type")
	}
}

// issue answers a token response with a new access and refresh token
// (a.mu held).
func (a *AuthServer) issue(w http.ResponseWriter, clientID string) {
	access, refresh := "at-"+random(), "rt-"+random()
	a.access[access] = true
	a.refresh[refresh] = clientID
	body := map[string]any{"access_token": access, "token_type": "Bearer", "refresh_token": refresh, "scope": "repo:read"}
	if a.ExpiresIn > 0 {
		body["expires_in"] = a.ExpiresIn
	}
	writeJSON(w, http.StatusOK, body)
}

// random is 128 random bits, base64url.
func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
