package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestEDGE61to63_Preflight(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	// EDGE-61
	r := e.Do(t, http.MethodOptions, "/mcp", "", "Origin", "https://claude.ai", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type")
	if r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://claude.ai" ||
		!strings.Contains(r.Header.Get("Vary"), "Origin") || r.Header.Get("Access-Control-Max-Age") != "7200" ||
		r.Header.Get("Access-Control-Allow-Methods") != "GET, POST, DELETE, OPTIONS" {
		t.Errorf("EDGE-61: %d %v", r.Status, r.Header)
	}
	allowed := r.Header.Get("Access-Control-Allow-Headers")
	for _, h := range []string{"Authorization", "Content-Type", "Accept", "Mcp-Session-Id", "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name", "Last-Event-ID"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("EDGE-61: %s not allowed in %q", h, allowed)
		}
	}
	// EDGE-62
	r = e.Do(t, http.MethodOptions, "/mcp", "", "Origin", "https://claude.ai", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "Mcp-Param-Region, X-MCPbox-User-Email")
	if a := r.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(strings.ToLower(a), "mcp-param-region") ||
		strings.Contains(strings.ToLower(a), "x-mcpbox") {
		t.Errorf("EDGE-62: %q", a)
	}
	// EDGE-63
	for _, o := range []string{"https://evil.example", "null"} {
		r := e.Do(t, http.MethodOptions, "/mcp", "", "Origin", o, "Access-Control-Request-Method", "POST")
		if r.Status != 204 {
			t.Errorf("EDGE-63 %s: %d", o, r.Status)
		}
		for name := range r.Header {
			if strings.HasPrefix(name, "Access-Control-") {
				t.Errorf("EDGE-63 %s: %s set", o, name)
			}
		}
	}
	if e.GW.Count() != 0 {
		t.Error("a preflight reached the gateway")
	}
}

func TestEDGE64_OriginEnforced(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	tok := e.Token("alice", nil)
	wantJSONError(t, e.Post(t, tok, "Origin", "https://evil.example"), 403, "origin_not_allowed")
	if e.GW.Count() != 0 {
		t.Fatal("a disallowed origin reached the gateway")
	}
	if r := e.Post(t, tok); r.Status != 200 {
		t.Errorf("no Origin: %d", r.Status)
	}
	r := e.Post(t, tok, "Origin", "https://app.example.test")
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.test" ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id") {
		t.Errorf("allowed origin: %d %v", r.Status, r.Header)
	}
}

func TestEDGE65_CORSOnEveryAnswer(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_MAX_BODY": "1KiB"})
	e.GW.Handle(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.WriteHeader(http.StatusBadGateway)
	})
	o := "https://claude.ai"
	tok := e.Token("alice", nil)
	answers := map[string]response{
		"401": e.Post(t, "", "Origin", o),
		"413": e.Do(t, http.MethodPost, "/mcp", strings.Repeat("x", 2048), "Authorization", "Bearer "+tok, "Origin", o),
		"502": e.Post(t, tok, "Origin", o),
	}
	for name, r := range answers {
		if r.Header.Get("Access-Control-Allow-Origin") != o || r.Header.Get("Access-Control-Allow-Credentials") != "" ||
			!strings.Contains(r.Header.Get("Vary"), "Origin") {
			t.Errorf("%s: %d %v", name, r.Status, r.Header)
		}
	}
}

func TestEDGE66_CORSConfigRefused(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"*", "https://a.example/path", "https://*.example"} {
		logs, err := runOnce(t, map[string]string{"MCPBOX_EDGE_CORS_ORIGINS": v})
		if err == nil || !strings.Contains(logs+err.Error(), "MCPBOX_EDGE_CORS_ORIGINS") {
			t.Errorf("%q: err %v", v, err)
		}
	}
}
