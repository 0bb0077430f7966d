package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/proto/lifecycle"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// prodEnv is a valid production configuration (nothing is contacted: the
// runs using it must fail at configuration).
func prodEnv() map[string]string {
	return map[string]string{
		"MCPBOX_GATEWAY_TOKEN":     serviceToken,
		"MCPBOX_EDGE_PUBLIC_URL":   publicURL,
		"MCPBOX_EDGE_ISSUER":       "https://idp.example.test",
		"MCPBOX_EDGE_LISTEN":       "127.0.0.1:0",
		"MCPBOX_EDGE_ADMIN_LISTEN": "127.0.0.1:0",
	}
}

// runOnce runs the edge with prodEnv plus overrides ("" deletes) and
// returns its logs and error; it must end on its own (a refused start).
func runOnce(t testing.TB, overrides map[string]string) (string, error) {
	t.Helper()
	env := prodEnv()
	for k, v := range overrides {
		if v == "" {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	logs, err := lifecycletest.Run(t, run, nil, env)
	return logs.String(), err
}

func TestEDGE80_StartupRefused(t *testing.T) {
	t.Parallel()
	short := strings.Repeat("s", 31)
	cases := []struct {
		name      string
		overrides map[string]string
		variable  string
	}{
		{"missing token", map[string]string{"MCPBOX_GATEWAY_TOKEN": ""}, "MCPBOX_GATEWAY_TOKEN"},
		{"31-byte token", map[string]string{"MCPBOX_GATEWAY_TOKEN": short}, "MCPBOX_GATEWAY_TOKEN"},
		{"missing issuer", map[string]string{"MCPBOX_EDGE_ISSUER": ""}, "MCPBOX_EDGE_ISSUER"},
		{"public url path", map[string]string{"MCPBOX_EDGE_PUBLIC_URL": publicURL + "/x"}, "MCPBOX_EDGE_PUBLIC_URL"},
		{"public url http", map[string]string{"MCPBOX_EDGE_PUBLIC_URL": "http://mcp.example.test"}, "MCPBOX_EDGE_PUBLIC_URL"},
		{"same port", map[string]string{"MCPBOX_EDGE_LISTEN": "127.0.0.1:18080", "MCPBOX_EDGE_ADMIN_LISTEN": "127.0.0.1:18080"}, "MCPBOX_EDGE_ADMIN_LISTEN"},
		{"cert without key", map[string]string{"MCPBOX_EDGE_TLS_CERT_FILE": "/tls/cert.pem"}, "MCPBOX_EDGE_TLS_KEY_FILE"},
		{"insecure off loopback", map[string]string{
			"MCPBOX_MODE": "dev", "MCPBOX_EDGE_INSECURE_DEV": "true", "MCPBOX_EDGE_LISTEN": "0.0.0.0:18081",
		}, "MCPBOX_EDGE_INSECURE_DEV"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs, err := runOnce(t, tc.overrides)
			var cfgErr *envcfg.Error
			if !errors.As(err, &cfgErr) || lifecycle.ExitCode(err) == 0 {
				t.Fatalf("err %v, want a configuration error with a non-zero exit", err)
			}
			if !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("error %q does not name %s", err, tc.variable)
			}
			if strings.Contains(err.Error()+logs, short) || strings.Contains(err.Error()+logs, serviceToken) {
				t.Error("a secret was echoed")
			}
		})
	}
}

