package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientFrom returns an HTTP client whose connections come from the given
// loopback address (127.0.0.0/8 is all local on Linux).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

func (e *testEdge) postFrom(t testing.TB, c *http.Client, token string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.Public+"/mcp", strings.NewReader("{}"))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestEDGE71_BodyCap(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_MAX_BODY": "4KiB"})
	tok := e.Token("alice", nil)
	r := e.Raw(t, http.MethodPost, "/mcp", "Authorization: Bearer "+tok, "Content-Length: 4097")
	wantJSONError(t, r, 413, "request_too_large")
	if e.GW.Count() != 0 {
		t.Fatal("an oversized body reached the gateway")
	}
	body := strings.Repeat("b", 4096)
	if r := e.Do(t, http.MethodPost, "/mcp", body, "Authorization", "Bearer "+tok); r.Status != 200 {
		t.Fatalf("MAX_BODY bytes: %d", r.Status)
	}
	if got := e.GW.Last(t).Body; sha256.Sum256(got) != sha256.Sum256([]byte(body)) {
		t.Error("the body arrived altered")
	}
}

func TestEDGE73_ContentLengthWithChunked(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	c, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", e.PublicAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_, _ = io.WriteString(c, "POST /mcp HTTP/1.1\r\nHost: mcp.example.test\r\nAuthorization: Bearer "+e.Token("alice", nil)+
		"\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufioReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if e.GW.Count() != 0 {
		t.Error("the gateway was called")
	}
}

func TestEDGE74_GatewayRefuses(t *testing.T) {
	t.Parallel()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	_ = l.Close()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_UPSTREAM_URL": closed})
	r := e.Post(t, e.Token("alice", nil))
	wantJSONError(t, r, 502, "upstream_unavailable")
	if got := e.metricValue(t, "mcpbox_edge_upstream_errors_total", "kind", "dial"); got != 1 {
		t.Errorf("dial errors %v", got)
	}
	e.waitMetric(t, 1, "mcpbox_edge_requests_total", "route", "mcp", "outcome", "upstream_error")
}

func TestEDGE76_PerIPLimit(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_IP_RPS": "1", "MCPBOX_EDGE_IP_BURST": "5"})
	a := clientFrom("127.0.0.1")
	var last *http.Response
	for range 6 {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.Public+"/health", nil)
		resp, err := a.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		last = resp
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("burst+1: %d", last.StatusCode)
	}
	if n, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After %q", last.Header.Get("Retry-After"))
	}
	if b, _ := io.ReadAll(last.Body); !strings.Contains(string(b), `"error":"rate_limited"`) {
		t.Errorf("body %s", b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.Public+"/health", nil)
	resp, err := clientFrom("127.0.0.2").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("another IP: %d", resp.StatusCode)
	}
}

func TestEDGE77_PerSubjectLimit(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_SUBJECT_RPS": "1", "MCPBOX_EDGE_SUBJECT_BURST": "2"})
	alice, bob := e.Token("alice", nil), e.Token("bob", nil)
	a, b := clientFrom("127.0.0.3"), clientFrom("127.0.0.4")
	if e.postFrom(t, a, alice) != 200 || e.postFrom(t, b, alice) != 200 {
		t.Fatal("the first two requests of alice were refused")
	}
	if got := e.postFrom(t, a, alice); got != 429 {
		t.Errorf("alice's third request from either IP: %d, want 429 (one bucket)", got)
	}
	if got := e.postFrom(t, a, bob); got != 200 {
		t.Errorf("bob: %d (subjects do not share a bucket)", got)
	}
}

func TestEDGE78_AuthFailureLockout(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_AUTH_FAILURES_PER_MIN": "30"})
	a := clientFrom("127.0.0.5")
	for i := range 30 {
		if got := e.postFrom(t, a, "bad.token.here"); got != 401 {
			t.Fatalf("failure %d: %d", i, got)
		}
	}
	tok := e.Token("alice", nil)
	if got := e.postFrom(t, a, tok); got != 429 {
		t.Errorf("valid token after 30 failures: %d, want 429", got)
	}
	if got := e.postFrom(t, clientFrom("127.0.0.6"), tok); got != 200 {
		t.Errorf("another IP: %d", got)
	}
	if got := e.metricValue(t, "mcpbox_edge_rate_limited_total", "limiter", "auth_failures"); got != 1 {
		t.Errorf("auth_failures counted %v", got)
	}
}

func TestEDGE79_StreamsPerSubject(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	e.GW.Handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	tok := e.Token("alice", nil)
	// open starts a GET stream; every response is closed when the test ends
	// (closing one twice is harmless).
	open := func() *http.Response {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.Public+"/mcp", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := clientFrom("127.0.0.7").Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	var streams []*http.Response
	for i := range 8 {
		if resp := open(); resp.StatusCode != http.StatusOK { //nolint:bodyclose // open closes every response at cleanup
			t.Fatalf("stream %d: %d", i, resp.StatusCode)
		} else {
			streams = append(streams, resp) //nolint:bodyclose // open closes every response at cleanup
		}
	}
	if resp := open(); resp.StatusCode != http.StatusTooManyRequests { //nolint:bodyclose // open closes every response at cleanup
		t.Fatalf("9th stream: %d", resp.StatusCode)
	}
	_ = streams[0].Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := open()
		if resp.StatusCode == http.StatusOK {
			break
		}
		_ = resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("closing a stream did not free a slot")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
