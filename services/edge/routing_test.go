package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// wantJSONError checks an edge-written error: status, JSON body with the
// code, no-store, nosniff and a request id.
func wantJSONError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d (body %s)", r.Status, status, r.Body)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("body is not JSON: %q", r.Body)
	}
	if body["error"] != code || body["error_description"] == "" || len(body) != 2 {
		t.Errorf("body %v, want error %q with a description", body, code)
	}
	if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" ||
		r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("X-Request-Id") == "" {
		t.Errorf("headers %v", r.Header)
	}
}

func TestEDGE1_Health(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	r := e.Do(t, http.MethodGet, "/health", "")
	if r.Status != 200 || strings.TrimSpace(r.Body) != `{"status":"ok"}` ||
		r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /health: %d %v %q", r.Status, r.Header, r.Body)
	}
	h := e.Do(t, http.MethodHead, "/health", "")
	if h.Status != 200 || h.Body != "" {
		t.Errorf("HEAD /health: %d %q", h.Status, h.Body)
	}
	if n := e.GW.Count(); n != 0 {
		t.Errorf("upstream called %d times", n)
	}
}

func TestEDGE2_HealthMethods(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	for _, m := range []string{http.MethodPost, http.MethodPut} {
		r := e.Do(t, m, "/health", "")
		wantJSONError(t, r, 405, "method_not_allowed")
		if got := r.Header.Get("Allow"); got != "GET, HEAD, OPTIONS" {
			t.Errorf("%s Allow %q", m, got)
		}
	}
}

func TestEDGE5_MCPMethods(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	tok := e.Token("alice", nil)
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		before := e.GW.Count()
		r := e.Do(t, m, "/mcp", "", "Authorization", "Bearer "+tok)
		if r.Status != 200 || e.GW.Count() != before+1 || e.GW.Last(t).Method != m {
			t.Errorf("%s /mcp: %d, upstream %d→%d", m, r.Status, before, e.GW.Count())
		}
	}
	before := e.GW.Count()
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodHead, "TRACE"} {
		r := e.Do(t, m, "/mcp", "", "Authorization", "Bearer "+tok)
		if r.Status != 405 || r.Header.Get("Allow") != "GET, POST, DELETE, OPTIONS" || r.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s /mcp: %d Allow %q WWW-Authenticate %q", m, r.Status, r.Header.Get("Allow"), r.Header.Get("WWW-Authenticate"))
		}
	}
	if e.GW.Count() != before {
		t.Errorf("refused methods reached the gateway")
	}
}

// TestEDGE6_PathTable runs every target of §4.2 raw, with and without a
// valid token.
func TestEDGE6_PathTable(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	tok := e.Token("alice", nil)
	notFound := []string{
		"/mcp/", "//mcp", "/MCP", "/Mcp", "/mcp;a=b", "/mcp/health",
		"/mcp/../x", "/x/../mcp", "/./mcp", "/mcp/.",
		"/%2e%2e/mcp", "/%2E%2E/x", "/%6Dcp", "/mcp%2f", "/mcp%2F..%2Fx", "/mcp%00",
		`/mcp\..\x`, "/mcp%5c", "/health/", "/health/x", "/healthz",
		"/.well-known/oauth-protected-resource/",
	}
	for _, target := range notFound {
		for _, auth := range []string{"", "Authorization: Bearer " + tok} {
			lines := []string{"Content-Length: 0"}
			if auth != "" {
				lines = append(lines, auth)
			}
			r := e.Raw(t, http.MethodPost, target, lines...)
			if r.Status == 400 {
				continue // Go's parser refused it first (§4.2)
			}
			wantJSONError(t, r, 404, "not_found")
			if r.Header.Get("WWW-Authenticate") != "" {
				t.Errorf("%s: challenge on a 404", target)
			}
		}
	}
	for _, target := range []string{"/mcp", "/mcp?x=1&y=%2F", "http://other.example/mcp"} {
		r := e.Raw(t, http.MethodPost, target, "Authorization: Bearer "+tok, "Content-Length: 0")
		if r.Status != 200 {
			t.Errorf("%s: %d %s", target, r.Status, r.Body)
		}
	}
	if got, want := e.GW.Count(), 3; got != want {
		t.Errorf("upstream got %d requests, want %d", got, want)
	}
}

func TestEDGE7_TraversalNeverUpstream(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	tok := e.Token("alice", nil)
	for _, target := range []string{"/mcp/../x", "/x/../mcp", "/%2e%2e/mcp", "/%6Dcp", "/mcp%2F..%2Fx", `/mcp\..\x`} {
		r := e.Raw(t, http.MethodGet, target, "Authorization: Bearer "+tok)
		if r.Status != 404 && r.Status != 400 {
			t.Errorf("%s: %d", target, r.Status)
		}
		if r.Status >= 300 && r.Status < 400 {
			t.Errorf("%s: redirect", target)
		}
	}
	if n := e.GW.Count(); n != 0 {
		t.Errorf("upstream called %d times", n)
	}
}

func TestEDGE8_AbsoluteForm(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	r := e.Raw(t, http.MethodPost, "http://evil.example/mcp", "Authorization: Bearer "+e.Token("alice", nil),
		"Content-Length: 0")
	if r.Status != 200 {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
	got := e.GW.Last(t)
	if got.Host != strings.TrimPrefix(e.GW.srv.URL, "http://") {
		t.Errorf("upstream Host %q", got.Host)
	}
	if xfh := got.Header.Get("X-Forwarded-Host"); xfh != "mcp.example.test" {
		t.Errorf("X-Forwarded-Host %q", xfh)
	}
}

func TestEDGE9_NoOtherRoutes(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	for _, p := range []string{
		"/authorize", "/token", "/register", "/callback",
		"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration",
	} {
		wantJSONError(t, e.Do(t, http.MethodGet, p, ""), 404, "not_found")
	}
	wantJSONError(t, e.Do(t, http.MethodPost, "/", "{}", "Authorization", "Bearer "+e.Token("alice", nil)), 404, "not_found")
	wantJSONError(t, e.Raw(t, http.MethodOptions, "*"), 404, "not_found")
	wantJSONError(t, e.Do(t, http.MethodOptions, "/api/x", "", "Origin", "https://claude.ai"), 404, "not_found")
	if n := e.GW.Count(); n != 0 {
		t.Errorf("upstream called %d times", n)
	}
}

func TestEDGE10_OpsOnlyOnAdmin(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	for _, p := range []string{"/metrics", "/readyz", "/healthz"} {
		wantJSONError(t, e.Do(t, http.MethodGet, p, ""), 404, "not_found")
		resp, err := http.Get(e.Admin + p) //nolint:noctx // test
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("admin %s: %d", p, resp.StatusCode)
		}
	}
}
