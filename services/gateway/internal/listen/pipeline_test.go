package listen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/listen"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// classified is one request of the classification table and the handler
// kind the access log must name.
type classified struct {
	row  string
	req  mcpservetest.Req
	want string
	// stream: a response held open; the test closes it after the headers.
	stream bool
}

// GW-18: the classification table of §5.4 holds row by row (hybrid), and
// stateless mode sends everything to the stateless handler; the chosen
// handler is asserted through the access log's handler field.
func TestGW18_Classification(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, h *mcpservetest.Harness, cases []classified) {
		t.Helper()
		for i, c := range cases {
			id := fmt.Sprintf("gw18-%d", i)
			if c.req.Header == nil {
				c.req.Header = http.Header{}
			}
			c.req.Header.Set(proto.HeaderRequestID, id)
			status := 0
			if c.stream {
				resp := h.Stream(t, c.req)
				status = resp.StatusCode
				_ = resp.Body.Close()
			} else {
				status = h.Do(t, c.req).Status
			}
			if status >= 500 {
				t.Errorf("row %s: status %d", c.row, status)
			}
			mcpservetest.Eventually(t, "the access log line of row "+c.row, func() bool {
				_, ok := accessLines(t, h)[id]
				return ok
			})
			if got := accessLines(t, h)[id]["handler"]; got != c.want {
				t.Errorf("row %s: handler %v, want %s", c.row, got, c.want)
			}
		}
	}
	modern := func(method string) mcpservetest.Req {
		return mcpservetest.Req{Body: mcpservetest.Body(1, method, mcpservetest.ModernParams(
			map[string]any{"notifications": map[string]any{"toolsListChanged": true}})), Header: mcpservetest.ModernHeaders(method, "")}
	}
	t.Run("hybrid", func(t *testing.T) {
		t.Parallel()
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid})
		session := func() string {
			resp := h.Do(t, mcpservetest.Req{Body: mcpservetest.InitializeBody(1, "2025-11-25")})
			return resp.Header.Get("Mcp-Session-Id")
		}
		sid, other := session(), session()
		withSession := func(r mcpservetest.Req, id string) mcpservetest.Req {
			if r.Header == nil {
				r.Header = http.Header{}
			}
			r.Header.Set("Mcp-Session-Id", id)
			r.Header.Set("Mcp-Protocol-Version", "2025-11-25")
			return r
		}
		listWithSession := modern("tools/list")
		listWithSession.Header.Set("Mcp-Session-Id", sid)
		run(t, h, []classified{
			{row: "1 GET", req: withSession(mcpservetest.Req{Method: http.MethodGet}, sid), want: "stateful", stream: true},
			{row: "1 GET without session", req: mcpservetest.Req{Method: http.MethodGet}, want: "stateful"},
			{row: "1 DELETE", req: withSession(mcpservetest.Req{Method: http.MethodDelete}, other), want: "stateful"},
			{row: "2 initialize", req: mcpservetest.Req{Body: mcpservetest.InitializeBody(2, "2025-06-18")}, want: "stateful"},
			{row: "2 initialize with a session id", req: withSession(mcpservetest.Req{Body: mcpservetest.InitializeBody(2, "2025-06-18")}, sid), want: "stateful"},
			{row: "3 modern tools/list", req: modern("tools/list"), want: "stateless"},
			{row: "3 modern tools/list with a session id", req: listWithSession, want: "stateless"},
			{row: "3 server/discover", req: modern("server/discover"), want: "stateless"},
			{row: "3 subscriptions/listen", req: modern("subscriptions/listen"), want: "stateless", stream: true},
			{row: "4 session POST", req: withSession(mcpservetest.Req{Body: mcpservetest.Body(3, "tools/list", nil)}, sid), want: "stateful"},
			{row: "4 session notification", req: withSession(mcpservetest.Req{Body: mcpservetest.Body(nil, "notifications/initialized", nil)}, sid), want: "stateful"},
			{row: "5 session-less tools/list", req: mcpservetest.Req{Body: mcpservetest.Body(4, "tools/list", nil)}, want: "stateless"},
			{row: "5 session-less notification", req: mcpservetest.Req{Body: mcpservetest.Body(nil, "notifications/initialized", nil)}, want: "stateless"},
			{row: "5 client response", req: mcpservetest.Req{Body: `{"jsonrpc":"2.0","id":5,"result":{}}`}, want: "stateless"},
		})
	})
	t.Run("hybrid at the global cap", func(t *testing.T) {
		t.Parallel()
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid, MaxSessions: 1})
		run(t, h, []classified{
			{row: "2 first initialize", req: mcpservetest.Req{Body: mcpservetest.InitializeBody(1, "2025-11-25")}, want: "stateful"},
			{row: "2 initialize at the cap", req: mcpservetest.Req{Body: mcpservetest.InitializeBody(1, "2025-11-25")}, want: "stateless"},
		})
	})
	t.Run("stateless", func(t *testing.T) {
		t.Parallel()
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeStateless})
		run(t, h, []classified{
			{row: "GET", req: mcpservetest.Req{Method: http.MethodGet}, want: "stateless"},
			{row: "DELETE", req: mcpservetest.Req{Method: http.MethodDelete, Header: mcpservetest.Headers("Mcp-Session-Id", "X")}, want: "stateless"},
			{row: "initialize", req: mcpservetest.Req{Body: mcpservetest.InitializeBody(1, "2025-11-25")}, want: "stateless"},
			{row: "POST with a session id", req: mcpservetest.Req{Body: mcpservetest.Body(1, "tools/list", nil), Header: mcpservetest.Headers("Mcp-Session-Id", "X")}, want: "stateless"},
			{row: "modern", req: modern("tools/list"), want: "stateless"},
			{row: "listen", req: modern("subscriptions/listen"), want: "stateless", stream: true},
			{row: "session-less", req: mcpservetest.Req{Body: mcpservetest.Body(1, "tools/list", nil)}, want: "stateless"},
		})
	})
}