func TestEDGE86_AudienceOrigin(t *testing.T) {
	t.Parallel()
	for _, aud := range []string{
		"https://other.example/mcp", "https://mcp.example.test.evil.example/mcp",
		"http://mcp.example.test/mcp", "https://mcp.example.test:8443/mcp",
	} {
		_, err := runOnce(t, map[string]string{"MCPBOX_EDGE_AUDIENCES": aud})
		if err == nil || lifecycle.ExitCode(err) == 0 || !strings.Contains(err.Error(), "MCPBOX_EDGE_AUDIENCES") ||
			!strings.Contains(err.Error(), "must be MCPBOX_EDGE_PUBLIC_URL or a URL under it") {
			t.Errorf("%s: %v", aud, err)
		}
	}
	for _, aud := range []string{"https://mcp.example.test", "https://mcp.example.test/mcp"} {
		e := startEdge(t, map[string]string{
			"MCPBOX_MODE": "prod", "MCPBOX_EDGE_INSECURE_DEV": "", "MCPBOX_EDGE_AUDIENCES": aud,
			"MCPBOX_EDGE_ISSUER": "https://idp.example.test", "MCPBOX_TEST_NO_WAIT": "1",
		})
		if r := e.Do(t, http.MethodGet, "/health", ""); r.Status != 200 {
			t.Errorf("%s: edge not serving (%d)", aud, r.Status)
		}
	}
	// Dev mode: a foreign audience is a warning.
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_AUDIENCES": "https://other.example/mcp"})
	if !strings.Contains(e.Svc.Logs.String(), "MCPBOX_EDGE_AUDIENCES") {
		t.Error("dev mode: no warning naming MCPBOX_EDGE_AUDIENCES")
	}
}

// TestEDGE81_GracefulShutdown: SIGTERM (the run context ends) turns
// /readyz and /health to 503 at once, keeps serving through the delay,
// lets a 3-s call finish, ends an open stream cleanly and exits 0.
func TestEDGE81_GracefulShutdown(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_SHUTDOWN_DELAY": "1s", "MCPBOX_SHUTDOWN_TIMEOUT": "10s"})
	streamOpen := make(chan struct{})
	e.GW.Handle(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, ": open\n\n")
			w.(http.Flusher).Flush()
			close(streamOpen)
			<-r.Context().Done()
			return
		}
		time.Sleep(3 * time.Second)
		_, _ = io.WriteString(w, `{"done":true}`)
	})
	tok := e.Token("alice", nil)

	// The open stream.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.Public+"/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.Body.Close() }()
	<-streamOpen
	streamEnd := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, stream.Body)
		streamEnd <- err
	}()

	// The slow call, started before the signal.
	var wg sync.WaitGroup
	var slow response
	wg.Go(func() { slow = e.Post(t, tok) })
	time.Sleep(200 * time.Millisecond)

	stopped := make(chan error, 1)
	go func() { stopped <- e.Svc.Stop() }()
	deadline := time.Now().Add(900 * time.Millisecond)
	for {
		resp, err := http.Get(e.Admin + "/readyz") //nolint:noctx // test
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not turn 503 at once")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := e.Do(t, http.MethodGet, "/health", ""); r.Status != 503 || !strings.Contains(r.Body, "draining") {
		t.Errorf("/health while draining: %d %s", r.Status, r.Body)
	}
	// Within the delay, requests are still served.
	e.GW.Handle(nil)
	if r := e.Post(t, tok); r.Status != 200 {
		t.Errorf("request during the delay: %d", r.Status)
	}
	wg.Wait()
	if slow.Status != 200 || slow.Body != `{"done":true}` {
		t.Errorf("the 3-s call: %d %q", slow.Status, slow.Body)
	}
	select {
	case err := <-streamEnd:
		if err != nil {
			t.Errorf("the stream did not end cleanly: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream was not ended")
	}
	if err := <-stopped; err != nil {
		t.Fatalf("exit: %v", err)
	}
	if c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", e.PublicAddr); err == nil {
		_ = c.Close()
		t.Error("new connections still accepted after shutdown")
	}
}

