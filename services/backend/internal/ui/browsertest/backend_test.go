//go:build browser

package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/ui"
	"github.com/mcpbox/mcpbox/services/backend/internal/wiring"
)

// Fixed values of every test backend.
const (
	// BackendToken is MCPBOX_BACKEND_TOKEN: the gateway's service token on
	// the internal listener.
	BackendToken  = "b7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f"
	encryptionKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	// AdminName and AdminPassword are the admin account CreateAdmin makes
	// and checks sign in with.
	AdminName     = "admin"
	AdminPassword = "correct horse battery staple"
)

// Backend is the real backend (package wiring, as the binary builds it)
// over a throw-away database, each listener on its own httptest.Server.
type Backend struct {
	// URL is the main listener (UI, /api/v1); InternalURL the internal one
	// (/internal/v1, /metrics).
	URL, InternalURL string
	// DatabaseURL and Store are the test's own database.
	DatabaseURL string
	Store       *db.Store
	// SetupCode is the first-run setup code.
	SetupCode string
	Sandbox   *FakeSandbox
	// Logs holds every log line of the backend; it is printed when the test
	// fails.
	Logs *lockedBuffer

	// Clock is admin authentication's clock (login throttling, session
	// lifetimes); Advance moves it.
	Clock *Clock

	wired          *wiring.Backend
	main, internal *httptest.Server
}

// Clock is a wall clock that a test can move forward.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the time plus every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d (a minute of throttling passes at
// once).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// BackendOption adjusts the wiring of a test backend (timers, sandbox).
type BackendOption func(*wiring.Options)

// defaultTimers shortens what the checks would otherwise wait for: the
// pings and session re-checks of the main listener's streams (the UI's
// event stream included), app.js's offline indicator and fallback tick,
// and the gateway event stream's ping.
func defaultTimers(o *wiring.Options) {
	prev := o.Main
	o.Main = func(d *adminapi.Deps) {
		d.StreamPing, d.StreamRecheck = time.Second, time.Second
		d.UIClient = ui.ClientTimers{OfflineAfter: time.Second, FallbackTick: 2 * time.Second}
		if prev != nil {
			prev(d)
		}
	}
	o.Events.Ping = time.Second
}

// WithMainDeps adjusts the main listener's dependencies before its handler
// is built.
func WithMainDeps(fn func(*adminapi.Deps)) BackendOption {
	return func(o *wiring.Options) {
		prev := o.Main
		o.Main = func(d *adminapi.Deps) {
			if prev != nil {
				prev(d)
			}
			fn(d)
		}
	}
}

// NewBackend starts a backend on a fresh database with a fresh fake
// sandbox; everything stops when the test ends.
func NewBackend(t testing.TB, opts ...BackendOption) *Backend {
	t.Helper()
	RequireDatabase(t)
	dsn := dbtest.URL(t)
	store, err := db.Open(t.Context(), dsn, db.WithMaxConns(8))
	if err != nil {
		t.Fatalf("browsertest: open the test database: %v", err)
	}
	t.Cleanup(store.Close)
	keys, err := seal.New(1, encryptionKey, "")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sandbox := NewFakeSandbox(t)
	cfg := config.Config{
		Token: BackendToken, SandboxURL: sandbox.URL, SandboxToken: SandboxToken,
		CookieSecure: "auto", SessionIdle: 30 * time.Minute, SessionMax: 7 * 24 * time.Hour,
		LocalMCPURL: "http://127.0.0.1:8002/mcp", HashConcurrency: 4, TestRunConc: 4,
	}
	clock := &Clock{}
	o := wiring.Options{
		Config: cfg, Store: store, Keys: keys, Log: log,
		Hasher: password.New(password.Fast(), 4), Now: clock.Now,
	}
	defaultTimers(&o)
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wired, err := wiring.New(ctx, o)
	if err != nil {
		cancel()
		t.Fatalf("browsertest: wire the backend: %v", err)
	}
	b := &Backend{
		DatabaseURL: dsn, Store: store, SetupCode: wired.SetupCode, Sandbox: sandbox, Logs: logs, Clock: clock, wired: wired,
		main: httptest.NewServer(wired.Main), internal: httptest.NewServer(wired.Internal),
	}
	b.URL, b.InternalURL = b.main.URL, b.internal.URL
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browsertest: backend log:\n%s", logs.String())
		}
		// Streams never end on their own: end them, then the listeners.
		wired.CloseStreams()
		for _, s := range []*httptest.Server{b.main, b.internal} {
			s.CloseClientConnections()
			s.Close()
		}
		cancel()
		wired.Close()
	})
	return b
}