// GW-19: a JSON array body gets 400 -32600 naming batches; invalid JSON gets
// 400 -32700; a 2 MiB chunked body gets 413 (so does one with a length);
// other non-messages get 400 -32600.
func TestGW19_BodyRules(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{})
	for _, tc := range []struct {
		body   string
		status int
		code   int
		msg    string
		id     string
	}{
		{`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, 400, -32600, listen.MsgBatch, "null"},
		{`[]`, 400, -32600, listen.MsgBatch, "null"},
		{`{"jsonrpc":"2.0","id":1,"method":`, 400, -32700, rpcerr.MsgParseError, "null"},
		{`not json`, 400, -32700, rpcerr.MsgParseError, "null"},
		{`"ping"`, 400, -32600, listen.MsgNotObject, "null"},
		{`{"jsonrpc":"2.0","id":9}`, 400, -32600, listen.MsgNoMethod, "9"},
		{`{"jsonrpc":"2.0","id":"x","method":7}`, 400, -32600, listen.MsgBadMethod, `"x"`},
		{`{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, 400, -32600, listen.MsgBadID, "null"},
	} {
		resp := h.Do(t, mcpservetest.Req{Body: tc.body})
		b := resp.Refusal(t)
		if resp.Status != tc.status || b.Error.Code != tc.code || b.Error.Message != tc.msg || string(b.ID) != tc.id {
			t.Errorf("%s: status %d, %+v id %s", tc.body, resp.Status, b.Error, b.ID)
		}
	}
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	for _, chunked := range []bool{true, false} {
		r := h.NewRequest(t, mcpservetest.Req{Body: big})
		if chunked {
			r.Body = io.NopCloser(strings.NewReader(big))
			r.ContentLength = -1
		}
		resp := h.Send(t, r)
		if chunked && len(r.TransferEncoding) == 0 && r.ContentLength != -1 {
			t.Fatal("the body was not sent chunked")
		}
		b := resp.Refusal(t)
		if resp.Status != http.StatusRequestEntityTooLarge || b.Error.Code != -32600 {
			t.Errorf("chunked %v: status %d, %+v", chunked, resp.Status, b.Error)
		}
	}
}

// GW-21: request ids are echoed with their JSON type, in SDK answers and in
// gateway refusals (42 stays a number, "a-1" a string).
func TestGW21_IDTypes(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{})
	for _, id := range []any{42, "a-1", 0, "42"} {
		want := fmt.Sprintf("%v", id)
		if s, ok := id.(string); ok {
			want = `"` + s + `"`
		}
		resp := h.Do(t, mcpservetest.Req{Body: mcpservetest.Body(id, "ping", nil)})
		m := resp.Response(t)
		if string(m.ID) != want {
			t.Errorf("ping %v: id %s", id, m.ID)
		}
		// A limited caller's refusal (-32080, HTTP 200).
		refused := h.Do(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: mcpservetest.Body(id, "tools/list", nil)})
		if b := refused.Refusal(t); string(b.ID) != want || b.Error.Code != -32080 || refused.Status != http.StatusOK {
			t.Errorf("refusal %v: status %d, id %s, %+v", id, refused.Status, b.ID, b.Error)
		}
	}
}

