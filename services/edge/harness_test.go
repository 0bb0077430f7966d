package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
	"github.com/mcpbox/mcpbox/services/edge/internal/testissuer"
)

// The acceptance harness of edge.md §19: the real edge (run, in process) on
// loopback listeners, the in-module test issuer, and a fake gateway that
// records every request and can stream, stall or fail.

// publicURL is the configured public origin of every harness edge.
const publicURL = "https://mcp.example.test"

// resource is the default protected resource (and audience).
const resource = publicURL + "/mcp"

// serviceToken is MCPBOX_GATEWAY_TOKEN of every harness edge.
const serviceToken = "e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312"

// recorded is one request the fake gateway received.
type recorded struct {
	Method, RequestURI, RawQuery, Host string
	Header                             http.Header
	Body                               []byte
}

// fakeGateway records requests; by default it answers 200 with a small
// JSON-RPC result and echoes X-Request-Id, Mcp-Session-Id and
// MCP-Protocol-Version.
type fakeGateway struct {
	srv *httptest.Server

	mu      sync.Mutex
	reqs    []recorded
	handler http.HandlerFunc
}

func newFakeGateway(t testing.TB) *fakeGateway {
	t.Helper()
	g := &fakeGateway{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.reqs = append(g.reqs, recorded{
			Method: r.Method, RequestURI: r.RequestURI, RawQuery: r.URL.RawQuery, Host: r.Host,
			Header: r.Header.Clone(), Body: body,
		})
		h := g.handler
		g.mu.Unlock()
		if h != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Mcp-Session-Id", "session-1")
		w.Header().Set("MCP-Protocol-Version", "2025-11-25")
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// Handle replaces the default answer.
func (g *fakeGateway) Handle(h http.HandlerFunc) {
	g.mu.Lock()
	g.handler = h
	g.mu.Unlock()
}

// Requests returns a copy of what the gateway received.
func (g *fakeGateway) Requests() []recorded {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]recorded(nil), g.reqs...)
}

// Count is the number of requests received.
func (g *fakeGateway) Count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reqs)
}

// Last returns the last request received (fails the test if none).
func (g *fakeGateway) Last(t testing.TB) recorded {
	t.Helper()
	r := g.Requests()
	if len(r) == 0 {
		t.Fatal("the gateway received no request")
	}
	return r[len(r)-1]
}

// testEdge is a running edge with its issuer and gateway.
type testEdge struct {
	Public, Admin string // base URLs
	PublicAddr    string
	GW            *fakeGateway
	IDP           *testissuer.Issuer
	Svc           *lifecycletest.Service
}

// startEdge runs the edge in dev mode with insecure (http) issuer URLs on
// loopback, PUBLIC_URL https://mcp.example.test, generous limits unless env
// overrides them, and waits until /readyz is 200 (keys loaded) unless
// MCPBOX_TEST_NO_WAIT is set in env.
func startEdge(t testing.TB, env map[string]string) *testEdge {
	t.Helper()
	e := &testEdge{GW: newFakeGateway(t), IDP: testissuer.New(t, testissuer.Options{})}
	vars := map[string]string{
		"MCPBOX_MODE":                       "dev",
		"MCPBOX_EDGE_INSECURE_DEV":          "true",
		"MCPBOX_GATEWAY_TOKEN":              serviceToken,
		"MCPBOX_EDGE_PUBLIC_URL":            publicURL,
		"MCPBOX_EDGE_ISSUER":                e.IDP.URL,
		"MCPBOX_EDGE_UPSTREAM_URL":          e.GW.srv.URL,
		"MCPBOX_EDGE_LISTEN":                "127.0.0.1:0",
		"MCPBOX_EDGE_ADMIN_LISTEN":          "127.0.0.1:0",
		"MCPBOX_EDGE_CORS_ORIGINS":          "https://claude.ai,https://app.example.test",
		"MCPBOX_EDGE_IP_RPS":                "10000",
		"MCPBOX_EDGE_IP_BURST":              "10000",
		"MCPBOX_EDGE_SUBJECT_RPS":           "10000",
		"MCPBOX_EDGE_SUBJECT_BURST":         "10000",
		"MCPBOX_EDGE_AUTH_FAILURES_PER_MIN": "10000",
		"MCPBOX_SHUTDOWN_DELAY":             "0s",
		"MCPBOX_LOG_LEVEL":                  "debug",
	}
	wait := true
	for k, v := range env {
		if k == "MCPBOX_TEST_NO_WAIT" {
			wait = false
			continue
		}
		vars[k] = v
	}
	e.Svc = lifecycletest.Start(t, run, nil, vars)
	suite.addLogs(e.Svc.Logs)
	e.PublicAddr = e.Svc.Logs.WaitListening(t, "public")
	e.Public = "http://" + e.PublicAddr
	e.Admin = "http://" + e.Svc.Logs.WaitListening(t, "admin")
	if wait {
		e.waitReady(t)
	}
	return e
}

