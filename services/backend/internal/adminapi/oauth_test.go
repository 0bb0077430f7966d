package adminapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow/oauthfake"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

const (
	oauthIssuer = "https://auth.example.com"
	oauthMCPURL = "https://mcp.example.com/mcp"
)

// oauthFakes is a fake sandbox whose /v1/fetch reaches a fake MCP server
// (mcp.example.com) and its fake authorization server (auth.example.com).
type oauthFakes struct {
	sandbox *oauthfake.Sandbox
	as      *oauthfake.AuthServer
}

func newOAuthFakes(t *testing.T) oauthFakes {
	t.Helper()
	f := oauthFakes{sandbox: oauthfake.NewSandbox(t, sandboxToken), as: oauthfake.NewAuthServer(t, oauthIssuer)}
	mcp := oauthfake.NewResource(t, oauthMCPURL, oauthIssuer, f.as.ValidAccessToken)
	f.sandbox.Map("auth.example.com", f.as.Server())
	f.sandbox.Map("mcp.example.com", mcp.Server())
	return f
}

// oauthSource inserts a running server with one external source.
func (b *backend) oauthSource(t *testing.T, name, authType, status string) uuid.UUID {
	t.Helper()
	var server, id uuid.UUID
	b.sql(t, "INSERT INTO servers (name, status) VALUES ($1, 'running') RETURNING id", []any{&server}, strings.ToLower(name))
	var secret *string
	if authType == "bearer" {
		s := "GH_TOKEN"
		secret = &s
	}
	b.sql(t, `INSERT INTO external_mcp_sources (server_id, name, url, auth_type, auth_secret_name, status)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, []any{&id}, server, name, oauthMCPURL, authType, secret, status)
	return id
}

func (b *backend) oauthCount(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	b.sql(t, query, []any{&n}, args...)
	return n
}

func startPath(id uuid.UUID) string {
	return "/api/v1/external-sources/" + id.String() + "/oauth/start"
}

// The sign-in over the API: start (no body: the default redirect URI on
// the request's own origin) → the user approves → callback stores the
// tokens; the replay is 400 oauth_state_invalid and changes nothing; no
// log line or audit row holds a token, the code or the state (BE-57); each
// mutation wrote its audit row (BE-85).
func TestOAuthSignInOverTheAPI(t *testing.T) {
	t.Parallel()
	f := newOAuthFakes(t)
	b := newBackend(t, withSandbox(f.sandbox.URL()))
	b.setup(t)
	auth := bearer(b.login(t))
	src := b.oauthSource(t, "GitHub", "oauth", "active")

	r := b.call(t, http.MethodPost, startPath(src), nil, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("start: %d %s", r.status, r.raw)
	}
	authURL, _ := r.body["authorization_url"].(string)
	u, err := url.Parse(authURL)
	if err != nil || u.Host != "auth.example.com" || u.Query().Get("redirect_uri") != b.srv.URL+oauthflow.CallbackPath {
		t.Fatalf("authorization_url %q", authURL)
	}
	code, state, err := f.as.Authorize(authURL)
	if err != nil {
		t.Fatal(err)
	}
	r = b.call(t, http.MethodPost, "/api/v1/oauth/callback", map[string]string{"state": state, "code": code}, auth...)
	if r.status != http.StatusOK || r.body["source_id"] != src.String() {
		t.Fatalf("callback: %d %s", r.status, r.raw)
	}
	var enc []byte
	b.sql(t, "SELECT oauth_tokens_enc FROM external_mcp_sources WHERE id = $1", []any{&enc}, src)
	if enc == nil {
		t.Fatal("no tokens stored")
	}
	r = b.call(t, http.MethodPost, "/api/v1/oauth/callback", map[string]string{"state": state, "code": code}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeOAuthStateInvalid)
	var after []byte
	b.sql(t, "SELECT oauth_tokens_enc FROM external_mcp_sources WHERE id = $1", []any{&after}, src)
	if string(after) != string(enc) || f.as.Count("code") != 1 {
		t.Fatalf("the replay changed the tokens or reached the token endpoint (%d exchanges)", f.as.Count("code"))
	}

	var actions, audit string
	b.sql(t, `SELECT string_agg(action, ',' ORDER BY seq), string_agg(message || details::text, E'\n')
		FROM activity_log WHERE category = 'audit' AND action LIKE 'source.%'`, []any{&actions, &audit})
	if actions != "source.oauth_start,source.oauth_connected" {
		t.Errorf("audit actions %q", actions)
	}
	keys, err := seal.New(1, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := keys.Open(seal.PurposeOAuthTokens(src.String()), enc)
	if err != nil {
		t.Fatal(err)
	}
	var tokens struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	if err := json.Unmarshal(plain, &tokens); err != nil || !f.as.ValidAccessToken(tokens.Access) || tokens.Refresh == "" {
		t.Fatalf("stored tokens %s: %v", plain, err)
	}
	for _, leaked := range []string{tokens.Access, tokens.Refresh, code, state} {
		if strings.Contains(b.logs.String(), leaked) || strings.Contains(audit, leaked) || strings.Contains(r.raw, leaked) {
			t.Errorf("%q appears in the logs or the audit rows", leaked)
		}
	}
	for _, fetch := range f.sandbox.Fetches() {
		if fetch.Purpose != proto.FetchOAuth || !fetch.AllowedHosts.Any {
			t.Errorf("fetch %s: purpose %q allowed_hosts %+v", fetch.URL, fetch.Purpose, fetch.AllowedHosts)
		}
	}
}

// A flow started in one session cannot be completed in another, and an
// explicit redirect_uri is used as given.
func TestOAuthCallbackInAnotherSession(t *testing.T) {
	t.Parallel()
	f := newOAuthFakes(t)
	b := newBackend(t, withSandbox(f.sandbox.URL()))
	b.setup(t)
	first, second := bearer(b.login(t)), bearer(b.login(t))
	src := b.oauthSource(t, "GitHub", "oauth", "active")
	const cb = "https://admin.example.org/oauth/callback"
	r := b.call(t, http.MethodPost, startPath(src), map[string]string{"redirect_uri": cb}, first...)
	if r.status != http.StatusOK {
		t.Fatalf("start: %d %s", r.status, r.raw)
	}
	authURL, _ := r.body["authorization_url"].(string)
	code, state, err := f.as.Authorize(authURL)
	if err != nil || !strings.Contains(authURL, url.QueryEscape(cb)) {
		t.Fatalf("authorize %s: %v", authURL, err)
	}
	body := map[string]string{"state": state, "code": code}
	wantError(t, b.call(t, http.MethodPost, "/api/v1/oauth/callback", body, second...), http.StatusBadRequest, proto.CodeOAuthStateInvalid)
	if r := b.call(t, http.MethodPost, "/api/v1/oauth/callback", body, first...); r.status != http.StatusOK {
		t.Fatalf("callback in the starting session: %d %s", r.status, r.raw)
	}
}

// Refusals of the start: not an OAuth source (400 naming auth_type), not
// usable (409 invalid_state), unknown (404), a bad redirect_uri (400); the
// sandbox receives nothing and no audit row is written (BE-85).
func TestOAuthStartRefusals(t *testing.T) {
	t.Parallel()
	f := newOAuthFakes(t)
	b := newBackend(t, withSandbox(f.sandbox.URL()))
	b.setup(t)
	auth := bearer(b.login(t))
	bearerSrc := b.oauthSource(t, "Bearer", "bearer", "active")
	pending := b.oauthSource(t, "Pending", "oauth", "pending_review")
	disabled := b.oauthSource(t, "Disabled", "oauth", "disabled")
	ok := b.oauthSource(t, "GitHub", "oauth", "active")

	r := b.call(t, http.MethodPost, startPath(bearerSrc), nil, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "auth_type" || !strings.Contains(r.err.Message, "bearer") {
		t.Errorf("not oauth: %s", r.raw)
	}
	for _, id := range []uuid.UUID{pending, disabled} {
		wantError(t, b.call(t, http.MethodPost, startPath(id), nil, auth...), http.StatusConflict, proto.CodeInvalidState)
	}
	wantError(t, b.call(t, http.MethodPost, startPath(uuid.New()), nil, auth...), http.StatusNotFound, proto.CodeNotFound)
	wantError(t, b.call(t, http.MethodPost, "/api/v1/external-sources/nope/oauth/start", nil, auth...),
		http.StatusNotFound, proto.CodeNotFound)
	for _, body := range []map[string]any{{"redirect_uri": ""}, {"redirect_uri": "javascript:alert(1)"}, {"redirect_uri": 5}} {
		r := b.call(t, http.MethodPost, startPath(ok), body, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != "redirect_uri" {
			t.Errorf("%v: %s", body, r.raw)
		}
	}
	if r := b.call(t, http.MethodPost, startPath(ok), map[string]string{"redirect": "x"}, auth...); r.err.Field != "redirect" {
		t.Errorf("unknown field: %s", r.raw)
	}
	wantError(t, b.call(t, http.MethodPost, startPath(ok), nil), http.StatusUnauthorized, proto.CodeUnauthenticated)
	if n := len(f.sandbox.Fetches()); n != 0 {
		t.Errorf("%d requests reached the sandbox", n)
	}
	if n := b.oauthCount(t, "SELECT count(*) FROM activity_log WHERE action LIKE 'source.%'"); n != 0 {
		t.Errorf("%d audit rows", n)
	}
}

// An upstream failure is 502 discovery_failed and stores nothing; a
// missing sandbox is 503 sandbox_unavailable with Retry-After; a callback
// without code or with an unknown state is refused.
func TestOAuthUpstreamFailures(t *testing.T) {
	t.Parallel()
	f := newOAuthFakes(t)
	f.as.Set(func(a *oauthfake.AuthServer) { a.Meta.CodeChallengeMethodsSupported = []string{"plain"} })
	b := newBackend(t, withSandbox(f.sandbox.URL()))
	b.setup(t)
	auth := bearer(b.login(t))
	src := b.oauthSource(t, "GitHub", "oauth", "active")
	r := b.call(t, http.MethodPost, startPath(src), nil, auth...)
	wantError(t, r, http.StatusBadGateway, proto.CodeDiscoveryFailed)
	if !strings.Contains(r.err.Message, "S256") {
		t.Errorf("message %q", r.err.Message)
	}
	if n := b.oauthCount(t, "SELECT count(*) FROM oauth_flows") + b.oauthCount(t, "SELECT count(*) FROM activity_log WHERE action LIKE 'source.%'"); n != 0 {
		t.Errorf("%d flows or audit rows stored", n)
	}

	wantError(t, b.call(t, http.MethodPost, "/api/v1/oauth/callback", map[string]string{"state": "x"}, auth...),
		http.StatusBadRequest, proto.CodeValidationFailed)
	r = b.call(t, http.MethodPost, "/api/v1/oauth/callback", map[string]string{"state": "unknown", "code": ""}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "code" {
		t.Errorf("empty code: %s", r.raw)
	}
	wantError(t, b.call(t, http.MethodPost, "/api/v1/oauth/callback", map[string]string{"state": "unknown", "code": "c0de"}, auth...),
		http.StatusBadRequest, proto.CodeOAuthStateInvalid)

	down := newBackend(t)
	down.setup(t)
	src = down.oauthSource(t, "GitHub", "oauth", "active")
	r = down.call(t, http.MethodPost, startPath(src), nil, bearer(down.login(t))...)
	wantError(t, r, http.StatusServiceUnavailable, proto.CodeSandboxUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

// MCPBOX_PUBLIC_ORIGIN, when set, is the origin of the default redirect URI.
func TestOAuthDefaultRedirectUsesThePublicOrigin(t *testing.T) {
	t.Parallel()
	f := newOAuthFakes(t)
	const public = "https://mcpbox.example.com"
	b := newBackend(t, withSandbox(f.sandbox.URL()), func(o *options) {
		o.cfgMore = func(d *adminapi.Deps) {
			keys, err := seal.New(1, testKey, "")
			if err != nil {
				t.Fatal(err)
			}
			d.PublicOrigin = public
			d.OAuth = oauthflow.New(oauthflow.Deps{
				Store: d.Store, Sandbox: sandboxClient(t, f.sandbox.URL()), Keys: keys, PublicOrigin: public,
			})
		}
	})
	b.setup(t)
	src := b.oauthSource(t, "GitHub", "oauth", "active")
	r := b.call(t, http.MethodPost, startPath(src), nil, bearer(b.login(t))...)
	if r.status != http.StatusOK {
		t.Fatalf("start: %d %s", r.status, r.raw)
	}
	u, err := url.Parse(r.body["authorization_url"].(string))
	if err != nil || u.Query().Get("redirect_uri") != public+oauthflow.CallbackPath {
		t.Fatalf("authorization_url %v", r.body["authorization_url"])
	}
}