// GW-25: local listener: no token needed; X-MCPbox-User-Email sent to it is
// ignored (the call's caller is local); a request carrying
// X-MCPbox-Service-Token gets 403 -32083.
func TestGW25_LocalListener(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Catalog: proto.Catalog{Revision: 1, Tools: []proto.CatalogTool{mcpservetest.Tool("weather__forecast")}}})
	hdr := mcpservetest.Headers(proto.HeaderUserEmail, "mallory@example.com", proto.HeaderUserSub, "mallory")
	for _, name := range []string{"weather__forecast", "mcpbox_list_servers"} {
		resp := h.Do(t, mcpservetest.Req{Body: mcpservetest.Body(1, "tools/call", map[string]any{"name": name}), Header: hdr})
		m := resp.Response(t)
		if m.Error != nil {
			t.Fatalf("%s: %+v", name, m.Error)
		}
	}
	for _, c := range h.Calls.Calls() {
		if c.Caller != caller.Local() || c.CtxCaller != caller.Local() {
			t.Errorf("%s ran for %+v", c.Name, c.Caller)
		}
	}
	resp := h.Do(t, mcpservetest.Req{Body: mcpservetest.Body(1, "ping", nil), Header: mcpservetest.Headers(proto.HeaderServiceToken, mcpservetest.Token)})
	if b := resp.Refusal(t); resp.Status != http.StatusForbidden || b.Error.Code != -32083 || b.Error.Message != rpcerr.MsgAuthFailed {
		t.Errorf("token on the local listener: status %d, %+v", resp.Status, b.Error)
	}
}

// GW-30: the remote listener over loopback with Host: mcp.example.com is
// not refused (the SDK's DNS-rebinding check is off there); the local
// listener refuses that Host.
func TestGW30_RemoteHost(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{mcpserve.ModeStateless, mcpserve.ModeHybrid} {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		for _, body := range []string{mcpservetest.Body(1, "ping", nil), mcpservetest.InitializeBody(2, "2025-11-25")} {
			r := h.NewRequest(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: body, Header: email("a@example.com")})
			r.Host = "mcp.example.com"
			resp := h.Send(t, r)
			if m := resp.Response(t); resp.Status != http.StatusOK || m.Error != nil {
				t.Errorf("%s remote: status %d, %+v", mode, resp.Status, m.Error)
			}
			r = h.NewRequest(t, mcpservetest.Req{Body: body})
			r.Host = "mcp.example.com"
			resp = h.Send(t, r)
			if resp.Status != http.StatusForbidden {
				t.Errorf("%s local: status %d", mode, resp.Status)
			}
		}
	}
}