// waitReady polls /readyz until 200 (at most 10 s).
func (e *testEdge) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(e.Admin + "/readyz") //nolint:noctx // test poll
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge not ready after 10 s (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Token mints a valid token for sub (aud = the resource), edited by edit.
func (e *testEdge) Token(sub string, edit func(map[string]any)) string {
	c := e.IDP.Claims(sub, resource)
	if edit != nil {
		edit(c)
	}
	tok := e.IDP.Token(c)
	suite.addToken(tok)
	return tok
}

// response is a finished public response.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends method to the public listener's path with headers (name, value
// pairs; a repeated name adds a value) and body.
func (e *testEdge) Do(t testing.TB, method, path, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.Public+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Post sends a JSON-RPC POST /mcp with the bearer token (none when "").
func (e *testEdge) Post(t testing.TB, token string, header ...string) response {
	t.Helper()
	h := []string{"Content-Type", "application/json", "Accept", "application/json, text/event-stream"}
	if token != "" {
		h = append(h, "Authorization", "Bearer "+token)
	}
	return e.Do(t, http.MethodPost, "/mcp", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, append(h, header...)...)
}

var noRedirect = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Raw writes a raw HTTP/1.1 request (target and header lines verbatim, so
// Go's client cannot normalise it) and returns the parsed response.
func (e *testEdge) Raw(t testing.TB, method, target string, headerLines ...string) response {
	t.Helper()
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", e.PublicAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	hasHost := false
	for _, l := range headerLines {
		hasHost = hasHost || strings.HasPrefix(strings.ToLower(l), "host:")
	}
	if !hasHost {
		b.WriteString("Host: mcp.example.test\r\n")
	}
	for _, l := range headerLines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// Metrics scrapes the admin listener.
func (e *testEdge) Metrics(t testing.TB) map[string]*dto {
	t.Helper()
	resp, err := http.Get(e.Admin + "/metrics") //nolint:noctx // test scrape
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto{}
	for name, f := range fams {
		d := &dto{}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			d.samples = append(d.samples, sample{labels: labels, value: v})
		}
		out[name] = d
	}
	return out
}

// dto is one metric family's samples.
type dto struct{ samples []sample }

type sample struct {
	labels map[string]string
	value  float64
}

// Sum adds the samples whose labels include want (histograms: counts).
func (d *dto) Sum(want map[string]string) float64 {
	if d == nil {
		return 0
	}
	var s float64
	for _, x := range d.samples {
		match := true
		for k, v := range want {
			if x.labels[k] != v {
				match = false
				break
			}
		}
		if match {
			s += x.value
		}
	}
	return s
}

// Labels returns every label set of the family.
func (d *dto) Labels() []map[string]string {
	if d == nil {
		return nil
	}
	out := make([]map[string]string, 0, len(d.samples))
	for _, x := range d.samples {
		out = append(out, maps.Clone(x.labels))
	}
	return out
}

// metricValue is a shortcut: the sum of name's samples matching labels
// (pairs).
func (e *testEdge) metricValue(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	return e.Metrics(t)[name].Sum(want)
}

// suite collects every edge's logs and every token minted, for EDGE-84's
// check over the whole suite (TestMain).
var suite = &suiteRecord{}

type suiteRecord struct {
	mu     sync.Mutex
	logs   []*lifecycletest.Logs
	tokens []string
}

func (s *suiteRecord) addLogs(l *lifecycletest.Logs) {
	s.mu.Lock()
	s.logs = append(s.logs, l)
	s.mu.Unlock()
}

func (s *suiteRecord) addToken(tok string) {
	s.mu.Lock()
	s.tokens = append(s.tokens, tok)
	s.mu.Unlock()
}

// leaks reports the first secret found in any captured log: a 16-byte
// window of any token, the service token, an Authorization or Cookie value.
func (s *suiteRecord) leaks() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all strings.Builder
	for _, l := range s.logs {
		all.WriteString(l.String())
	}
	logs := all.String()
	if strings.Contains(logs, serviceToken) {
		return "the service token"
	}
	for _, marker := range []string{"Bearer ", "cookie-secret-value", "query-secret-value"} {
		if strings.Contains(logs, marker) {
			return fmt.Sprintf("%q", marker)
		}
	}
	windows := map[string]bool{}
	for _, tok := range s.tokens {
		for i := 0; i+16 <= len(tok); i++ {
			windows[tok[i:i+16]] = true
		}
	}
	for i := 0; i+16 <= len(logs); i++ {
		if windows[logs[i:i+16]] {
			return "a token fragment " + logs[i:i+16]
		}
	}
	return ""
}

// waitMetric polls until the sum of name's samples matching labels (pairs)
// equals want, for the metrics the edge records after the response has
// left (requests_total, request_duration_seconds); it fails after 5 s.
func (e *testEdge) waitMetric(t testing.TB, want float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.metricValue(t, name, labels...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
