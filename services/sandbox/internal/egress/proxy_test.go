package egress

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// proxyChildEnv makes the test binary run proxyChild instead of the tests.
const proxyChildEnv = "MCPBOX_EGRESS_TEST_PROXY_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(proxyChildEnv) == "1" {
		if err := proxyChild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSB56_ProxyVariablesIgnored runs a child process whose environment
// sets HTTP_PROXY, HTTPS_PROXY and ALL_PROXY (upper and lower case) to a
// proxy fixture. In the child, a plain transport honouring the variables
// does reach the proxy (so the environment is live), while the broker's
// request dials directly through the guard.
func TestSB56_ProxyVariablesIgnored(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "via-proxy")
	}))
	t.Cleanup(proxy.Close)
	env := []string{proxyChildEnv + "=1"}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD", proxyChildEnv:
			continue
		}
		env = append(env, kv)
	}
	for _, name := range []string{"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"} {
		env = append(env, name+"="+proxy.URL)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("proxy fixture saw %d requests, want exactly the child's control request", n)
	}
}

// proxyChild runs in the child process of TestSB56_ProxyVariablesIgnored.
func proxyChild() error {
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "direct")
	}))
	defer direct.Close()

	// Control: the standard proxy-honouring transport goes to the proxy.
	control := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://api.example.com/", nil)
	if err != nil {
		return err
	}
	resp, err := control.Do(req)
	if err != nil {
		return fmt.Errorf("control request: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(body) != "via-proxy" {
		return fmt.Errorf("control request did not use the proxy: %q", body)
	}

	dns := newFakeResolver()
	dns.set("api.example.com", []string{"93.184.216.34"})
	fixtures := newFixtureNet()
	fixtures.route("93.184.216.34:80", direct)
	b, err := New(Config{}, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		WithResolver(dns), WithTestDial(fixtures.dial))
	if err != nil {
		return err
	}
	s := b.NewSession(AnyPublic(), SourceTool, ToolLimits())
	defer s.Close()
	if s.transport.Proxy != nil {
		return fmt.Errorf("the broker's transport has a proxy function")
	}
	r, err := s.Do(context.Background(), Request{Method: http.MethodGet, URL: "http://api.example.com/"})
	if err != nil {
		return fmt.Errorf("broker request: %w", err)
	}
	if string(r.Body) != "direct" {
		return fmt.Errorf("broker request answered %q, want direct", r.Body)
	}
	if d := fixtures.dials(); len(d) != 1 || d[0].String() != "93.184.216.34:80" {
		return fmt.Errorf("broker dialled %v, want the checked address only", d)
	}
	return nil
}