// GW-33: no backend state makes the local listener ask for a token or the
// remote listener accept a request without one: every allowlist mode,
// editing flag and rate limit, and the backend down.
func TestGW33_TrustIsTheListeners(t *testing.T) {
	t.Parallel()
	// The failed-auth throttle would answer 429 after ten refusals.
	h := mcpservetest.Start(t, mcpservetest.Config{AuthFailures: 1000})
	var bodies []string
	check := func(what string) {
		t.Helper()
		m := h.Do(t, mcpservetest.Req{Body: mcpservetest.Body(1, "tools/list", nil)}).Response(t)
		if m.Error != nil {
			t.Errorf("%s: local tools/list: %+v", what, m.Error)
		}
		for _, hdr := range []http.Header{
			mcpservetest.Header(email("a@example.com"), proto.HeaderServiceToken, ""),
			mcpservetest.Header(email("a@example.com"), proto.HeaderServiceToken, "wrong"),
		} {
			resp := h.Do(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: mcpservetest.Body(1, "tools/list", nil), Header: hdr})
			if resp.Status != http.StatusForbidden {
				t.Errorf("%s: remote without a token: status %d", what, resp.Status)
			}
			bodies = append(bodies, string(resp.Body))
		}
	}
	rev := int64(1)
	for _, mode := range []proto.AllowlistMode{proto.AllowEveryone, proto.AllowEmails, proto.AllowEmailDomain, "unknown"} {
		for _, editing := range []proto.Toggle{proto.ToggleEnabled, proto.ToggleDisabled} {
			rev++
			p := mcpservetest.DefaultPolicy()
			p.Revision, p.RemoteToolEditing = rev, editing
			p.RemoteEmailAllowlist = proto.RemoteEmailAllowlist{Mode: mode, Values: []string{"example.com"}}
			p.MCPRateLimitRPM = proto.MinMCPRateLimitRPM + int(rev)
			h.SetPolicy(t, p)
			check(fmt.Sprintf("%s/%s", mode, editing))
		}
	}
	h.Source.SetDown(true)
	check("backend down")
	for _, b := range bodies {
		if b != bodies[0] {
			t.Errorf("refusal bodies differ: %q vs %q", b, bodies[0])
		}
	}
}

// GW-35: /healthz, /readyz and /metrics answer without a token on both
// listeners; /readyz is 503 until the first catalog and policy load, and
// while draining.
func TestGW35_Health(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{BackendDown: true})
	get := func(listener, path string) (int, string) {
		resp := h.Do(t, mcpservetest.Req{Method: http.MethodGet, Listener: listener, Path: path, Header: mcpservetest.Headers(proto.HeaderServiceToken, "")})
		return resp.Status, string(resp.Body)
	}
	for _, l := range []string{caller.ListenerLocal, caller.ListenerRemote} {
		if code, body := get(l, proto.PathHealthz); code != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
			t.Errorf("%s /healthz: %d %s", l, code, body)
		}
		if code, body := get(l, proto.PathReadyz); code != http.StatusServiceUnavailable || !strings.Contains(body, `"status":"not_ready"`) ||
			!strings.Contains(body, "catalog not loaded yet") || !strings.Contains(body, "policy not loaded yet") {
			t.Errorf("%s /readyz before the first load: %d %s", l, code, body)
		}
		if code, body := get(l, proto.PathMetrics); code != http.StatusOK || !strings.Contains(body, "mcpbox_gateway_requests_total") {
			t.Errorf("%s /metrics: %d", l, code)
		}
	}
	h.Source.SetDown(false)
	mcpservetest.Eventually(t, "/readyz to turn ready", func() bool {
		code, _ := get(caller.ListenerLocal, proto.PathReadyz)
		return code == http.StatusOK
	})
	if code, body := get(caller.ListenerRemote, proto.PathReadyz); code != http.StatusOK || strings.TrimSpace(body) != `{"status":"ready"}` {
		t.Errorf("remote /readyz: %d %s", code, body)
	}
	h.Draining.Store(true)
	if code, body := get(caller.ListenerLocal, proto.PathReadyz); code != http.StatusServiceUnavailable || !strings.Contains(body, `"draining"`) {
		t.Errorf("/readyz while draining: %d %s", code, body)
	}
}

