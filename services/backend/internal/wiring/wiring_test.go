package wiring_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/adminapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/config"
	"github.com/mcpbox/mcpbox/services/backend/internal/internalapi"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/wiring"
)

const (
	token = "b7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f"
	key   = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
)

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

// wired builds a backend over a fresh database with cfg adjusted by more.
func wired(t *testing.T, more func(*wiring.Options)) (*wiring.Backend, *syncBuffer, *seal.Keyring) {
	t.Helper()
	keys, err := seal.New(1, key, "")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	o := wiring.Options{
		Config: config.Config{
			Token: token, SandboxURL: "http://127.0.0.1:9", SandboxToken: token, CookieSecure: "auto",
			SessionIdle: 1800e9, SessionMax: 7 * 24 * 3600e9, HashConcurrency: 2, TestRunConc: 2,
		},
		Store: dbtest.New(t), Keys: keys, Hasher: password.New(password.Fast(), 2),
		Log: slog.New(slog.NewJSONHandler(logs, nil)),
	}
	if more != nil {
		more(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b, err := wiring.New(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.CloseStreams()
		cancel()
		b.Close()
	})
	return b, logs, keys
}

func get(t *testing.T, h http.Handler, path string, header ...string) (int, http.Header, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// The two handlers are the listeners of backend.md §3: each wrapped in the
// request-id middleware, the main one without /internal and /metrics, the
// internal one token-guarded and serving the metrics of the registry.
func TestNewServesBothListeners(t *testing.T) {
	t.Parallel()
	var mainHook, internalHook bool
	b, logs, keys := wired(t, func(o *wiring.Options) {
		o.Main = func(*adminapi.Deps) { mainHook = true }
		o.Internal = func(*internalapi.Deps) { internalHook = true }
	})
	if !mainHook || !internalHook {
		t.Errorf("hooks called: main %v, internal %v", mainHook, internalHook)
	}
	if code, h, body := get(t, b.Main, "/api/v1/auth/status"); code != http.StatusOK || !strings.Contains(body, `"setup_required":true`) || h.Get(proto.HeaderRequestID) == "" {
		t.Errorf("main /api/v1/auth/status: %d %s (request id %q)", code, body, h.Get(proto.HeaderRequestID))
	}
	for _, p := range []string{proto.PathMetrics, proto.PathInternalCatalog} {
		if code, _, _ := get(t, b.Main, p, proto.HeaderServiceToken, token); code != http.StatusNotFound {
			t.Errorf("main %s: %d, want 404", p, code)
		}
	}
	if code, _, _ := get(t, b.Internal, proto.PathInternalCatalog); code != http.StatusUnauthorized {
		t.Errorf("internal catalog without the token: %d, want 401", code)
	}
	if code, h, body := get(t, b.Internal, proto.PathInternalCatalog, proto.HeaderServiceToken, token); code != http.StatusOK || h.Get(proto.HeaderRequestID) == "" {
		t.Errorf("internal catalog: %d %s", code, body)
	}
	if code, _, body := get(t, b.Internal, proto.PathMetrics); code != http.StatusOK || !strings.Contains(body, "mcpbox_backend_build_info") || !strings.Contains(body, "mcpbox_backend_http_requests_total") {
		t.Errorf("internal /metrics: %d", code)
	}
	if code, _, body := get(t, b.Internal, proto.PathReadyz); code != http.StatusOK || !strings.Contains(body, `"listen":"ok"`) {
		t.Errorf("internal /readyz: %d %s", code, body)
	}
	// Without MCPBOX_SETUP_CODE the code is derived from the key and logged
	// while no admin exists (backend.md §7.1).
	if b.SetupCode != keys.SetupCode() || !strings.Contains(logs.String(), keys.SetupCode()) {
		t.Errorf("setup code %q, derived %q; logged: %v", b.SetupCode, keys.SetupCode(), strings.Contains(logs.String(), keys.SetupCode()))
	}
}

// A configured setup code is used and never logged.
func TestConfiguredSetupCodeIsNotLogged(t *testing.T) {
	t.Parallel()
	const code = "configured-setup-code-0123456789"
	b, logs, _ := wired(t, func(o *wiring.Options) { o.Config.SetupCode = code })
	if b.SetupCode != code {
		t.Errorf("setup code %q", b.SetupCode)
	}
	if strings.Contains(logs.String(), code) {
		t.Error("the configured setup code was logged")
	}
	if !strings.Contains(logs.String(), "MCPBOX_SETUP_CODE") {
		t.Errorf("no hint at MCPBOX_SETUP_CODE in the log: %s", logs.String())
	}
}
