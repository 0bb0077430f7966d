package main

import (
	"crypto/sha256"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestEDGE3_ProxiedExchange(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"x":"é\u0000"}}`
	e.GW.Handle(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "kept")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"answer":true}`))
	})
	r := e.Do(t, http.MethodPost, "/mcp", body, "Authorization", "Bearer "+e.Token("alice", nil), "Content-Type", "application/json")
	if r.Status != 202 || r.Body != `{"answer":true}` || r.Header.Get("X-Upstream") != "kept" {
		t.Errorf("relayed: %d %v %q", r.Status, r.Header, r.Body)
	}
	got := e.GW.Last(t)
	if got.Method != http.MethodPost || got.RequestURI != "/mcp" || sha256.Sum256(got.Body) != sha256.Sum256([]byte(body)) {
		t.Errorf("upstream: %s %s %q", got.Method, got.RequestURI, got.Body)
	}
}

func TestEDGE4_RawQueryForwarded(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	r := e.Raw(t, http.MethodPost, "/mcp?a=1&b=%2F&c&d=%zz", "Authorization: Bearer "+e.Token("alice", nil), "Content-Length: 0")
	if r.Status != 200 {
		t.Fatalf("status %d", r.Status)
	}
	if got := e.GW.Last(t).RawQuery; got != "a=1&b=%2F&c&d=%zz" {
		t.Errorf("upstream raw query %q", got)
	}
}

func TestEDGE49_ServiceTokenOnlyUpstream(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	e.GW.Handle(func(w http.ResponseWriter, r *http.Request) {
		// A misbehaving gateway echoing its credential must not leak it
		// through headers the edge controls.
		w.Header().Set("X-MCPbox-Service-Token", r.Header.Get("X-MCPbox-Service-Token"))
		w.WriteHeader(http.StatusOK)
	})
	tok := e.Token("alice", nil)
	var all []response
	all = append(all, e.Post(t, tok), e.Post(t, ""), e.Do(t, http.MethodGet, "/health", ""),
		e.Do(t, http.MethodGet, "/nope", ""), e.Do(t, http.MethodGet, "/.well-known/oauth-protected-resource", ""))
	if got := e.GW.Last(t).Header.Get("X-MCPbox-Service-Token"); got != serviceToken {
		t.Errorf("upstream service token %q", got)
	}
	for _, r := range all {
		for name, vs := range r.Header {
			if strings.Contains(strings.Join(vs, ","), serviceToken) {
				t.Errorf("response header %s carries the service token", name)
			}
		}
		if strings.Contains(r.Body, serviceToken) {
			t.Error("a response body carries the service token")
		}
	}
}

func TestEDGE50_ClientIdentityHeadersReplaced(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	r := e.Post(t, e.Token("alice", func(c map[string]any) { c["email"] = "alice@example.com" }),
		"X-MCPbox-Service-Token", "forged", "X-MCPbox-User-Email", "mallory@example.com",
		"X-MCPbox-User-Sub", "mallory", "x-mcpbox-role", "admin", "X-MCPBOX-Bypass", "1")
	if r.Status != 200 {
		t.Fatal(r.Status)
	}
	h := e.GW.Last(t).Header
	if h.Get("X-MCPbox-Service-Token") != serviceToken || h.Get("X-MCPbox-User-Email") != "alice@example.com" ||
		h.Get("X-MCPbox-User-Sub") != "alice" || len(h.Values("X-MCPbox-User-Sub")) != 1 {
		t.Errorf("identity headers %v", h)
	}
	if h.Get("X-Mcpbox-Role") != "" || h.Get("X-Mcpbox-Bypass") != "" {
		t.Errorf("client X-MCPbox-* passed: %v", h)
	}
}

func TestEDGE51_ConnectionCannotRemoveTrusted(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	r := e.Raw(t, http.MethodPost, "/mcp", "Authorization: Bearer "+e.Token("alice", func(c map[string]any) { c["email"] = "alice@example.com" }),
		"Connection: X-MCPbox-User-Email, X-Foo", "X-Foo: bar", "Content-Length: 0")
	if r.Status != 200 {
		t.Fatal(r.Status)
	}
	h := e.GW.Last(t).Header
	if h.Get("X-Foo") != "" || h.Get("X-MCPbox-User-Email") != "alice@example.com" {
		t.Errorf("upstream %v", h)
	}
}

func TestEDGE52to54_EmailForwarding(t *testing.T) {
	t.Parallel()
	e := startEdge(t, map[string]string{"MCPBOX_EDGE_EMAIL_CLAIM": "https://mcpbox.example/email"})
	// EDGE-54: the namespaced claim is used, the plain one ignored.
	e.Post(t, e.Token("alice", func(c map[string]any) {
		c["https://mcpbox.example/email"] = "alice@example.com"
		c["email"] = "mallory@example.com"
	}))
	if got := e.GW.Last(t).Header.Get("X-MCPbox-User-Email"); got != "alice@example.com" {
		t.Errorf("EDGE-54: %q", got)
	}
	// EDGE-52: email_verified false → proxied with sub, without email.
	e.Post(t, e.Token("alice", func(c map[string]any) {
		c["https://mcpbox.example/email"] = "alice@example.com"
		c["email_verified"] = "false"
	}))
	if h := e.GW.Last(t).Header; h.Get("X-MCPbox-User-Email") != "" || h.Get("X-MCPbox-User-Sub") != "alice" {
		t.Errorf("EDGE-52: %v", h)
	}
	// EDGE-53: invalid email → header absent, counted.
	e.Post(t, e.Token("alice", func(c map[string]any) { c["https://mcpbox.example/email"] = "no-at-sign" }))
	if h := e.GW.Last(t).Header; h.Get("X-MCPbox-User-Email") != "" {
		t.Errorf("EDGE-53: %v", h)
	}
	if got := e.metricValue(t, "mcpbox_edge_email_withheld_total", "reason", "invalid"); got != 1 {
		t.Errorf("EDGE-53: invalid counted %v", got)
	}
}