// GW-36: every /mcp response, errors included, carries the security
// headers of §3.3 and X-Request-Id (kept when valid, else a new one); so do
// the other paths.
func TestGW36_SecurityHeaders(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid, MaxBodyBytes: 4096, LocalRPM: 10})
	limited := mcpservetest.Start(t, mcpservetest.Config{LocalRPM: 10})
	type probe struct {
		name string
		h    *mcpservetest.Harness
		req  mcpservetest.Req
		want int
	}
	probes := []probe{
		{"sse 200", h, mcpservetest.Req{Body: mcpservetest.Body(1, "tools/list", nil)}, 200},
		{"notification 202", h, mcpservetest.Req{Body: mcpservetest.Body(nil, "notifications/initialized", nil)}, 202},
		{"modern ping", h, mcpservetest.Req{Body: mcpservetest.Body(1, "ping", nil), Header: mcpservetest.ModernHeaders("ping", "")}, 200},
		{"batch 400", h, mcpservetest.Req{Body: "[]"}, 400},
		{"415", h, mcpservetest.Req{Body: mcpservetest.Body(1, "ping", nil), Header: mcpservetest.Headers("Content-Type", "text/plain")}, 415},
		{"remote 403", h, mcpservetest.Req{Listener: caller.ListenerRemote, Body: "{}", Header: mcpservetest.Headers(proto.HeaderServiceToken, "")}, 403},
		{"limited 200", h, mcpservetest.Req{Listener: caller.ListenerRemote, Body: mcpservetest.Body(1, "tools/list", nil)}, 200},
		{"unknown session 404", h, mcpservetest.Req{Body: mcpservetest.Body(1, "tools/list", nil), Header: mcpservetest.Headers("Mcp-Session-Id", "NOPE")}, 404},
		{"PUT 405", h, mcpservetest.Req{Method: http.MethodPut, Body: "{}"}, 405},
		{"413", h, mcpservetest.Req{Body: `{"pad":"` + strings.Repeat("x", 5000) + `"}`}, 413},
		{"path 404", h, mcpservetest.Req{Method: http.MethodGet, Path: "/nope"}, 404},
		{"healthz", h, mcpservetest.Req{Method: http.MethodGet, Path: proto.PathHealthz}, 200},
	}
	for range 10 {
		limited.Do(t, mcpservetest.Req{Body: mcpservetest.Body(nil, "notifications/initialized", nil)})
	}
	probes = append(probes, probe{"429", limited, mcpservetest.Req{Body: mcpservetest.Body(1, "ping", nil)}, 429})
	for _, p := range probes {
		for _, id := range []string{"client-id.1", "bad id!"} {
			if p.req.Header == nil {
				p.req.Header = http.Header{}
			}
			p.req.Header.Set(proto.HeaderRequestID, id)
			resp := p.h.Do(t, p.req)
			hd := resp.Header
			if resp.Status != p.want {
				t.Errorf("%s: status %d, want %d", p.name, resp.Status, p.want)
			}
			cache := hd.Get("Cache-Control")
			if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("X-Frame-Options") != "DENY" ||
				hd.Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" ||
				hd.Get("Referrer-Policy") != "no-referrer" || (cache != "no-store" && cache != "no-cache, no-transform") {
				t.Errorf("%s: headers %v", p.name, hd)
			}
			got := hd.Get(proto.HeaderRequestID)
			if (id == "client-id.1" && got != id) || (id != "client-id.1" && (got == id || !proto.ValidRequestID(got))) {
				t.Errorf("%s: X-Request-Id %q for %q", p.name, got, id)
			}
		}
	}
	h.Draining.Store(true)
	resp := h.Do(t, mcpservetest.Req{Body: mcpservetest.Body(1, "ping", nil)})
	if b := resp.Refusal(t); resp.Status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
		b.Error.Code != -32082 || resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get(proto.HeaderRequestID) == "" {
		t.Errorf("draining: status %d, %v, %+v", resp.Status, resp.Header, b.Error)
	}
}

