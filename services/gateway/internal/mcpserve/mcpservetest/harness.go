package mcpservetest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/listen"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
)

// Token is the service token of the harness's remote listener.
const Token = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"

// Config configures a harness; zero values take the defaults noted.
type Config struct {
	// Mode is mcpserve.ModeStateless (default) or ModeHybrid.
	Mode string
	// Listeners are the enabled listeners (default both).
	Listeners []string
	// SSEKeepalive (default 15 s), ProgressInterval (default 10 s),
	// SessionIdle (default 30 min), PruneInterval (default 30 s).
	SSEKeepalive, ProgressInterval, SessionIdle, PruneInterval time.Duration
	// MaxSessions (default 1000), MaxSessionsPerCaller (default 32).
	MaxSessions, MaxSessionsPerCaller int
	// MaxBodyBytes (default 1 MiB).
	MaxBodyBytes int64
	// LocalRPM limits the local listener (default 0: unlimited).
	LocalRPM int
	// AuthFailures is the failed-auth throttle's limit (default 10).
	AuthFailures int
	// Catalog is the initial catalog (default revision 1, no tools).
	Catalog proto.Catalog
	// Policy is the initial policy (default DefaultPolicy).
	Policy *proto.Policy
	// BackendDown starts with the backend unreachable (Source.SetDown(false)
	// brings it up); Start then does not wait for the first load.
	BackendDown bool
	// Calls replaces the fake Calls (the harness's Calls field stays set
	// but unused).
	Calls mcpserve.Calls
}

// DefaultPolicy is the harness's policy: everyone with an email may
// connect, 10,000 calls per minute (no test runs into it), remote editing
// disabled, revision 1.
func DefaultPolicy() proto.Policy {
	p := proto.DefaultPolicy()
	p.Revision = 1
	p.MCPRateLimitRPM = proto.MaxMCPRateLimitRPM
	p.RemoteEmailAllowlist = proto.RemoteEmailAllowlist{Mode: proto.AllowEveryone, Values: []string{}}
	return p
}

// Harness is a running gateway front on loopback.
type Harness struct {
	Source  *Source
	Calls   *Calls
	Cache   *catalog.Cache
	Gateway *mcpserve.Gateway
	// Servers by listener name.
	Servers map[string]*httptest.Server
	Reg     *prometheus.Registry
	Logs    *SyncBuffer
	// Draining turns on the listeners' draining (/readyz) and
	// shutting-down (/mcp 503) checks.
	Draining atomic.Bool
}

