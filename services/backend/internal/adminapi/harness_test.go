package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/accesstoken"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/dashboard"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
	"github.com/mcpbox/mcpbox/services/backend/internal/peer"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/remoteaccess"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
	"github.com/mcpbox/mcpbox/services/backend/internal/transfer"
)

const (
	testKey   = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	adminName = "admin"
	adminPass = "correct horse battery"
)

// backend is one replica of the main listener on loopback, over a real
// PostgreSQL database, with the fast test hashing parameters (backend.md
// §7.2). Trusted proxies are loopback, so tests pick their client IP with
// X-Forwarded-For.
type backend struct {
	logs  *syncBuffer // every log line of the replica, debug included
	srv   *httptest.Server
	store *db.Store
	url   string               // the database
	code  string               // the setup code
	reg   *prometheus.Registry // the auth and HTTP metrics of the replica
}

type options struct {
	hasher  *password.Hasher
	cfgMore func(*adminapi.Deps)
	// streamPing and streamRecheck shorten the activity stream's timers.
	streamPing, streamRecheck time.Duration
	// sandboxURL is the sandbox the replica calls (a fake in the tools
	// tests); empty: a closed loopback port, so every call is unavailable.
	sandboxURL string
}

// newBackend starts a replica on a fresh database; replica starts another
// one on the same database.
func newBackend(t *testing.T, opts ...func(*options)) *backend {
	t.Helper()
	return replica(t, dbtest.URL(t), opts...)
}

func replica(t *testing.T, url string, opts ...func(*options)) *backend {
	t.Helper()
	store, err := db.Open(t.Context(), url, db.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	o := options{hasher: password.New(password.Fast(), 4)}
	for _, f := range opts {
		f(&o)
	}
	keys, err := seal.New(1, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	issuer := accesstoken.New(store, keys)
	if err := issuer.EnsureKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	svc := auth.New(store, o.hasher, issuer, auth.Options{
		SessionIdle: 30 * 60e9, SessionMax: 7 * 24 * 3600e9, SetupCode: keys.SetupCode(), Version: "test",
	})
	reg := prometheus.NewRegistry()
	if err := svc.Instrument(reg); err != nil {
		t.Fatal(err)
	}
	proxies, err := peer.Parse([]string{"127.0.0.0/8", "::1/128"})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := adminapi.Deps{
		Log: log, Store: store, Health: httpserve.NewHealth(), Auth: svc, Proxies: proxies,
		Policy: policy.New(store), Servers: servers.New(store), Secrets: secrets.New(store, keys),
		Approvals: approvals.New(store),
	}
	d.Executions = executions.New(store, d.Secrets)
	sandbox := sandboxClient(t, o.sandboxURL)
	d.Tools = tools.New(store, sandbox)
	d.Dashboard = dashboard.New(store, d.Executions, sandbox)
	d.TestRuns = testrun.New(store, sandbox, catalog.New(store, d.Secrets, d.Policy), d.Secrets, d.Policy, d.Executions, 4)
	d.Sources = sources.New(sources.Deps{
		Store: store, Sandbox: sandbox, Secrets: d.Secrets, Policy: d.Policy, Tools: d.Tools, Approvals: d.Approvals, Logger: log,
	})
	d.Transfer = transfer.New(transfer.Deps{Store: store, Keys: keys, Tools: d.Tools, Version: "test"})
	d.RemoteAccess = remoteaccess.New(remoteaccess.Deps{Store: store, Sandbox: sandbox})
	d.OAuth = oauthflow.New(oauthflow.Deps{Store: store, Sandbox: sandbox, Keys: keys})
	// The activity streams are woken by this replica's own LISTEN
	// connection, as in the backend (run.go).
	d.Activity = activity.NewBroker()
	d.StreamPing, d.StreamRecheck = o.streamPing, o.streamRecheck
	listener, err := store.Listen(t.Context(), db.ListenOptions{
		Channels: []string{activity.Channel, activity.ExecutionsChannel},
		OnNotify: d.Activity.Handle,
		OnUp:     d.Activity.Notify,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(listener.Close)
	if o.cfgMore != nil {
		o.cfgMore(&d)
	}
	httpMetrics := obs.NewHTTPMetrics(reg, "backend", obs.LATBuckets())
	routes, err := adminapi.Routes(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpserve.Handler(log, "main", obs.KeepValid, httpMetrics.Wrap(routes)))
	t.Cleanup(srv.Close)
	return &backend{logs: logs, srv: srv, store: store, url: url, code: keys.SetupCode(), reg: reg}
}

// sql runs a statement on the replica's database and scans one row into
// dest (none for a statement without result).
func (b *backend) sql(t *testing.T, query string, dest []any, args ...any) {
	t.Helper()
	if len(dest) == 0 {
		dbtest.Exec(t, b.url, query, args...)
		return
	}
	dbtest.QueryRow(t, b.url, query, dest, args...)
}

// syncBuffer is a log sink safe for the handlers' goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// sandboxToken is the service token the fake sandboxes of the tests expect.
const sandboxToken = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"

// withSandbox points the replica at a (fake) sandbox.
func withSandbox(url string) func(*options) { return func(o *options) { o.sandboxURL = url } }

// sandboxClient is the replica's sandbox client; without a URL it points at
// a loopback port nothing listens on.
func sandboxClient(t *testing.T, url string) *sandboxclient.Client {
	t.Helper()
	if url == "" {
		url = "http://127.0.0.1:9" // discard port: connection refused
	}
	c, err := sandboxclient.New(url, sandboxToken, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
	err    proto.Error
}

// call sends method path with a JSON body (nil: none) and header pairs.
func (b *backend) call(t *testing.T, method, path string, body any, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	var eb proto.ErrorBody
	if json.Unmarshal(raw, &eb) == nil {
		out.err = eb.Error
	}
	return out
}

// setup creates the admin account.
func (b *backend) setup(t *testing.T) {
	t.Helper()
	r := b.call(t, http.MethodPost, "/api/v1/auth/setup", map[string]string{
		"username": adminName, "password": adminPass, "setup_code": b.code,
	})
	if r.status != http.StatusCreated {
		t.Fatalf("setup: %d %s", r.status, r.raw)
	}
}

// login logs in (token mode) and returns the body.
func (b *backend) login(t *testing.T, header ...string) map[string]any {
	t.Helper()
	r := b.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": adminName, "password": adminPass}, header...)
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	return r.body
}

func bearer(body map[string]any) []string {
	return []string{"Authorization", "Bearer " + body["access_token"].(string)}
}

// from sets the client IP through the trusted loopback proxy.
func from(ip string) []string { return []string{"X-Forwarded-For", ip} }

// withoutRequestID blanks request ids, so two error bodies compare.
func withoutRequestID(raw string) string {
	var eb map[string]map[string]any
	if json.Unmarshal([]byte(raw), &eb) != nil {
		return raw
	}
	delete(eb["error"], "request_id")
	out, _ := json.Marshal(eb)
	return string(out)
}

func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.err.Code != code {
		t.Fatalf("want %d %s, got %d %s", status, code, r.status, r.raw)
	}
	if !strings.Contains(r.raw, `"request_id"`) {
		t.Fatalf("error without request_id: %s", r.raw)
	}
}