// GW-37: a remote caller without an email can initialize, server/discover,
// ping and notify; tools/list, tools/call and subscriptions/listen get
// -32080 with the missing-email text (HTTP 200), GET 403. A caller whose
// email the allowlist refuses gets the not-allowed text.
func TestGW37_LimitedCaller(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid})
	for _, tc := range []struct {
		body string
		hdr  http.Header
	}{
		{mcpservetest.InitializeBody(1, "2025-11-25"), nil},
		{mcpservetest.Body(1, "server/discover", mcpservetest.ModernParams(nil)), mcpservetest.ModernHeaders("server/discover", "")},
		{mcpservetest.Body(1, "ping", nil), nil},
	} {
		m := h.Do(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: tc.body, Header: tc.hdr}).Response(t)
		if m.Error != nil {
			t.Errorf("%s: %+v", tc.body, m.Error)
		}
	}
	resp := h.Do(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: mcpservetest.Body(nil, "notifications/initialized", nil)})
	if resp.Status != http.StatusAccepted {
		t.Errorf("notification: status %d", resp.Status)
	}
	refused := func(hdr http.Header, text string) {
		t.Helper()
		for _, tc := range []struct {
			body string
			hdr  http.Header
		}{
			{mcpservetest.Body(2, "tools/list", nil), nil},
			{mcpservetest.Body(3, "tools/call", map[string]any{"name": "mcpbox_list_servers"}), nil},
			{
				mcpservetest.Body(4, "subscriptions/listen", mcpservetest.ModernParams(map[string]any{"notifications": map[string]any{}})),
				mcpservetest.ModernHeaders("subscriptions/listen", ""),
			},
		} {
			resp := h.Do(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: tc.body, Header: mergeHeaders(hdr, tc.hdr)})
			if b := resp.Refusal(t); resp.Status != http.StatusOK || b.Error.Code != -32080 || b.Error.Message != text {
				t.Errorf("%s: status %d, %+v", tc.body, resp.Status, b.Error)
			}
		}
		resp := h.Do(t, mcpservetest.Req{Method: http.MethodGet, Listener: caller.ListenerRemote, Header: mergeHeaders(hdr, mcpservetest.Headers("Mcp-Session-Id", "X"))})
		if b := resp.Refusal(t); resp.Status != http.StatusForbidden || b.Error.Message != text {
			t.Errorf("GET: status %d, %+v", resp.Status, b.Error)
		}
	}
	refused(nil, policy.MsgMissingEmail)
	p := mcpservetest.DefaultPolicy()
	p.Revision = 2
	p.RemoteEmailAllowlist = proto.RemoteEmailAllowlist{Mode: proto.AllowEmails, Values: []string{"a@x.com"}}
	h.SetPolicy(t, p)
	refused(email("b@x.com"), policy.MsgNotAllowed("b@x.com"))
	if n := len(h.Calls.Calls()); n != 0 {
		t.Errorf("%d calls ran", n)
	}
}

// mergeHeaders returns a's and b's values in one header.
func mergeHeaders(a, b http.Header) http.Header {
	out := http.Header{}
	for _, h := range []http.Header{a, b} {
		for k, vs := range h {
			out[k] = append(out[k], vs...)
		}
	}
	return out
}

