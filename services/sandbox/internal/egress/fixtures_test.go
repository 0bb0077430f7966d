package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeResolver answers names from a table. A name with several answers
// returns them in turn (the last one repeats), for DNS rebinding tests.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	calls   map[string]int
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{answers: map[string][][]netip.Addr{}, calls: map[string]int{}}
}

// set makes name answer with each list of addresses in turn.
func (r *fakeResolver) set(name string, answers ...[]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[name] = nil
	for _, list := range answers {
		var addrs []netip.Addr
		for _, a := range list {
			addrs = append(addrs, netip.MustParseAddr(a))
		}
		r.answers[name] = append(r.answers[name], addrs)
	}
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq, ok := r.answers[host]
	if !ok || len(seq) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	i := min(r.calls[host], len(seq)-1)
	r.calls[host]++
	return seq[i], nil
}

func (r *fakeResolver) lookups(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[name]
}

// fixtureNet maps checked addresses to loopback listeners. An address
// without a mapping fails, so no test leaves loopback. Every address the
// broker asked to dial is recorded.
type fixtureNet struct {
	mu     sync.Mutex
	routes map[netip.AddrPort]string
	dialed []netip.AddrPort
}

func newFixtureNet() *fixtureNet { return &fixtureNet{routes: map[netip.AddrPort]string{}} }

// route maps addr ("93.184.216.34:80") to a fixture server.
func (f *fixtureNet) route(addr string, srv *httptest.Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[netip.MustParseAddrPort(addr)] = srv.Listener.Addr().String()
}

func (f *fixtureNet) dial(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
	f.mu.Lock()
	f.dialed = append(f.dialed, ap)
	target, ok := f.routes[ap]
	f.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("fixture net: no route to %s: %w", ap, errors.ErrUnsupported)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", target)
}

func (f *fixtureNet) dials() []netip.AddrPort {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]netip.AddrPort(nil), f.dialed...)
}

// testEnv is a broker wired to a fake resolver and the fixture net.
type testEnv struct {
	broker *Broker
	dns    *fakeResolver
	net    *fixtureNet
	reg    *prometheus.Registry
}

func newTestEnv(t *testing.T, cfg Config, opts ...Option) *testEnv {
	t.Helper()
	env := &testEnv{dns: newFakeResolver(), net: newFixtureNet(), reg: prometheus.NewRegistry()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	all := append([]Option{WithResolver(env.dns), WithTestDial(env.net.dial)}, opts...)
	b, err := New(cfg, env.reg, log, all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env.broker = b
	return env
}

// session returns a tool session for allowed_hosts entries; nil hosts means
// null (any public host).
func (e *testEnv) session(t *testing.T, hosts []string) *Session {
	t.Helper()
	allow := AnyPublic()
	if hosts != nil {
		var err error
		if allow, err = ParseHosts(hosts, "allowed_hosts"); err != nil {
			t.Fatalf("ParseHosts(%q): %v", hosts, err)
		}
	}
	s := e.broker.NewSession(allow, SourceTool, ToolLimits())
	t.Cleanup(s.Close)
	return s
}

// okServer answers 200 with body and counts requests.
type okServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits int
	last *http.Request
}

func newOKServer(t *testing.T, body string) *okServer {
	t.Helper()
	s := &okServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits++
		s.last = r.Clone(context.Background())
		s.mu.Unlock()
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *okServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func (s *okServer) lastRequest() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// blockedReason returns the reason of a *BlockedError, or "" with the error
// text for anything else.
func blockedReason(err error) (Reason, string) {
	var be *BlockedError
	if errors.As(err, &be) {
		return be.Reason, be.Error()
	}
	if err == nil {
		return "", "<nil>"
	}
	return "", err.Error()
}

// get sends a GET through the session.
func get(t *testing.T, s *Session, url string) (Response, error) {
	t.Helper()
	return s.Do(t.Context(), Request{Method: http.MethodGet, URL: url})
}