// NewPage opens a fresh browser context whose Open resolves paths against
// the backend's main listener.
func (b *Backend) NewPage(t testing.TB, v Viewport) *Page {
	t.Helper()
	p := NewPage(t, v)
	p.Base = b.URL
	return p
}

// APIResponse is an answer of the backend to a direct request.
type APIResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r APIResponse) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("browsertest: decode %s: %v", r.Body, err)
	}
}

// Request sends method url with a JSON body (nil: none) and header pairs,
// outside the browser.
func Request(t testing.TB, method, url string, body any, header ...string) APIResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	client := http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("browsertest: %s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("browsertest: read %s %s: %v", method, url, err)
	}
	return APIResponse{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// API sends a request to the main listener (path under /api/v1 or a UI
// path) outside the browser.
func (b *Backend) API(t testing.TB, method, path string, body any, header ...string) APIResponse {
	t.Helper()
	return Request(t, method, b.URL+path, body, header...)
}

// CreateAdmin creates the admin account (AdminName, AdminPassword) through
// POST /api/v1/auth/setup, as a check that starts after setup needs.
func (b *Backend) CreateAdmin(t testing.TB) {
	t.Helper()
	r := b.API(t, http.MethodPost, "/api/v1/auth/setup", map[string]string{
		"username": AdminName, "password": AdminPassword, "setup_code": b.SetupCode,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("browsertest: create the admin: %d %s", r.Status, r.Body)
	}
}

// Bearer signs in through the API (token mode) and returns the
// Authorization header pair for API requests.
func (b *Backend) Bearer(t testing.TB) []string {
	t.Helper()
	r := b.API(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": AdminName, "password": AdminPassword})
	if r.Status != http.StatusOK {
		t.Fatalf("browsertest: API login: %d %s", r.Status, r.Body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &out)
	return []string{"Authorization", "Bearer " + out.AccessToken}
}

// ManageRaw calls a management tool through the internal API with the
// gateway's service token, as a local LLM client would, and returns the
// answer whatever it is.
func (b *Backend) ManageRaw(t testing.TB, tool string, args any) proto.ManageResponse {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	r := Request(t, http.MethodPost, b.InternalURL+proto.PathInternalAPIPrefix+"/manage/"+tool,
		proto.ManageRequest{Arguments: raw, Caller: proto.Caller{Kind: proto.CallerLocal}},
		proto.HeaderServiceToken, BackendToken)
	if r.Status != http.StatusOK {
		t.Fatalf("browsertest: manage %s: %d %s", tool, r.Status, r.Body)
	}
	var out proto.ManageResponse
	r.JSON(t, &out)
	return out
}

// Manage calls a management tool (ManageRaw) and decodes its result into
// result (nil: ignored); a refusal fails the test.
func (b *Backend) Manage(t testing.TB, tool string, args, result any) {
	t.Helper()
	out := b.ManageRaw(t, tool, args)
	if !out.OK {
		t.Fatalf("browsertest: manage %s refused: %+v", tool, out.Error)
	}
	if result != nil {
		if err := json.Unmarshal(out.Result, result); err != nil {
			t.Fatalf("browsertest: manage %s result %s: %v", tool, out.Result, err)
		}
	}
}

// PostExecutions sends execution records through the internal API, as the
// gateway does; a rejected record fails the test.
func (b *Backend) PostExecutions(t testing.TB, records ...proto.ExecutionRecord) {
	t.Helper()
	r := Request(t, http.MethodPost, b.InternalURL+proto.PathInternalExecutions, proto.ExecutionBatch{Records: records},
		proto.HeaderServiceToken, BackendToken)
	if r.Status != http.StatusOK {
		t.Fatalf("browsertest: post executions: %d %s", r.Status, r.Body)
	}
	var out proto.ExecutionBatchResult
	r.JSON(t, &out)
	if len(out.Rejected) > 0 {
		t.Fatalf("browsertest: executions rejected: %+v", out.Rejected)
	}
}
