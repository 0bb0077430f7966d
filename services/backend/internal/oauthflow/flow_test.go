package oauthflow_test

import (
	"bytes"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow/oauthfake"
)

// The whole flow: the 401 probe, protected-resource and authorization-
// server metadata, dynamic registration (client id persisted), PKCE S256,
// the code exchange; tokens end up sealed on the source, every request went
// through the sandbox with purpose oauth, the source's own (approved) host
// with its allowed_hosts and the authorization server with null.
func TestSignInStoresSealedTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.approveHost(t, "mcp.example.com")
	src := e.source(t, "GitHub", mcpURL, "oauth", "active")

	authURL := e.start(t, src)
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "auth.example.com" || q.Get("redirect_uri") != redirect || q.Get("resource") != mcpURL ||
		q.Get("client_id") != "dyn-client-1" || q.Get("code_challenge_method") != "S256" ||
		!slices.Equal(strings.Fields(q.Get("scope")), []string{"repo:read", "offline_access"}) {
		t.Fatalf("authorization URL %s", authURL)
	}
	if state := q.Get("state"); len(state) != 43 || e.count(t, "SELECT count(*) FROM oauth_flows WHERE source_id = $1", src) != 1 {
		t.Fatalf("state %q or flow row missing", state)
	}
	var clientID, storedIssuer string
	dbtest.QueryRow(t, e.url, "SELECT oauth_client_id, oauth_issuer FROM external_mcp_sources WHERE id = $1",
		[]any{&clientID, &storedIssuer}, src)
	if clientID != "dyn-client-1" || storedIssuer != issuer || e.as.Count("register") != 1 {
		t.Fatalf("client %q issuer %q registrations %d", clientID, storedIssuer, e.as.Count("register"))
	}
	// Only a hash of the state is stored.
	if e.count(t, "SELECT count(*) FROM oauth_flows WHERE strpos(row_to_json(oauth_flows)::text, $1) > 0", q.Get("state")) != 0 {
		t.Fatal("the state is stored in the clear")
	}

	code, state, err := e.as.Authorize(authURL)
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.callback(t, state, code)
	if err != nil || id != src {
		t.Fatalf("callback: %v %v", id, err)
	}
	tokens, enc := e.storedTokens(t, src)
	access, _ := tokens["access_token"].(string)
	refresh, _ := tokens["refresh_token"].(string)
	if !e.as.ValidAccessToken(access) || !strings.HasPrefix(refresh, "rt-") || tokens["token_endpoint"] != issuer+"/token" ||
		tokens["scope"] != "repo:read" || tokens["expires_at"] == nil {
		t.Fatalf("stored tokens %v", tokens)
	}
	if bytes.Contains(enc, []byte(access)) || bytes.Contains(enc, []byte(refresh)) {
		t.Fatal("tokens stored in the clear")
	}
	if form := e.as.LastTokenForm(); form.Get("resource") != mcpURL || form.Get("client_id") != "dyn-client-1" {
		t.Errorf("token request form %v", form)
	}
	if n := e.count(t, "SELECT count(*) FROM oauth_flows"); n != 0 {
		t.Errorf("%d flows left after the callback", n)
	}
	got, err := e.svc.AccessToken(t.Context(), src)
	if err != nil || got != access {
		t.Fatalf("AccessToken = %q, %v", got, err)
	}

	hosts := checkFetches(t, e.sandbox.Fetches(), proto.OnlyHosts("mcp.example.com"), "mcp.example.com")
	if !slices.Contains(hosts, "mcp.example.com") || !slices.Contains(hosts, "auth.example.com") {
		t.Errorf("requested hosts %v", hosts)
	}
	if e.sandbox.Other() != 0 {
		t.Errorf("%d requests to the sandbox were not /v1/fetch", e.sandbox.Other())
	}

	// The audit rows, without any token, code or verifier.
	var details string
	dbtest.QueryRow(t, e.url, `SELECT string_agg(action || ' ' || actor || ' ' || message || ' ' || details::text, E'\n' ORDER BY seq)
		FROM activity_log WHERE category = 'audit'`, []any{&details})
	if !strings.Contains(details, "source.oauth_start "+actor) || !strings.Contains(details, "source.oauth_connected "+actor) {
		t.Errorf("audit rows:\n%s", details)
	}
	for _, leaked := range []string{access, refresh, code, state} {
		if strings.Contains(details, leaked) {
			t.Errorf("audit rows hold %q", leaked)
		}
	}
}

// A state is used once: the replay finds nothing and changes nothing; a
// state from another session is refused without consuming the flow; an
// expired flow is refused (and deleted) without a token request.
func TestCallbackStateIsSingleUseSessionBoundAndExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	src := e.source(t, "GitHub", mcpURL, "oauth", "active")

	code, state, err := e.as.Authorize(e.start(t, src))
	if err != nil {
		t.Fatal(err)
	}
	other := *e
	other.session = uuid.New()
	if _, err := other.callback(t, state, code); !errors.Is(err, oauthflow.ErrStateInvalid) {
		t.Fatalf("callback in another session: %v, want ErrStateInvalid", err)
	}
	if n := e.count(t, "SELECT count(*) FROM oauth_flows"); n != 1 || e.as.Count("code") != 0 {
		t.Fatalf("another session's callback consumed the flow (%d left) or exchanged (%d)", n, e.as.Count("code"))
	}
	if _, err := e.callback(t, state, code); err != nil {
		t.Fatal(err)
	}
	_, before := e.storedTokens(t, src)
	if _, err := e.callback(t, state, code); !errors.Is(err, oauthflow.ErrStateInvalid) {
		t.Fatalf("replay: %v, want ErrStateInvalid", err)
	}
	if _, after := e.storedTokens(t, src); !bytes.Equal(before, after) || e.as.Count("code") != 1 {
		t.Fatalf("the replay changed the tokens or reached the token endpoint (%d exchanges)", e.as.Count("code"))
	}

	// Expired.
	code, state, err = e.as.Authorize(e.start(t, src))
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Exec(t, e.url, "UPDATE oauth_flows SET expires_at = now() - interval '1 second'")
	if _, err := e.callback(t, state, code); !errors.Is(err, oauthflow.ErrStateInvalid) {
		t.Fatalf("expired: %v, want ErrStateInvalid", err)
	}
	if n := e.count(t, "SELECT count(*) FROM oauth_flows"); n != 0 || e.as.Count("code") != 1 {
		t.Fatalf("expired flow: %d left, %d exchanges", n, e.as.Count("code"))
	}
	if _, after := e.storedTokens(t, src); !bytes.Equal(before, after) {
		t.Fatal("the expired flow changed the tokens")
	}
	if _, err := e.callback(t, "", code); !errors.Is(err, oauthflow.ErrStateInvalid) {
		t.Fatalf("empty state: %v", err)
	}
	var rule *proto.RuleError
	if _, err := e.callback(t, state, ""); !errors.As(err, &rule) || rule.Field != "code" {
		t.Fatalf("empty code: %v", err)
	}
}