func TestEDGE55_56_CredentialsAndHopByHop(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	e.GW.Handle(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Set-Cookie", "s=1")
		w.Header().Set("X-MCPbox-Internal", "x")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Trailer", "X-T")
		w.Header().Set("Upgrade", "h2c")
		w.WriteHeader(http.StatusOK)
	})
	r := e.Raw(t, http.MethodPost, "/mcp", "Authorization: Bearer "+e.Token("alice", nil),
		"Proxy-Authorization: Basic eA==", "Cookie: c=1", "Origin: https://claude.ai",
		"Keep-Alive: 300", "TE: trailers", "Upgrade: websocket", "Proxy-Connection: keep-alive", "Content-Length: 0")
	if r.Status != 200 {
		t.Fatalf("status %d (an Upgrade request is proxied as plain HTTP)", r.Status)
	}
	h := e.GW.Last(t).Header
	for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie", "Origin", "Keep-Alive", "Te", "Upgrade", "Proxy-Connection"} {
		if h.Get(name) != "" {
			t.Errorf("upstream got %s", name)
		}
	}
	for _, name := range []string{"Set-Cookie", "X-Mcpbox-Internal", "Keep-Alive", "Trailer", "Upgrade"} {
		if r.Header.Get(name) != "" {
			t.Errorf("client got %s", name)
		}
	}
}

func TestEDGE57_ForwardedFor(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	e.Post(t, e.Token("alice", nil), "X-Forwarded-For", "1.2.3.4", "Forwarded", "for=1.2.3.4",
		"X-Real-IP", "1.2.3.4", "CF-Connecting-IP", "1.2.3.4")
	h := e.GW.Last(t).Header
	if h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("Forwarded") != "" || h.Get("X-Real-Ip") != "" || h.Get("Cf-Connecting-Ip") != "" {
		t.Errorf("upstream %v", h)
	}
	if h.Get("X-Forwarded-Proto") != "https" || h.Get("X-Forwarded-Host") != "mcp.example.test" {
		t.Errorf("forwarded proto/host %v", h)
	}
	// Behind a trusted proxy, the right-most untrusted address.
	p := startEdge(t, map[string]string{"MCPBOX_EDGE_TRUSTED_PROXIES": "127.0.0.0/8,10.0.0.0/8"})
	p.Post(t, p.Token("alice", nil), "X-Forwarded-For", "9.9.9.9, 203.0.113.7, 10.1.2.3")
	if got := p.GW.Last(t).Header.Get("X-Forwarded-For"); got != "203.0.113.7" {
		t.Errorf("trusted proxy: X-Forwarded-For %q", got)
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestEDGE58_RequestID(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	r := e.Post(t, e.Token("alice", nil), "X-Request-Id", "client-id-123")
	id := r.Header.Get("X-Request-Id")
	if !uuidV4.MatchString(id) {
		t.Fatalf("response id %q", id)
	}
	if got := e.GW.Last(t).Header.Get("X-Request-Id"); got != id {
		t.Errorf("upstream id %q, response %q", got, id)
	}
	// The access line is written when the handler returns, which may be
	// just after the client has the response.
	found := false
	for deadline := time.Now().Add(5 * time.Second); !found && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, l := range e.Svc.Logs.Lines(t) {
			if l["msg"] == "request" && l["request_id"] == id {
				found = l["client_request_id"] == "client-id-123"
			}
		}
	}
	if !found {
		t.Error("no access line with the request id and client_request_id")
	}
}

func TestEDGE59_MCPHeadersPassThrough(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	in := map[string]string{
		"Mcp-Session-Id": "s-1", "MCP-Protocol-Version": "2025-11-25", "Mcp-Method": "tools/call", "Mcp-Name": "x",
		"Mcp-Param-Region": "eu", "Last-Event-ID": "42", "Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	}
	h := []string{}
	for k, v := range in {
		h = append(h, k, v)
	}
	r := e.Post(t, e.Token("alice", nil), h...)
	got := e.GW.Last(t).Header
	for k, v := range in {
		if got.Get(k) != v {
			t.Errorf("%s: upstream %q", k, got.Get(k))
		}
	}
	if r.Header.Get("Mcp-Session-Id") != "session-1" || r.Header.Get("MCP-Protocol-Version") != "2025-11-25" {
		t.Errorf("response %v", r.Header)
	}
}

func TestEDGE60_HeaderCaps(t *testing.T) {
	t.Parallel()
	e := startEdge(t, nil)
	r := e.Raw(t, http.MethodPost, "/mcp", "X-Big: "+strings.Repeat("a", 40<<10), "Content-Length: 0")
	if r.Status != 431 {
		t.Errorf("40 KiB of headers: %d", r.Status)
	}
	r = e.Raw(t, http.MethodPost, "/mcp", "Authorization: Bearer "+strings.Repeat("a", 9<<10), "Content-Length: 0")
	if r.Status != 401 || !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("9 KiB Authorization: %d", r.Status)
	}
	if e.GW.Count() != 0 {
		t.Error("upstream called")
	}
}