func TestEDGE81_DrainTimeoutCancels(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_SHUTDOWN_TIMEOUT": "1s"})
	cancelled := make(chan struct{})
	started := make(chan struct{})
	e.GW.Handle(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(20 * time.Second):
		}
	})
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.Public+"/mcp", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+e.Token("alice", nil))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-started
	if err := e.Svc.Stop(); err != nil {
		t.Fatalf("exit: %v (a cut call is the designed end of a drain)", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
}

// TestEDGE83_84_MetricsAndLogs runs every outcome once and checks the
// counters, the label sets, and that no secret reached the logs.
func TestEDGE83_84_MetricsAndLogs(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_MAX_BODY": "1KiB"})
	email := "carol@example.com"
	tok := e.Token("carol-subject", func(c map[string]any) { c["email"] = email })
	expired := e.Token("carol-subject", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })

	e.Post(t, tok)                                            // proxied
	e.Post(t, tok, "Cookie", "session=cookie-secret-value")   // proxied
	e.Do(t, http.MethodPost, "/mcp?q=query-secret-value", "") // unauthorized (no token)
	e.Post(t, expired)                                        // unauthorized
	e.Post(t, tok, "Origin", "https://evil.example")          // forbidden
	e.Do(t, http.MethodGet, "/nope/"+strings.Repeat("p", 100), "")
	e.Do(t, http.MethodPut, "/mcp", "")                                                         // method_not_allowed
	e.Do(t, http.MethodPost, "/mcp", strings.Repeat("x", 2048), "Authorization", "Bearer "+tok) // too_large
	e.Do(t, http.MethodGet, "/health", "")                                                      // ok
	e.Do(t, http.MethodOptions, "/mcp", "", "Origin", "https://claude.ai")                      // preflight

	e.waitMetric(t, 10, "mcpbox_edge_requests_total") // recorded as each response ends
	m := e.Metrics(t)
	want := map[[2]string]float64{
		{"mcp", "proxied"}: 2, {"mcp", "unauthorized"}: 2, {"mcp", "forbidden"}: 1, {"unknown", "not_found"}: 1,
		{"mcp", "method_not_allowed"}: 1, {"mcp", "too_large"}: 1, {"health", "ok"}: 1, {"preflight", "ok"}: 1,
	}
	for k, v := range want {
		if got := m["mcpbox_edge_requests_total"].Sum(map[string]string{"route": k[0], "outcome": k[1]}); got != v {
			t.Errorf("requests_total{route=%s,outcome=%s} = %v, want %v", k[0], k[1], got, v)
		}
	}
	if got := m["mcpbox_edge_upstream_duration_seconds"].Sum(map[string]string{"phase": "headers"}); got != 2 {
		t.Errorf("upstream histogram count %v, want 2 (the proxied requests)", got)
	}
	fixed := map[string][]string{
		"route":   {"mcp", "health", "metadata", "preflight", "unknown"},
		"outcome": {"proxied", "unauthorized", "forbidden", "rate_limited", "not_found", "method_not_allowed", "too_large", "timeout", "upstream_error", "unavailable", "ok"},
		"method":  {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"},
	}
	for name, fam := range m {
		if !strings.HasPrefix(name, "mcpbox_edge_") {
			continue
		}
		for _, labels := range fam.Labels() {
			for k, v := range labels {
				if set, ok := fixed[k]; ok && !slices.Contains(set, v) {
					t.Errorf("%s{%s=%q}: not in the fixed set", name, k, v)
				}
				if strings.Contains(v, "carol") || strings.Contains(v, "127.0.0.1") || strings.Contains(v, "nope") {
					t.Errorf("%s{%s=%q}: holds a subject, IP or path", name, k, v)
				}
			}
		}
	}

	// EDGE-84: no token fragment, cookie, service token, email or query.
	logs := e.Svc.Logs.String()
	for _, secret := range []string{"cookie-secret-value", serviceToken, email, "query-secret-value", "carol-subject"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	for _, token := range []string{tok, expired} {
		for i := 0; i+16 <= len(token); i += 8 {
			if strings.Contains(logs, token[i:i+16]) {
				t.Fatalf("logs contain a 16-byte window of a token at %d", i)
			}
		}
	}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Authorization") || strings.Contains(sc.Text(), "Bearer") {
			t.Errorf("log line mentions a credential header: %s", sc.Text())
		}
	}
}
