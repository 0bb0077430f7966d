package egress

import (
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNewConfig(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := New(Config{Deny: []string{"10.0.0.0/99"}, DNS: "dns.example:53"}, prometheus.NewRegistry(), log)
	if err == nil || !strings.Contains(err.Error(), "MCPBOX_SANDBOX_EGRESS_DENY") || !strings.Contains(err.Error(), "MCPBOX_SANDBOX_DNS") {
		t.Errorf("bad config: %v, want both variables named", err)
	}
	b, err := New(Config{Deny: []string{"10.96.0.0/12"}, DNS: "127.0.0.1:53"}, prometheus.NewRegistry(), log)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := b.resolver.(*net.Resolver); !ok || !r.PreferGo || r.Dial == nil {
		t.Errorf("MCPBOX_SANDBOX_DNS: resolver %#v, want a pure-Go resolver dialling the server", b.resolver)
	}
}

func TestMetricsInitialisedAndCounted(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	if n := testutil.CollectAndCount(env.broker.metrics.requests, "mcpbox_sandbox_broker_requests_total"); n != len(Sources())*len(Outcomes()) {
		t.Errorf("broker_requests_total has %d series at start, want %d", n, len(Sources())*len(Outcomes()))
	}
	if n := testutil.CollectAndCount(env.broker.metrics.blocked, "mcpbox_sandbox_egress_blocked_total"); n != len(Reasons()) {
		t.Errorf("egress_blocked_total has %d series at start, want %d", n, len(Reasons()))
	}
	srv := newOKServer(t, "ok")
	env.net.route("93.184.216.34:80", srv.Server)
	env.dns.set("api.example.com", []string{"93.184.216.34"})
	s := env.session(t, nil)
	_, _ = get(t, s, "http://api.example.com/")
	_, _ = get(t, s, "http://127.0.0.1/")
	_, _ = get(t, s, "ftp://x.example/")
	_, _ = get(t, s, "http://unknown.example/")
	_, _ = s.Do(t.Context(), Request{Method: "TRACE", URL: "http://api.example.com/"})
	for _, c := range []struct {
		outcome Outcome
		want    float64
	}{{OutcomeOK, 1}, {OutcomeBlocked, 2}, {OutcomeConnectError, 1}, {OutcomeInvalid, 1}, {OutcomeTimeout, 0}} {
		if got := testutil.ToFloat64(env.broker.metrics.requests.WithLabelValues("tool", string(c.outcome))); got != c.want {
			t.Errorf("requests{tool,%s} = %v, want %v", c.outcome, got, c.want)
		}
	}
	for reason, want := range map[Reason]float64{ReasonAlwaysBlocked: 1, ReasonBadURL: 1, ReasonNotApproved: 0} {
		if got := testutil.ToFloat64(env.broker.metrics.blocked.WithLabelValues(string(reason))); got != want {
			t.Errorf("blocked{%s} = %v, want %v", reason, got, want)
		}
	}
}

func TestRequestShaping(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	srv := newOKServer(t, "ok")
	env.net.route("93.184.216.34:80", srv.Server)
	env.dns.set("api.example.com", []string{"93.184.216.34"})
	s := env.session(t, []string{"api.example.com"})
	_, err := s.Do(t.Context(), Request{Method: http.MethodPost, URL: "http://api.example.com/p", Body: []byte("hello"), Header: http.Header{
		"Connection":          {"X-Secret-Hop"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Authorization": {"Basic eA=="},
		"Proxy-Connection":    {"keep-alive"},
		"Te":                  {"trailers"},
		"Trailer":             {"X-T"},
		"Transfer-Encoding":   {"chunked"},
		"Upgrade":             {"websocket"},
		"Content-Length":      {"999"},
		"Expect":              {"100-continue"},
		"X-Secret-Hop":        {"kept"},
		"authorization":       {"Bearer t"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := srv.lastRequest()
	for _, h := range []string{"Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Upgrade", "Expect"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("%s reached the server: %q", h, v)
		}
	}
	if r.ContentLength != 5 || len(r.TransferEncoding) != 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %v; want 5, none", r.ContentLength, r.TransferEncoding)
	}
	if got := r.Header.Get("User-Agent"); got != ToolUserAgent {
		t.Errorf("User-Agent = %q, want %q", got, ToolUserAgent)
	}
	if r.Header.Get("Authorization") != "Bearer t" || r.Header.Get("X-Secret-Hop") != "kept" {
		t.Errorf("ordinary headers lost: %v", r.Header)
	}
	_, err = s.Do(t.Context(), Request{Method: http.MethodGet, URL: "http://api.example.com/", Header: http.Header{"User-Agent": {"mine/2"}}})
	if err != nil || srv.lastRequest().Header.Get("User-Agent") != "mine/2" {
		t.Errorf("a tool's User-Agent is kept: %v, %q", err, srv.lastRequest().Header.Get("User-Agent"))
	}
	for _, m := range []string{"CONNECT", "TRACE", "get", "", "BREW"} {
		if _, err := s.Do(t.Context(), Request{Method: m, URL: "http://api.example.com/"}); OutcomeOf(err) != OutcomeInvalid {
			t.Errorf("method %q: %v, want invalid", m, err)
		}
	}
}

func TestGzipDecodedAndCapped(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	plain := bytes.Repeat([]byte("a"), 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = w.Write(plain)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write(plain)
		_ = zw.Close()
	}))
	t.Cleanup(srv.Close)
	env.net.route("93.184.216.34:80", srv)
	env.dns.set("api.example.com", []string{"93.184.216.34"})
	lim := ToolLimits()
	lim.MaxResponseBody = 1000
	s := env.broker.NewSession(AnyPublic(), SourceTool, lim)
	defer s.Close()
	resp, err := s.Do(t.Context(), Request{Method: http.MethodGet, URL: "http://api.example.com/", Header: http.Header{"Accept-Encoding": {"br"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Body) != 1000 || !resp.Truncated || resp.Body[0] != 'a' {
		t.Errorf("decoded body: %d bytes, truncated %v", len(resp.Body), resp.Truncated)
	}
}

// SB-18 (broker layer): an endless response body reaches the tool as
// exactly 10 MiB with Truncated.
func TestResponseBodyTruncatedAt10MiB(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	env.net.route("93.184.216.34:80", srv)
	env.dns.set("big.example", []string{"93.184.216.34"})
	resp, err := get(t, env.session(t, nil), "http://big.example/")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Body) != MaxToolResponseBody || !resp.Truncated {
		t.Errorf("body %d bytes, truncated %v; want %d, true", len(resp.Body), resp.Truncated, MaxToolResponseBody)
	}
}

func TestConcurrencyCap(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	release := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(MaxToolConcurrent)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			arrived.Done()
			<-release
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	env.net.route("93.184.216.34:80", srv)
	env.dns.set("api.example.com", []string{"93.184.216.34"})
	s := env.session(t, nil)
	var done sync.WaitGroup
	errs := make(chan error, MaxToolConcurrent)
	for range MaxToolConcurrent {
		done.Go(func() {
			_, err := get(t, s, "http://api.example.com/hold")
			errs <- err
		})
	}
	arrived.Wait()
	_, err := get(t, s, "http://api.example.com/")
	if OutcomeOf(err) != OutcomeBudgetExceeded || !strings.Contains(err.Error(), "at once") {
		t.Errorf("5th concurrent request: %v", err)
	}
	close(release)
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("running request: %v", err)
		}
	}
	if _, err := get(t, s, "http://api.example.com/"); err != nil {
		t.Errorf("after the others finished: %v", err)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "tls "+r.TLS.ServerName)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	env := newTestEnv(t, Config{}, WithRootCAs(pool))
	env.net.route("93.184.216.34:443", srv)
	env.dns.set("api.example.com", []string{"93.184.216.34"})
	env.dns.set("wrong.test", []string{"93.184.216.34"})
	s := env.session(t, nil)
	resp, err := get(t, s, "https://api.example.com/")
	if err != nil || string(resp.Body) != "tls api.example.com" {
		t.Fatalf("TLS with the URL's name as SNI: %+v, %v", resp, err)
	}
	_, err = get(t, s, "https://wrong.test/")
	if OutcomeOf(err) != OutcomeTLSError || !strings.Contains(err.Error(), "'wrong.test:443'") {
		t.Errorf("name not in the certificate: %v", err)
	}

	untrusting := newTestEnv(t, Config{})
	untrusting.net.route("93.184.216.34:443", srv)
	untrusting.dns.set("api.example.com", []string{"93.184.216.34"})
	_, err = get(t, untrusting.session(t, nil), "https://api.example.com/")
	if OutcomeOf(err) != OutcomeTLSError {
		t.Errorf("unknown authority: %v", err)
	}
}

func TestConnectErrorsNameNoAddress(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	env.dns.set("down.example", []string{"93.184.216.50"}) // no fixture: the dial fails
	s := env.session(t, nil)
	_, err := get(t, s, "http://down.example/")
	if OutcomeOf(err) != OutcomeConnectError || strings.Contains(err.Error(), "93.184") {
		t.Errorf("unreachable: %v", err)
	}
	_, err = get(t, s, "http://nxdomain.example/")
	if OutcomeOf(err) != OutcomeConnectError || !strings.Contains(err.Error(), "could not resolve 'nxdomain.example'") {
		t.Errorf("unknown name: %v", err)
	}
}

// SB-58 (broker layer): the parent-side client used by the external MCP
// client refuses a source whose name resolves to a private or metadata
// address at call time.
func TestMCPClientRefusesPrivateAtCallTime(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Connection", "close") // every call dials anew
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0"}`)
	}))
	t.Cleanup(srv.Close)
	env.net.route("93.184.216.34:443", srv)
	env.dns.set("mcp.example.com", []string{"93.184.216.34"}, []string{"10.0.0.7"}, []string{"169.254.169.254"})
	allow, err := ParseHosts([]string{"mcp.example.com"}, "allowed_hosts")
	if err != nil {
		t.Fatal(err)
	}
	s := env.broker.NewSession(allow, SourceMCP, Limits{RequestTimeout: MaxToolRequestTimeout})
	defer s.Close()
	c := s.Client()
	post := func() error {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://mcp.example.com:443/mcp", strings.NewReader("{}"))
		resp, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		return err
	}
	if err := post(); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if got, msg := blockedReason(post()); got != ReasonPrivateAddress {
		t.Errorf("private answer: %q (%s)", got, msg)
	}
	if got, msg := blockedReason(post()); got != ReasonAlwaysBlocked {
		t.Errorf("metadata answer: %q (%s)", got, msg)
	}
	if got := testutil.ToFloat64(env.broker.metrics.requests.WithLabelValues("mcp", "blocked")); got != 2 {
		t.Errorf("requests{mcp,blocked} = %v, want 2", got)
	}
}

// A refusal is logged at debug level with host:port and reason only: never
// the URL's path or query, which can hold tokens (sandbox.md §15.2).
func TestRefusalLogLine(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := New(Config{}, prometheus.NewRegistry(), log, WithResolver(newFakeResolver()))
	if err != nil {
		t.Fatal(err)
	}
	s := b.NewSession(AnyPublic(), SourceFetch, FetchLimits(MaxToolRequestTimeout))
	defer s.Close()
	_, _ = get(t, s, "http://127.0.0.1:8080/secret-path?token=abcdef")
	line := buf.String()
	for _, want := range []string{`"msg":"egress refused"`, `"host":"127.0.0.1:8080"`, `"reason":"always_blocked"`, `"kind":"fetch"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %s", line, want)
		}
	}
	if strings.Contains(line, "secret-path") || strings.Contains(line, "abcdef") {
		t.Errorf("log %q holds the URL path or query", line)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