// AccessToken refreshes a token that expires within 60 s through the
// sandbox (null allowed_hosts for the token endpoint), stores the new
// tokens, and serves a fresh token without a request; a refused refresh
// means an admin must sign in again.
func TestAccessTokenRefreshes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	src := e.source(t, "GitHub", mcpURL, "oauth", "active")
	if _, err := e.svc.AccessToken(t.Context(), src); !isSignIn(err) {
		t.Fatalf("before sign-in: %v, want a sign-in error", err)
	}
	e.as.Set(func(a *oauthfake.AuthServer) { a.ExpiresIn = 30 })
	e.signIn(t, src)
	first, _ := e.storedTokens(t, src)

	e.sandbox.Reset()
	e.as.Set(func(a *oauthfake.AuthServer) { a.ExpiresIn = 3600 })
	token, expiry, err := e.svc.AccessTokenWithExpiry(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	if token == first["access_token"] || !e.as.ValidAccessToken(token) || e.as.Count("refresh") != 1 {
		t.Fatalf("refreshed token %q (first %q), %d refreshes", token, first["access_token"], e.as.Count("refresh"))
	}
	if d := time.Until(expiry); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expiry in %v, want about an hour", d)
	}
	stored, _ := e.storedTokens(t, src)
	if stored["access_token"] != token || stored["refresh_token"] == first["refresh_token"] || stored["scope"] != "repo:read" {
		t.Fatalf("stored after refresh: %v", stored)
	}
	checkFetches(t, e.sandbox.Fetches(), proto.AnyPublicHost())
	if f := e.sandbox.Fetches(); len(f) != 1 || !strings.HasSuffix(f[0].URL, "auth.example.com/token") {
		t.Fatalf("refresh requests %+v", f)
	}

	again, err := e.svc.AccessToken(t.Context(), src)
	if err != nil || again != token || e.as.Count("refresh") != 1 {
		t.Fatalf("fresh token: %q %v, %d refreshes", again, err, e.as.Count("refresh"))
	}

	dbtest.Exec(t, e.url, `UPDATE external_mcp_sources SET oauth_tokens_enc = $2 WHERE id = $1`, src,
		e.resealExpired(t, src))
	e.as.Set(func(a *oauthfake.AuthServer) { a.FailRefresh = true })
	if _, err := e.svc.AccessToken(t.Context(), src); !isSignIn(err) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("failed refresh: %v, want a sign-in error naming invalid_grant", err)
	}
	if after, _ := e.storedTokens(t, src); after["access_token"] != token {
		t.Fatal("a failed refresh changed the stored tokens")
	}
	dbtest.Exec(t, e.url, "UPDATE external_mcp_sources SET status = 'disabled' WHERE id = $1", src)
	var unusable *oauthflow.UnusableError
	if _, err := e.svc.AccessToken(t.Context(), src); !errors.As(err, &unusable) {
		t.Fatalf("disabled source: %v", err)
	}
}

func isSignIn(err error) bool {
	var s interface{ SignInRequired() bool }
	return errors.As(err, &s) && s.SignInRequired()
}

// resealExpired returns the source's token set with expires_at in the past.
func (e *env) resealExpired(t *testing.T, source uuid.UUID) []byte {
	t.Helper()
	m, _ := e.storedTokens(t, source)
	m["expires_at"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	return sealJSON(t, e, source, m)
}

// A flow started on one replica completes on another, and two replicas
// receiving the same callback at once complete it exactly once.
func TestCallbackOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	src := e.source(t, "GitHub", mcpURL, "oauth", "active")
	replicas := []*oauthflow.Service{newService(t, e, e.sandbox.URL()), newService(t, e, e.sandbox.URL())}
	code, state, err := e.as.Authorize(e.start(t, src))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, len(replicas))
	for _, r := range replicas {
		go func() {
			_, err := r.Callback(t.Context(), oauthflow.CallbackInput{State: state, Code: code, SessionID: e.session, Actor: actor})
			errs <- err
		}()
	}
	var ok, invalid int
	for range replicas {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, oauthflow.ErrStateInvalid):
			invalid++
		default:
			t.Errorf("callback: %v", err)
		}
	}
	if ok != 1 || invalid != 1 || e.as.Count("code") != 1 {
		t.Fatalf("%d completed, %d refused, %d code exchanges; want 1, 1, 1", ok, invalid, e.as.Count("code"))
	}
	if tokens, _ := e.storedTokens(t, src); tokens == nil {
		t.Fatal("no tokens stored")
	}
}