// Start runs a harness until the test ends.
func Start(t testing.TB, cfg Config) *Harness {
	t.Helper()
	cfg = withDefaults(cfg)
	h := &Harness{Reg: prometheus.NewRegistry(), Logs: &SyncBuffer{}, Servers: map[string]*httptest.Server{}}
	log := obs.NewLogger(h.Logs, "gateway", slog.LevelDebug, "json")
	h.Source = NewSource(cfg.Catalog, *cfg.Policy)
	h.Source.SetDown(cfg.BackendDown)
	remoteOn := false
	for _, l := range cfg.Listeners {
		remoteOn = remoteOn || l == caller.ListenerRemote
	}
	h.Cache = catalog.New(h.Source, catalog.Options{
		Poll: time.Hour, MaxStaleness: 10 * time.Minute, RequirePolicy: remoteOn,
		ReconnectMin: 10 * time.Millisecond, ReconnectMax: 50 * time.Millisecond,
	}, h.Reg, log)
	h.Calls = &Calls{Snapshot: h.Cache.Current}
	var calls mcpserve.Calls = h.Calls
	if cfg.Calls != nil {
		calls = cfg.Calls
	}
	gw, err := mcpserve.New(mcpserve.Options{
		Listeners: cfg.Listeners, Mode: cfg.Mode, Version: "test", MaxBodyBytes: cfg.MaxBodyBytes,
		SessionIdle: cfg.SessionIdle, MaxSessions: cfg.MaxSessions, MaxSessionsPerCaller: cfg.MaxSessionsPerCaller,
		SSEKeepalive: cfg.SSEKeepalive, ProgressInterval: cfg.ProgressInterval, PruneInterval: cfg.PruneInterval,
		Catalog: h.Cache, Calls: calls, Registerer: h.Reg, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Gateway = gw

	failures := caller.NewAuthFailures(h.Reg)
	tokens := servicetoken.New(h.Reg, "gateway", Token, "")
	common := listen.Options{
		Limiter:      policy.NewLimiter(h.Reg, cfg.LocalRPM, nil),
		Authorizer:   policy.NewAuthorizer(failures),
		MaxBodyBytes: cfg.MaxBodyBytes,
		Draining:     h.Draining.Load,
		ShuttingDown: h.Draining.Load,
		Ready:        func(context.Context) error { return h.Cache.Ready() },
		Metrics:      obs.MetricsHandler(h.Reg),
		Requests:     listen.NewMetrics(h.Reg),
		Log:          log,
	}
	for _, l := range cfg.Listeners {
		o := common
		o.Listener, o.MCP = l, gw.Endpoint(l)
		if l == caller.ListenerLocal {
			o.Local = caller.NewLocalGuard(nil, nil, log)
		} else {
			o.Remote = caller.NewRemoteAuth(tokens, caller.NewThrottle(cfg.AuthFailures, nil), failures, nil, log)
			o.Policy = h.Cache.CheckPolicy
		}
		handler, err := listen.New(o)
		if err != nil {
			t.Fatal(err)
		}
		h.Servers[l] = httptest.NewServer(handler)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { h.Cache.Run(ctx) })
	wg.Go(func() { gw.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		gw.CloseStreams()
		for _, s := range h.Servers {
			s.CloseClientConnections()
			s.Close()
		}
		wg.Wait()
	})
	if !cfg.BackendDown {
		h.WaitCatalog(t, cfg.Catalog.Revision)
		h.WaitPolicy(t, cfg.Policy.Revision)
	}
	return h
}

func withDefaults(cfg Config) Config {
	if cfg.Mode == "" {
		cfg.Mode = mcpserve.ModeStateless
	}
	if len(cfg.Listeners) == 0 {
		cfg.Listeners = []string{caller.ListenerLocal, caller.ListenerRemote}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.SSEKeepalive, 15*time.Second)
	def(&cfg.ProgressInterval, 10*time.Second)
	def(&cfg.SessionIdle, 30*time.Minute)
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = 1000
	}
	if cfg.MaxSessionsPerCaller == 0 {
		cfg.MaxSessionsPerCaller = 32
	}
	if cfg.AuthFailures == 0 {
		cfg.AuthFailures = 10
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Catalog.Revision == 0 {
		cfg.Catalog.Revision = 1
	}
	if cfg.Policy == nil {
		p := DefaultPolicy()
		cfg.Policy = &p
	}
	return cfg
}

// URL returns the /mcp URL of listener.
func (h *Harness) URL(listener string) string { return h.Servers[listener].URL + proto.PathMCP }

// SetCatalog serves cat and waits until the gateway applied it.
func (h *Harness) SetCatalog(t testing.TB, cat proto.Catalog) {
	t.Helper()
	h.Source.SetCatalog(cat)
	h.WaitCatalog(t, cat.Revision)
}

// WaitCatalog waits until a snapshot of at least rev is applied.
func (h *Harness) WaitCatalog(t testing.TB, rev int64) {
	t.Helper()
	if !h.Cache.WaitRevision(context.Background(), rev, 5*time.Second) {
		t.Fatalf("catalog revision %d not applied", rev)
	}
}

// SetPolicy serves p and waits until the gateway uses it.
func (h *Harness) SetPolicy(t testing.TB, p proto.Policy) {
	t.Helper()
	h.Source.SetPolicy(p)
	h.WaitPolicy(t, p.Revision)
}

// WaitPolicy waits until the cache holds a policy of at least rev.
func (h *Harness) WaitPolicy(t testing.TB, rev int64) {
	t.Helper()
	Eventually(t, "policy revision loaded", func() bool {
		p, ok := h.Cache.Policy()
		return ok && p.Revision >= rev
	})
}

// Eventually polls cond every 10 ms for up to 5 s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes (the log).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Client returns an HTTP client for the harness (no timeout: streams).
func (h *Harness) Client() *http.Client { return &http.Client{} }
