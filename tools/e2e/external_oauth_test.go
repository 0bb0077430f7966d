package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
)

// An OAuth-protected external MCP server end to end (backend.md §13.3,
// §9.4; sandbox.md §4.7): the go-sdk fixture of external_fixture_test.go
// behind a bearer check, with its authorization server (metadata, dynamic
// client registration, an authorization endpoint that approves at once,
// a token endpoint that checks PKCE S256 and refreshes) on the same
// loopback origin, since the backend sends the discovery allowed_hosts only
// to the source's own origin and null (public hosts only) elsewhere.

// oauthFirstExpiresIn is the lifetime of the access token of the code
// exchange: under the 60 s refresh margin, so its first use (discovery)
// refreshes it first. Refreshed tokens live oauthRefreshedExpiresIn, so
// exactly one refresh happens in the test.
const (
	oauthFirstExpiresIn     = 30
	oauthRefreshedExpiresIn = 3600
)

// oauthFixture is the fixture MCP server with its authorization server on
// the same origin.
type oauthFixture struct {
	*fixtureMCP

	mu        sync.Mutex
	clients   map[string][]string // client id → redirect URIs
	codes     map[string]oauthCode
	refresh   map[string]string // live refresh token → client id
	access    map[string]bool   // live access tokens
	issued    []string          // every access and refresh token issued
	first     string            // the access token of the code exchange
	grants    map[string]int    // "authorization_code", "refresh_token", "register", "authorize"
	pkceOK    int               // code exchanges whose verifier matched the S256 challenge
	pkceBad   int
	seenOnMCP map[string]int // access tokens the MCP endpoint received
	denied    int            // MCP requests refused with 401
	// brokered counts the requests the backend's OAuth flow sent: every
	// request but the browser's /authorize and the authorised MCP ones.
	brokered int
}

type oauthCode struct{ clientID, redirectURI, challenge, resource string }

// startOAuthFixture starts the fixture on 127.0.0.1: /mcp needs a bearer
// access token; the rest is the authorization server.
func startOAuthFixture(t *testing.T) *oauthFixture {
	t.Helper()
	o := &oauthFixture{
		fixtureMCP: &fixtureMCP{methods: map[string]int{}, results: map[string]*mcp.CallToolResult{}, defs: map[string]*mcp.Tool{}},
		clients:    map[string][]string{}, codes: map[string]oauthCode{}, refresh: map[string]string{},
		access: map[string]bool{}, grants: map[string]int{}, seenOnMCP: map[string]int{},
	}
	o.serve(echoDescV1)
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp", o.mcp)
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, _ *http.Request) {
		writeJSONResp(w, http.StatusOK, map[string]any{
			"resource": o.url(), "authorization_servers": []string{o.ts.URL},
			"scopes_supported": []string{"tools"}, "bearer_methods_supported": []string{"header"},
		})
	})
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, _ *http.Request) {
		writeJSONResp(w, http.StatusOK, map[string]any{
			"issuer": o.ts.URL, "authorization_endpoint": o.ts.URL + "/authorize", "token_endpoint": o.ts.URL + "/token",
			"registration_endpoint": o.ts.URL + "/register", "response_types_supported": []string{"code"},
			"grant_types_supported":            []string{"authorization_code", "refresh_token"},
			"code_challenge_methods_supported": []string{"S256"}, "scopes_supported": []string{"tools", "offline_access"},
			"token_endpoint_auth_methods_supported": []string{"none"},
		})
	})
	mux.HandleFunc("POST /register", o.register)
	mux.HandleFunc("GET /authorize", o.authorize)
	mux.HandleFunc("POST /token", o.token)
	o.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		mux.ServeHTTP(rec, r)
		if r.URL.Path != "/authorize" && (r.URL.Path != "/mcp" || rec.status == http.StatusUnauthorized) {
			o.mu.Lock()
			o.brokered++
			o.mu.Unlock()
		}
	}))
	t.Cleanup(o.ts.Close)
	return o
}

// mcp serves the fixture's MCP endpoint to a bearer of a live access token,
// and refuses anyone else with the challenge naming the resource metadata.
func (o *oauthFixture) mcp(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	o.mu.Lock()
	valid := ok && o.access[tok]
	if valid {
		o.seenOnMCP[tok]++
	} else {
		o.denied++
	}
	o.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+o.ts.URL+`/.well-known/oauth-protected-resource/mcp", scope="tools"`)
		writeJSONResp(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	o.countingHandler(w, r)
}