// The remote listener checks in the order of §4: a throttled peer gets 429
// before the token check, a malformed identity header 400, a stale policy
// 503; each with the JSON-RPC body of rpcerr.
func TestRemoteRefusals(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{})
	resp := h.Do(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: mcpservetest.Body(1, "ping", nil), Header: email("not an email")})
	if b := resp.Refusal(t); resp.Status != http.StatusBadRequest || b.Error.Code != -32600 {
		t.Errorf("bad identity: status %d, %+v", resp.Status, b.Error)
	}
	for range 10 {
		h.Do(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: "{}", Header: mcpservetest.Headers(proto.HeaderServiceToken, "wrong")})
	}
	resp = h.Do(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: mcpservetest.Body(1, "ping", nil)})
	if b := resp.Refusal(t); resp.Status != http.StatusTooManyRequests || b.Error.Code != -32081 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("throttled: status %d, %+v", resp.Status, b.Error)
	}
	// The local listener is unaffected.
	if m := h.Do(t, mcpservetest.Req{Body: mcpservetest.Body(1, "ping", nil)}).Response(t); m.Error != nil {
		t.Errorf("local: %+v", m.Error)
	}
}

// The rate limit (§6.5) refuses with 429 -32081 and the request's id once
// the burst is spent; GET counts, DELETE does not.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{LocalRPM: 10, Mode: mcpserve.ModeHybrid})
	for range 9 {
		h.Do(t, mcpservetest.Req{Body: mcpservetest.Body(nil, "notifications/initialized", nil)})
	}
	for range 3 {
		h.Do(t, mcpservetest.Req{Method: http.MethodDelete, Header: mcpservetest.Headers("Mcp-Session-Id", "X")})
	}
	h.Do(t, mcpservetest.Req{Method: http.MethodGet})
	resp := h.Do(t, mcpservetest.Req{Body: mcpservetest.Body("r-1", "ping", nil)})
	b := resp.Refusal(t)
	if resp.Status != http.StatusTooManyRequests || b.Error.Code != -32081 || string(b.ID) != `"r-1"` || resp.Header.Get("Retry-After") == "" {
		t.Errorf("status %d, %+v, id %s", resp.Status, b.Error, b.ID)
	}
}

// Every /mcp request is counted once with its method label and outcome.
func TestRequestMetrics(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid})
	send := func(listener, body string, hdr http.Header) {
		h.Do(t, mcpservetest.Req{Listener: listener, Body: body, Header: hdr})
	}
	send(caller.ListenerLocal, mcpservetest.Body(1, "tools/list", nil), nil)
	send(caller.ListenerLocal, mcpservetest.Body(1, "tools/call", map[string]any{"name": ""}), nil)
	send(caller.ListenerLocal, mcpservetest.Body(nil, "notifications/initialized", nil), nil)
	send(caller.ListenerLocal, "[]", nil)
	send(caller.ListenerLocal, mcpservetest.Body(1, "resources/list", nil), nil)
	send(caller.ListenerRemote, mcpservetest.Body(1, "tools/list", nil), nil)
	send(caller.ListenerRemote, mcpservetest.Body(1, "ping", nil), mcpservetest.Headers(proto.HeaderServiceToken, "wrong"))
	h.Do(t, mcpservetest.Req{Method: http.MethodDelete, Header: mcpservetest.Headers("Mcp-Session-Id", "X")})
	want := map[[2]string]float64{
		{"tools/list", "ok"}: 1, {"tools/call", "invalid"}: 1, {"notification", "ok"}: 1, {"other", "invalid"}: 1,
		{"other", "ok"}: 1, {"tools/list", "denied"}: 1, {"other", "denied"}: 1, {"session_delete", "invalid"}: 1,
	}
	mcpservetest.Eventually(t, "the request counts", func() bool {
		for k, v := range want {
			if requestCount(t, h, k[0], k[1]) != v {
				return false
			}
		}
		return true
	})
	for k, v := range want {
		if got := requestCount(t, h, k[0], k[1]); got != v {
			t.Errorf("requests_total%v = %v, want %v", k, got, v)
		}
	}
}

