package oauthflow_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow/oauthfake"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

// An approved LAN source is reached with its own allowed_hosts, but a
// token endpoint that the metadata points at a private-looking host is
// requested with allowed_hosts null, so the broker refuses it: the code
// exchange fails and nothing is stored. A private IP literal in the
// metadata is refused before any flow is stored.
func TestPrivateTokenEndpointGetsNullAllowedHosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const lanURL = "https://mcp.lan/mcp"
	lan := oauthfake.NewResource(t, lanURL, issuer, e.as.ValidAccessToken)
	e.sandbox.Map("mcp.lan", lan.Server())
	e.sandbox.Map("tokens.lan", e.as.Server())
	e.approveHost(t, "mcp.lan")
	src := e.source(t, "NAS", lanURL, "oauth", "active")
	e.as.Set(func(a *oauthfake.AuthServer) { a.Meta.TokenEndpoint = "https://tokens.lan/token" })

	code, state, err := e.as.Authorize(e.start(t, src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.callback(t, state, code)
	var up *oauthflow.UpstreamError
	if !errors.As(err, &up) || !strings.Contains(up.Message, "tokens.lan") || !strings.Contains(up.Message, "EgressDenied") {
		t.Fatalf("callback: %v, want an upstream error naming tokens.lan and EgressDenied", err)
	}
	if strings.Contains(up.Message, code) {
		t.Fatal("the error holds the code")
	}
	if tokens, _ := e.storedTokens(t, src); tokens != nil || e.as.Count("code") != 0 {
		t.Fatalf("tokens stored (%v) or the token endpoint reached (%d)", tokens, e.as.Count("code"))
	}
	fetches := e.sandbox.Fetches()
	checkFetches(t, fetches, proto.OnlyHosts("mcp.lan"), "mcp.lan")
	if last := fetches[len(fetches)-1]; last.URL != "https://tokens.lan/token" {
		t.Fatalf("last request %s, want the token endpoint", last.URL)
	}

	// A private IP literal never gets that far.
	e.sandbox.Reset()
	e.as.Set(func(a *oauthfake.AuthServer) { a.Meta.TokenEndpoint = "https://10.0.0.5/token" })
	flows := e.count(t, "SELECT count(*) FROM oauth_flows")
	_, err = e.svc.Start(t.Context(), oauthflow.StartInput{SourceID: src, SessionID: e.session, Actor: actor})
	if !errors.As(err, &up) || !strings.Contains(up.Message, "non-public") {
		t.Fatalf("start: %v, want an upstream error about the non-public token endpoint", err)
	}
	if e.count(t, "SELECT count(*) FROM oauth_flows") != flows {
		t.Fatal("a flow was stored")
	}
	checkFetches(t, e.sandbox.Fetches(), proto.OnlyHosts("mcp.lan"), "mcp.lan")
}

// A private-looking source host that is not approved for the server gets
// allowed_hosts null like any other request, so the probe is refused.
func TestUnapprovedLANSourceIsRefusedByTheBroker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const lanURL = "https://mcp.lan:8443/mcp"
	lan := oauthfake.NewResource(t, lanURL, issuer, e.as.ValidAccessToken)
	e.sandbox.Map("mcp.lan:8443", lan.Server())
	e.approveHost(t, "printer.lan")
	src := e.source(t, "NAS", lanURL, "oauth", "active")
	_, err := e.svc.Start(t.Context(), oauthflow.StartInput{SourceID: src, SessionID: e.session, Actor: actor})
	var up *oauthflow.UpstreamError
	if !errors.As(err, &up) || !strings.Contains(up.Message, "EgressDenied") || !strings.Contains(up.Message, "network request") {
		t.Fatalf("start: %v", err)
	}
	checkFetches(t, e.sandbox.Fetches(), proto.AnyPublicHost())

	// Approved with its port, the probe carries host:port.
	e.sandbox.Reset()
	e.approveHostPort(t, "mcp.lan", 8443)
	e.start(t, src)
	checkFetches(t, e.sandbox.Fetches(), proto.OnlyHosts("mcp.lan:8443"), "mcp.lan:8443")
}

