package caller_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// newLocal returns the local guard's middleware around echoCaller, with its
// log.
func newLocal(hosts, origins []string) (http.Handler, *syncBuffer) {
	logs := &syncBuffer{}
	return caller.NewLocalGuard(hosts, origins, testLogger(logs)).Middleware(http.HandlerFunc(echoCaller)), logs
}

// postTo sends POST /mcp to srv with the given Host and header pairs.
func postTo(t *testing.T, srv *httptest.Server, host string, kv ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// GW-26: on the local listener Host: evil.example gets 403, whatever
// address the listener is bound to; loopback names with any port and
// MCPBOX_GATEWAY_LOCAL_HOSTS entries pass.
func TestGW26_LocalListenerRefusesForeignHost(t *testing.T) {
	t.Parallel()
	h, _ := newLocal([]string{"gateway.internal", "pinned.internal:8002"}, nil)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cases := map[string]int{
		"evil.example":           http.StatusForbidden,
		"evil.example:8002":      http.StatusForbidden,
		"localhost.evil.example": http.StatusForbidden,
		"127.0.0.1.nip.io":       http.StatusForbidden,
		"pinned.internal:9999":   http.StatusForbidden,
		"[::2]:8002":             http.StatusForbidden,
		"":                       http.StatusOK, // the client's own 127.0.0.1:<port>
		"localhost":              http.StatusOK,
		"LocalHost:8002":         http.StatusOK,
		"127.0.0.1:6274":         http.StatusOK,
		"[::1]:8002":             http.StatusOK,
		"[0:0:0:0:0:0:0:1]":      http.StatusOK,
		"gateway.internal":       http.StatusOK,
		"Gateway.Internal:443":   http.StatusOK,
		"pinned.internal:8002":   http.StatusOK,
		"pinned.internal:08002":  http.StatusOK,
		"gateway.internal.":      http.StatusForbidden,
		"user@localhost":         http.StatusForbidden,
		"localhost:http":         http.StatusForbidden,
		"localhost:65536":        http.StatusForbidden,
	}
	for host, want := range cases {
		code, body := postTo(t, srv, host)
		if code != want {
			t.Errorf("Host %q: %d, want %d (%s)", host, code, want, body)
		}
		if want == http.StatusForbidden && (!strings.Contains(body, `"code":-32080`) || !strings.Contains(body, "DNS-rebinding")) {
			t.Errorf("Host %q: body %s", host, body)
		}
	}

	// The check does not depend on the bound address: a listener bound to a
	// non-loopback address (MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK=true)
	// refuses a foreign Host too.
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/mcp", nil)
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(172, 31, 254, 2), Port: 8002}))
	r.Host = "evil.example"
	if w := serve(h, r); w.Code != http.StatusForbidden {
		t.Errorf("non-loopback bind: %d", w.Code)
	}
	r.Host = "172.31.254.2:8002"
	if w := serve(h, r); w.Code != http.StatusForbidden {
		t.Errorf("non-loopback bind, its own address as Host (not listed): %d", w.Code)
	}
}

// GW-27: on the local listener Origin: http://evil.example gets 403;
// http://localhost:6274 and no Origin pass.
func TestGW27_LocalListenerOrigin(t *testing.T) {
	t.Parallel()
	h, _ := newLocal(nil, []string{"https://tools.example.com"})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if code, body := postTo(t, srv, ""); code != http.StatusOK {
		t.Errorf("no Origin: %d %s", code, body)
	}
	cases := map[string]int{
		"http://evil.example":            http.StatusForbidden,
		"https://evil.example":           http.StatusForbidden,
		"http://localhost.evil.example":  http.StatusForbidden,
		"null":                           http.StatusForbidden,
		"":                               http.StatusForbidden,
		"file://":                        http.StatusForbidden,
		"http://localhost:6274/path":     http.StatusForbidden,
		"http://localhost@evil.example":  http.StatusForbidden,
		"https://tools.example.com:8443": http.StatusForbidden,
		"http://localhost:6274":          http.StatusOK,
		"http://localhost":               http.StatusOK,
		"https://127.0.0.1:8080":         http.StatusOK,
		"http://[::1]:3000":              http.StatusOK,
		"HTTP://LOCALHOST:6274":          http.StatusOK,
		"https://tools.example.com":      http.StatusOK,
		"https://tools.example.com:443":  http.StatusOK,
	}
	for origin, want := range cases {
		code, body := postTo(t, srv, "", "Origin", origin)
		if code != want {
			t.Errorf("Origin %q: %d, want %d (%s)", origin, code, want, body)
		}
		if want == http.StatusForbidden && body != string(rpcerr.AccessDenied(http.StatusForbidden, caller.MsgLocalOriginRefused).Marshal(nil)) {
			t.Errorf("Origin %q: body %s", origin, body)
		}
	}
	if code, _ := postTo(t, srv, "", "Origin", "http://localhost:6274", "Origin", "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("two Origin headers: %d", code)
	}
}

// A service token on the local listener is refused with 403 -32083 and a
// log line naming the misconfiguration (an edge pointed at the trusted
// listener); identity headers there are ignored and stripped (GW-25, the
// listener half).
func TestLocalListenerServiceTokenAndIdentityHeaders(t *testing.T) {
	t.Parallel()
	h, logs := newLocal(nil, nil)
	w := serve(h, request("127.0.0.1", proto.HeaderServiceToken, currentToken, proto.HeaderUserEmail, "a@x.com"))
	if w.Code != http.StatusForbidden {
		t.Fatalf("status %d", w.Code)
	}
	if b := decode(t, w); b.Error.Code != -32083 || b.Error.Message != "Authentication failed" {
		t.Errorf("error %+v", b.Error)
	}
	line := logs.String()
	if !strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, "MCPBOX_GATEWAY_REMOTE_LISTEN") || !strings.Contains(line, "service_token_on_local_listener") {
		t.Errorf("log line: %s", line)
	}
	if strings.Contains(line, currentToken) {
		t.Error("the token reached the log")
	}
	// An empty service-token header is still a service token header.
	if w := serve(h, request("127.0.0.1", proto.HeaderServiceToken, "")); w.Code != http.StatusForbidden {
		t.Errorf("empty token header: %d", w.Code)
	}

	seen := http.Header{}
	inner := caller.NewLocalGuard(nil, nil, testLogger(&syncBuffer{})).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		echoCaller(w, r)
	}))
	c := decodeCaller(t, serve(inner, request("127.0.0.1", proto.HeaderUserEmail, "a@x.com", proto.HeaderUserSub, "s", "X-MCPbox-Anything", "1", "Accept", "application/json")))
	if c != caller.Local() {
		t.Errorf("caller %+v, want local", c)
	}
	for name := range seen {
		if strings.HasPrefix(name, proto.HeaderPrefix) {
			t.Errorf("%s reached the next handler", name)
		}
	}
	if seen.Get("Accept") != "application/json" {
		t.Error("other headers were stripped")
	}
}