// requestCount reads mcpbox_gateway_requests_total{method, outcome}.
func requestCount(t *testing.T, h *mcpservetest.Harness, method, outcome string) float64 {
	t.Helper()
	mfs, err := h.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "mcpbox_gateway_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// The access log line of a call carries the gateway's fields: MCP method,
// handler, caller kind and key, email, tool and outcome; never arguments.
func TestAccessLogFields(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{})
	hdr := mcpservetest.Headers(proto.HeaderUserEmail, "a@example.com", proto.HeaderRequestID, "log-1")
	body := mcpservetest.Body(1, "tools/call", map[string]any{"name": "mcpbox_list_servers", "arguments": map[string]any{"secret": "s3cr3t-value"}})
	h.Do(t, mcpservetest.Req{Listener: caller.ListenerRemote, Body: body, Header: hdr})
	mcpservetest.Eventually(t, "the access log line", func() bool { _, ok := accessLines(t, h)["log-1"]; return ok })
	line := accessLines(t, h)["log-1"]
	for k, v := range map[string]any{
		"mcp_method": "tools/call", "handler": "stateless", "caller_kind": "remote", "caller_key": "email:a@example.com",
		"caller": "a@example.com", "tool": "mcpbox_list_servers", "outcome": "ok", "listener": "remote", "status": float64(200),
	} {
		if line[k] != v {
			t.Errorf("%s = %v, want %v (%v)", k, line[k], v, line)
		}
	}
	if strings.Contains(h.Logs.String(), "s3cr3t-value") || strings.Contains(h.Logs.String(), mcpservetest.Token) {
		t.Error("arguments or the token reached the log")
	}
}

// Paths other than /mcp and GET of the three operational ones are 404.
func TestPaths(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", 404},
		{http.MethodGet, "/mcp/", 404},
		{http.MethodPost, "/other", 404},
		{http.MethodPost, proto.PathHealthz, 404},
		{http.MethodGet, proto.PathReadyz, 200},
	} {
		resp := h.Do(t, mcpservetest.Req{Method: tc.method, Path: tc.path})
		if resp.Status != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.Status, tc.want)
		}
	}
}

// A client that goes away cancels the call it started (the context
// Calls.User sees ends), in both eras.
func TestClientGoneCancelsTheCall(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{mcpserve.ModeStateless, mcpserve.ModeHybrid} {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		started, cancelled := make(chan struct{}), make(chan struct{})
		h.Calls.MgmtFunc = func(ctx context.Context, _ caller.Caller, _ proto.ManagementTool, _ json.RawMessage) *mcp.CallToolResult {
			close(started)
			select {
			case <-ctx.Done():
				close(cancelled)
			case <-time.After(10 * time.Second):
			}
			return mcpservetest.Text("late")
		}
		hdr := http.Header{}
		if mode == mcpserve.ModeHybrid {
			resp := h.Do(t, mcpservetest.Req{Body: mcpservetest.InitializeBody(1, "2025-11-25")})
			hdr = mcpservetest.Headers("Mcp-Session-Id", resp.Header.Get("Mcp-Session-Id"), "Mcp-Protocol-Version", "2025-11-25")
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := h.NewRequest(t, mcpservetest.Req{Body: mcpservetest.Body(5, "tools/call", map[string]any{"name": "mcpbox_list_servers"}), Header: hdr})
		go func() {
			<-started
			cancel()
		}()
		if resp, err := h.Client().Do(r.WithContext(ctx)); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		select {
		case <-cancelled:
		case <-time.After(5 * time.Second):
			t.Errorf("%s: the call was not cancelled", mode)
		}
	}
}
