package oauthflow_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow/oauthfake"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
)

const (
	testKey      = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	sandboxToken = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
	issuer       = "https://auth.example.com"
	mcpURL       = "https://mcp.example.com/mcp"
	origin       = "https://mcpbox.example.com"
	redirect     = origin + oauthflow.CallbackPath
	actor        = "admin:alice"
)

// env is one database with a running server, the fakes of the flow behind
// the fake sandbox, and the service under test.
type env struct {
	url     string
	store   *db.Store
	keys    *seal.Keyring
	sandbox *oauthfake.Sandbox
	as      *oauthfake.AuthServer
	mcp     *oauthfake.Resource
	svc     *oauthflow.Service
	server  uuid.UUID
	session uuid.UUID
}

// newEnv starts the fakes for mcpURL (auth server issuer) and the service
// with MCPBOX_PUBLIC_ORIGIN = origin.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{url: dbtest.URL(t), session: uuid.New()}
	var err error
	if e.store, err = db.Open(t.Context(), e.url, db.WithMaxConns(4)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.store.Close)
	if e.keys, err = seal.New(1, testKey, ""); err != nil {
		t.Fatal(err)
	}
	e.sandbox = oauthfake.NewSandbox(t, sandboxToken)
	e.as = oauthfake.NewAuthServer(t, issuer)
	e.mcp = oauthfake.NewResource(t, mcpURL, issuer, e.as.ValidAccessToken)
	e.sandbox.Map("auth.example.com", e.as.Server())
	e.sandbox.Map("mcp.example.com", e.mcp.Server())
	e.svc = newService(t, e, e.sandbox.URL())
	dbtest.QueryRow(t, e.url, "INSERT INTO servers (name, status) VALUES ('code', 'running') RETURNING id", []any{&e.server})
	return e
}

// newService is a service over e's database calling the sandbox at url.
func newService(t *testing.T, e *env, sandboxURL string) *oauthflow.Service {
	t.Helper()
	client, err := sandboxclient.New(sandboxURL, sandboxToken, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return oauthflow.New(oauthflow.Deps{Store: e.store, Sandbox: client, Keys: e.keys, PublicOrigin: origin})
}

// source inserts an external source of e's server.
func (e *env) source(t *testing.T, name, rawURL, authType, status string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	var secret *string
	if authType == "bearer" {
		s := "GH_TOKEN"
		secret = &s
	}
	dbtest.QueryRow(t, e.url, `INSERT INTO external_mcp_sources (server_id, name, url, auth_type, auth_secret_name, status)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, []any{&id}, e.server, name, rawURL, authType, secret, status)
	return id
}

// approveHost grants the server network access to host (any port).
func (e *env) approveHost(t *testing.T, host string) {
	t.Helper()
	dbtest.Exec(t, e.url, `INSERT INTO network_requests (server_id, host, status, reviewed_by, reviewed_at)
		VALUES ($1, $2, 'approved', 'admin:alice', now())`, e.server, host)
}

// approveHostPort grants the server network access to host:port.
func (e *env) approveHostPort(t *testing.T, host string, port int) {
	t.Helper()
	dbtest.Exec(t, e.url, `INSERT INTO network_requests (server_id, host, port, status, reviewed_by, reviewed_at)
		VALUES ($1, $2, $3, 'approved', 'admin:alice', now())`, e.server, host, port)
}

func (e *env) start(t *testing.T, source uuid.UUID) string {
	t.Helper()
	authURL, err := e.svc.Start(t.Context(), oauthflow.StartInput{
		SourceID: source, SessionID: e.session, Actor: actor, RequestID: "req-start",
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return authURL
}

func (e *env) callback(t *testing.T, state, code string) (uuid.UUID, error) {
	t.Helper()
	return e.svc.Callback(t.Context(), oauthflow.CallbackInput{
		State: state, Code: code, SessionID: e.session, Actor: actor, RequestID: "req-callback",
	})
}

// signIn runs a whole flow for source and returns the code it used.
func (e *env) signIn(t *testing.T, source uuid.UUID) string {
	t.Helper()
	code, state, err := e.as.Authorize(e.start(t, source))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	id, err := e.callback(t, state, code)
	if err != nil || id != source {
		t.Fatalf("callback: %v %v", id, err)
	}
	return code
}

// storedTokens opens the source's sealed tokens (nil when none).
func (e *env) storedTokens(t *testing.T, source uuid.UUID) (map[string]any, []byte) {
	t.Helper()
	var enc []byte
	dbtest.QueryRow(t, e.url, "SELECT oauth_tokens_enc FROM external_mcp_sources WHERE id = $1", []any{&enc}, source)
	if enc == nil {
		return nil, nil
	}
	raw, err := e.keys.Open(seal.PurposeOAuthTokens(source.String()), enc)
	if err != nil {
		t.Fatalf("open tokens: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m, enc
}

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	dbtest.QueryRow(t, e.url, query, []any{&n}, args...)
	return n
}

// checkFetches asserts that every request reached the sandbox with purpose
// oauth and the allowed_hosts its host must get: own for hosts in ownHosts,
// null (JSON null, on the wire) for every other. It returns the hosts
// requested, in order.
func checkFetches(t *testing.T, fetches []oauthfake.Fetch, own proto.AllowedHosts, ownHosts ...string) []string {
	t.Helper()
	if len(fetches) == 0 {
		t.Fatal("no request went through the sandbox")
	}
	var hosts []string
	for _, f := range fetches {
		u, err := url.Parse(f.URL)
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, u.Host)
		if f.Purpose != proto.FetchOAuth {
			t.Errorf("%s %s: purpose %q, want oauth", f.Method, f.URL, f.Purpose)
		}
		isOwn := false
		for _, h := range ownHosts {
			isOwn = isOwn || u.Host == h
		}
		switch {
		case isOwn && (f.AllowedHosts.Any != own.Any || strings.Join(f.AllowedHosts.Hosts, ",") != strings.Join(own.Hosts, ",")):
			t.Errorf("%s %s: allowed_hosts %+v, want %+v", f.Method, f.URL, f.AllowedHosts, own)
		case !isOwn && (!f.AllowedHosts.Any || !strings.Contains(f.Raw, `"allowed_hosts":null`)):
			t.Errorf("%s %s: allowed_hosts %+v (%s), want null", f.Method, f.URL, f.AllowedHosts, f.Raw)
		}
	}
	return hosts
}

// sealJSON seals m as the source's token set.
func sealJSON(t *testing.T, e *env, source uuid.UUID, m map[string]any) []byte {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := e.keys.Seal(seal.PurposeOAuthTokens(source.String()), raw)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}