// Start refuses what is not a usable OAuth source before any request.
func TestStartRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bearer := e.source(t, "Bearer", mcpURL, "bearer", "active")
	pending := e.source(t, "Pending", mcpURL, "oauth", "pending_review")
	disabled := e.source(t, "Disabled", mcpURL, "oauth", "disabled")
	oauth := e.source(t, "GitHub", mcpURL, "oauth", "error")
	start := func(in oauthflow.StartInput) error {
		in.SessionID = e.session
		_, err := e.svc.Start(t.Context(), in)
		return err
	}
	var notOAuth *oauthflow.NotOAuthError
	if err := start(oauthflow.StartInput{SourceID: bearer}); !errors.As(err, &notOAuth) {
		t.Errorf("bearer source: %v", err)
	}
	var unusable *oauthflow.UnusableError
	if err := start(oauthflow.StartInput{SourceID: pending}); !errors.As(err, &unusable) || unusable.Status != "pending_review" {
		t.Errorf("pending source: %v", err)
	}
	if err := start(oauthflow.StartInput{SourceID: disabled}); !errors.As(err, &unusable) || unusable.Status != "disabled" {
		t.Errorf("disabled source: %v", err)
	}
	var rule *proto.RuleError
	for _, bad := range []string{"javascript:alert(1)", "https://user@host/cb", "https://host/cb#x", "/oauth/callback", "https://h/a b"} {
		if err := start(oauthflow.StartInput{SourceID: oauth, RedirectURI: bad}); !errors.As(err, &rule) || rule.Field != "redirect_uri" {
			t.Errorf("redirect_uri %q: %v", bad, err)
		}
	}
	if err := start(oauthflow.StartInput{SourceID: e.server}); !errors.Is(err, oauthflow.ErrSourceNotFound) {
		t.Errorf("unknown source: %v", err)
	}
	if n := len(e.sandbox.Fetches()); n != 0 {
		t.Errorf("%d requests reached the sandbox", n)
	}
	// A source in status error is usable.
	e.start(t, oauth)
}

// The authorization server's metadata only at the OpenID configuration,
// and a source with a client id of its own: no registration, the flow
// signs in with that client and an explicit redirect URI.
func TestOpenIDConfigurationAndExistingClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const cb = "https://admin.example.org/oauth/callback"
	e.as.Set(func(a *oauthfake.AuthServer) { a.OpenIDOnly = true })
	e.as.Preregister("pre-client", cb)
	src := e.source(t, "GitHub", mcpURL, "oauth", "active")
	dbtest.Exec(t, e.url, "UPDATE external_mcp_sources SET oauth_client_id = 'pre-client' WHERE id = $1", src)

	authURL, err := e.svc.Start(t.Context(), oauthflow.StartInput{SourceID: src, RedirectURI: cb, SessionID: e.session, Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	code, state, err := e.as.Authorize(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.callback(t, state, code); err != nil {
		t.Fatal(err)
	}
	if e.as.Count("register") != 0 || e.as.LastTokenForm().Get("client_id") != "pre-client" {
		t.Fatalf("registrations %d, token form %v", e.as.Count("register"), e.as.LastTokenForm())
	}
	var paths []string
	for _, f := range e.sandbox.Fetches() {
		paths = append(paths, f.URL)
	}
	if !strings.Contains(strings.Join(paths, " "), issuer+"/.well-known/openid-configuration") {
		t.Errorf("requests %v", paths)
	}
}

// Without a sandbox the start fails as the sandbox's unavailability, not
// as an upstream refusal.
func TestStartWithoutSandbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	src := e.source(t, "GitHub", mcpURL, "oauth", "active")
	svc := newService(t, e, "http://127.0.0.1:9")
	_, err := svc.Start(t.Context(), oauthflow.StartInput{SourceID: src, SessionID: e.session})
	var se *sandboxclient.Error
	if !errors.As(err, &se) || se.Kind != sandboxclient.Unavailable {
		t.Fatalf("start: %v, want the sandbox unavailable", err)
	}
	if e.count(t, "SELECT count(*) FROM oauth_flows")+e.count(t, "SELECT count(*) FROM activity_log WHERE category = 'audit'") != 0 {
		t.Fatal("something was stored")
	}
}