// countingHandler counts the JSON-RPC method and serves the MCP request,
// as the plain fixture's handler does.
func (o *oauthFixture) countingHandler(w http.ResponseWriter, r *http.Request) {
	o.requests.Add(1)
	if r.Body != nil {
		body, _ := io.ReadAll(r.Body)
		_ = r.Body.Close()
		var msg struct {
			Method string `json:"method"`
		}
		if json.Unmarshal(body, &msg) == nil && msg.Method != "" {
			o.fixtureMCP.mu.Lock()
			o.methods[msg.Method]++
			o.fixtureMCP.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	o.handler.Load().ServeHTTP(w, r)
}

func (o *oauthFixture) register(w http.ResponseWriter, r *http.Request) {
	var meta struct {
		RedirectURIs []string `json:"redirect_uris"`
		GrantTypes   []string `json:"grant_types"`
	}
	if err := json.NewDecoder(r.Body).Decode(&meta); err != nil || len(meta.RedirectURIs) == 0 {
		writeJSONResp(w, http.StatusBadRequest, map[string]string{"error": "invalid_redirect_uri"})
		return
	}
	o.mu.Lock()
	o.grants["register"]++
	id := fmt.Sprintf("e2e-client-%d", o.grants["register"])
	o.clients[id] = meta.RedirectURIs
	o.mu.Unlock()
	writeJSONResp(w, http.StatusCreated, map[string]any{
		"client_id": id, "redirect_uris": meta.RedirectURIs, "token_endpoint_auth_method": "none",
		"grant_types": meta.GrantTypes, "client_id_issued_at": time.Now().Unix(),
	})
}

// authorize approves at once: it redirects to the registered redirect URI
// with a code bound to the client, the redirect URI and the S256 challenge.
func (o *oauthFixture) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.grants["authorize"]++
	switch {
	case q.Get("response_type") != "code", q.Get("state") == "",
		!slices.Contains(o.clients[q.Get("client_id")], q.Get("redirect_uri")),
		q.Get("code_challenge_method") != "S256", len(q.Get("code_challenge")) != 43:
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := "code-" + randomToken()
	o.codes[code] = oauthCode{
		clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), resource: q.Get("resource"),
	}
	back, _ := url.Parse(q.Get("redirect_uri"))
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (o *oauthFixture) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSONResp(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	f := r.PostForm
	deny := func(code string) { writeJSONResp(w, http.StatusBadRequest, map[string]string{"error": code}) }
	o.mu.Lock()
	defer o.mu.Unlock()
	o.grants[f.Get("grant_type")]++
	switch f.Get("grant_type") {
	case "authorization_code":
		g, ok := o.codes[f.Get("code")]
		delete(o.codes, f.Get("code"))
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case !ok || g.clientID != f.Get("client_id") || g.redirectURI != f.Get("redirect_uri"):
			deny("invalid_grant")
		case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
			o.pkceBad++
			deny("invalid_grant")
		case g.resource != f.Get("resource"):
			deny("invalid_target")
		default:
			o.pkceOK++
			o.first = o.issue(w, f.Get("client_id"), oauthFirstExpiresIn)
		}
	case "refresh_token":
		owner, ok := o.refresh[f.Get("refresh_token")]
		if !ok || owner != f.Get("client_id") {
			deny("invalid_grant")
			return
		}
		delete(o.refresh, f.Get("refresh_token"))
		o.issue(w, owner, oauthRefreshedExpiresIn)
	default:
		deny("unsupported_grant_type")
	}
}

// issue answers a token response with new tokens (o.mu held) and returns
// the access token.
func (o *oauthFixture) issue(w http.ResponseWriter, clientID string, expiresIn int) string {
	access, refresh := "at-"+randomToken(), "rt-"+randomToken()
	o.access[access] = true
	o.refresh[refresh] = clientID
	o.issued = append(o.issued, access, refresh)
	writeJSONResp(w, http.StatusOK, map[string]any{
		"access_token": access, "token_type": "Bearer", "refresh_token": refresh,
		"expires_in": expiresIn, "scope": "tools offline_access",
	})
	return access
}

// snapshot returns the fixture's OAuth counters under its lock.
func (o *oauthFixture) snapshot() (grants map[string]int, pkceOK, pkceBad int, issued []string, first string, seen map[string]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen = map[string]int{}
	for k, v := range o.seenOnMCP {
		seen[k] = v
	}
	grants = map[string]int{}
	for k, v := range o.grants {
		grants[k] = v
	}
	return grants, o.pkceOK, o.pkceBad, slices.Clone(o.issued), o.first, seen
}

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Flush lets the MCP handler stream through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func writeJSONResp(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// randomToken is 128 random bits, base64url.
func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// BE-83, SB-82 with an OAuth source: the admin adds the OAuth-protected
// fixture, signs in (dynamic registration, PKCE S256, code exchange through
// the sandbox's /v1/fetch), discovers (the 30 s token is refreshed first),
// imports and approves its tools, and the LLM calls one through the
// gateway with the refreshed token; no token value reaches a log line.
//
//nolint:paralleltest // owns the e2e ports while it runs
func TestBE83_SB82_ExternalOAuthSourceEndToEnd(t *testing.T) {
	o := startOAuthFixture(t)
	st := startStackWith(t, t.TempDir(), "MCPBOX_DATABASE_URL="+dbtest.EmptyURL(t), "MCPBOX_SANDBOX_E2E_LOOPBACK="+o.addr())
	env := readDevEnv(t, st.data)
	a := newAdmin(t, env["MCPBOX_SETUP_CODE"])
	x := &extEnv{admin: a, client: connectGo(t, e2eLocalMCPURL, nil), up: o.fixtureMCP, server: "ext_oauth", toolIDs: map[string]string{}}
	var created struct {
		ID string `json:"id"`
	}
	a.must(t, http.MethodPost, "/api/v1/servers", map[string]any{"name": x.server}, &created)
	x.serverID = created.ID
	// The source's own origin is a loopback address: the admin approves it
	// for the server, so the OAuth requests to it carry it in allowed_hosts.
	x.grantHost(t, o.addr())

	var src struct {
		extSourceJSON
		AuthType           string  `json:"auth_type"`
		OAuthAuthenticated bool    `json:"oauth_authenticated"`
		OAuthIssuer        *string `json:"oauth_issuer"`
		OAuthClientID      *string `json:"oauth_client_id"`
	}
	a.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/external-sources",
		map[string]any{"name": extSource, "url": o.url(), "auth_type": "oauth"}, &src)
	x.sourceID = src.ID
	if src.Status != string(proto.SourceActive) || src.AuthType != "oauth" || src.OAuthAuthenticated {
		t.Fatalf("admin-added OAuth source: %+v", src)
	}

	// Sign-in: start, the user's authorization (auto-approved), the callback.
	var start struct {
		AuthorizationURL string `json:"authorization_url"`
	}
	a.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/oauth/start", nil, &start)
	if !strings.HasPrefix(start.AuthorizationURL, o.ts.URL+"/authorize?") {
		t.Fatalf("authorization_url %q, want the fixture's /authorize", start.AuthorizationURL)
	}
	code, state := followAuthorization(t, start.AuthorizationURL, e2eBackendURL+"/oauth/callback")
	var cb struct {
		SourceID string `json:"source_id"`
	}
	a.must(t, http.MethodPost, "/api/v1/oauth/callback", map[string]any{"state": state, "code": code}, &cb)
	if cb.SourceID != x.sourceID {
		t.Errorf("callback source_id %q, want %s", cb.SourceID, x.sourceID)
	}
	a.must(t, http.MethodGet, "/api/v1/external-sources/"+x.sourceID, nil, &src)
	if src.Status != string(proto.SourceActive) || !src.OAuthAuthenticated || deref(src.OAuthIssuer) != o.ts.URL ||
		deref(src.OAuthClientID) != "e2e-client-1" {
		t.Errorf("source after the sign-in: %+v issuer %q client %q", src, deref(src.OAuthIssuer), deref(src.OAuthClientID))
	}
	grants, pkceOK, pkceBad, _, first, _ := o.snapshot()
	if grants["register"] != 1 || grants["authorization_code"] != 1 || pkceOK != 1 || pkceBad != 0 || grants["refresh_token"] != 0 {
		t.Fatalf("after the sign-in: grants %v, PKCE matched %d, mismatched %d", grants, pkceOK, pkceBad)
	}

	// Discovery: the 30 s token expires within 60 s, so it is refreshed first.
	var d extDiscovery
	a.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/discover", nil, &d)
	if d.Source.Status != string(proto.SourceActive) || d.Source.DiscoveredToolCount != 4 {
		t.Fatalf("discovery of the OAuth source: %+v", d.Source)
	}
	if !t.Run("BE83_ImportApproveStart", func(t *testing.T) { importApproveStart(t, x) }) {
		return
	}
	x.waitListed(t, "the four imported tools", func(m map[string]*mcp.Tool) bool { return len(m) == 4 })
	r := x.call(t, x.exposed(upEcho), map[string]any{"text": "signed in"})
	if r.IsError || textOf(t, r) != "echo: signed in" {
		t.Errorf("call of the OAuth source's tool: %s", jsonOf(t, r))
	}
	x.checkUnchanged(t, upEcho, r, 1)

	grants, pkceOK, pkceBad, issued, first2, seen := o.snapshot()
	if first2 != first {
		t.Errorf("the code exchange issued a second first token")
	}
	if grants["refresh_token"] != 1 || grants["authorization_code"] != 1 || grants["register"] != 1 || pkceOK != 1 || pkceBad != 0 {
		t.Errorf("grants %v (PKCE matched %d, mismatched %d), want one registration, one code exchange and one refresh",
			grants, pkceOK, pkceBad)
	}
	// The expiring token never reached the MCP endpoint: it was refreshed
	// before discovery used it; the refreshed one served every request.
	if seen[first] != 0 || len(seen) != 1 {
		t.Errorf("access tokens the MCP endpoint received: %d distinct; the first one %d times", len(seen), seen[first])
	}
	if len(issued) != 4 {
		t.Fatalf("issued %d tokens, want 2 access and 2 refresh tokens", len(issued))
	}

	// backend.md §13.3: every request of the OAuth flow (the 401 probe,
	// both metadata documents, the registration, the code exchange and the
	// refresh) went through the sandbox's /v1/fetch, which logs each one.
	lines := st.ServiceLines(t)
	fetches := 0
	for _, l := range lines["sandbox"] {
		if l["route"] == "POST /v1/fetch" {
			fetches++
		}
	}
	o.mu.Lock()
	brokered, denied := o.brokered, o.denied
	o.mu.Unlock()
	if denied < 1 || brokered != 6 || fetches != brokered {
		t.Errorf("the fixture received %d OAuth requests (%d MCP requests refused) and the sandbox logged %d /v1/fetch requests; "+
			"want 6 (probe, two metadata documents, registration, code exchange, refresh), all brokered", brokered, denied, fetches)
	}

	// SB-82 and backend.md §12.2: no token value in any service's log line.
	checkNotLogged(t, st, issued)
}

// checkNotLogged checks that no service's log line and nothing else of the
// stack's output holds any of values (credentials: SB-82, backend.md §12.2).
func checkNotLogged(t *testing.T, st *Stack, values []string) {
	t.Helper()
	lines := st.ServiceLines(t)
	for _, svc := range services() {
		if len(lines[svc]) == 0 {
			t.Errorf("no log lines of %s", svc)
		}
		for _, l := range lines[svc] {
			text := jsonOf(t, l)
			for _, v := range values {
				if strings.Contains(text, v) {
					t.Errorf("%s logged a credential: %s", svc, text)
				}
			}
		}
	}
	out := st.out.String()
	for _, v := range values {
		if strings.Contains(out, v) {
			t.Errorf("the stack's output holds credential %s…", v[:6])
		}
	}
}

// followAuthorization requests the authorization URL as the admin's browser
// would, without following the redirect back to MCPbox, and returns the code
// and state of that redirect's Location, which must point at callback.
func followAuthorization(t *testing.T, authURL, callback string) (code, state string) {
	t.Helper()
	hc := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(t.Context()), http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", authURL, err)
	}
	_ = resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorization: %d, Location %q (%v)", resp.StatusCode, resp.Header.Get("Location"), err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
		t.Errorf("redirected to %s, want %s", got, callback)
	}
	code, state = loc.Query().Get("code"), loc.Query().Get("state")
	if code == "" || state == "" {
		t.Fatalf("redirect without code or state: %s", loc)
	}
	return code, state
}
