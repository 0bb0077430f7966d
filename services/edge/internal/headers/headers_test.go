package headers

import (
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

const testServiceToken = "service-token-0123456789abcdef0123456789"

func trustedFor(t *testing.T) Trusted {
	t.Helper()
	return Trusted{
		ServiceToken: testServiceToken,
		Subject:      "user-123",
		Email:        "alice@example.com",
		RequestID:    "5f0c6a3e-8d0b-4c4e-9a53-3f1d0c1b2a77",
		ClientIP:     netip.MustParseAddr("203.0.113.7"),
		Proto:        "https",
		Host:         "mcp.example.test",
	}
}

// header builds an http.Header keeping the keys exactly as written (the
// client's spelling), as a raw map would.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h[kv[i]] = append(h[kv[i]], kv[i+1])
	}
	return h
}

// only asserts that h holds exactly the keys want (canonical form).
func only(t *testing.T, h http.Header, want ...string) {
	t.Helper()
	var got []string
	for k := range h {
		got = append(got, http.CanonicalHeaderKey(k))
	}
	slices.Sort(got)
	want = slices.Clone(want)
	for i := range want {
		want[i] = http.CanonicalHeaderKey(want[i])
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("header keys = %v, want %v", got, want)
	}
}

var trustedKeys = []string{
	proto.HeaderServiceToken, proto.HeaderUserSub, proto.HeaderUserEmail, proto.HeaderRequestID,
	"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
}

func TestEDGE50_ClientMCPboxHeadersReplaced(t *testing.T) {
	t.Parallel()
	in := header(
		"X-Mcpbox-Service-Token", "client-token",
		"X-Mcpbox-User-Email", "mallory@evil.example",
		"X-Mcpbox-User-Sub", "admin",
		"x-mcpbox-role", "admin",
		"X-MCPBOX-Bypass", "1",
		"X_MCPbox_User_Sub", "admin", // underscore spelling, folded by some stacks
		"Accept", "application/json",
	)
	tr := trustedFor(t)
	out := Upstream(in, tr)
	only(t, out, append([]string{"Accept"}, trustedKeys...)...)
	for k, want := range map[string]string{
		proto.HeaderServiceToken: tr.ServiceToken,
		proto.HeaderUserEmail:    tr.Email,
		proto.HeaderUserSub:      tr.Subject,
	} {
		if got := out.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want only %q", k, got, want)
		}
	}
	if in.Get(proto.HeaderServiceToken) != "client-token" {
		t.Error("Upstream modified its input")
	}
}

func TestUpstreamEmailOnlyWhenSetAndValid(t *testing.T) {
	t.Parallel()
	for _, email := range []string{"", "not-an-email", "a@b.c\r\nX-Evil: 1"} {
		tr := trustedFor(t)
		tr.Email = email
		out := Upstream(http.Header{}, tr)
		if v := out.Values(proto.HeaderUserEmail); v != nil {
			t.Errorf("email %q: header = %q, want absent", email, v)
		}
		if out.Get(proto.HeaderUserSub) != tr.Subject {
			t.Errorf("email %q: sub missing", email)
		}
	}
}

func TestEDGE51_ConnectionNamedHeadersDropped(t *testing.T) {
	t.Parallel()
	in := header(
		"Connection", "X-MCPbox-User-Email, X-Foo",
		"Connection", "x-bar",
		"X-Foo", "1",
		"X-Bar", "2",
		"X-Baz", "3",
	)
	tr := trustedFor(t)
	out := Upstream(in, tr)
	only(t, out, append([]string{"X-Baz"}, trustedKeys...)...)
	if got := out.Get(proto.HeaderUserEmail); got != tr.Email {
		t.Errorf("email header = %q, want the edge's %q", got, tr.Email)
	}
}

func TestEDGE55_CredentialsAndOriginNeverUpstream(t *testing.T) {
	t.Parallel()
	in := header(
		"Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig",
		"authorization", "Basic YTpi",
		"Proxy-Authorization", "Basic YTpi",
		"Cookie", "session=abc",
		"Origin", "https://claude.ai",
		"Content-Type", "application/json",
	)
	out := Upstream(in, trustedFor(t))
	only(t, out, append([]string{"Content-Type"}, trustedKeys...)...)
}

func TestEDGE55_ResponseCookiesAndMCPboxHeadersRemoved(t *testing.T) {
	t.Parallel()
	h := header(
		"Set-Cookie", "a=b",
		"set-cookie", "c=d",
		"Set-Cookie2", "e=f",
		"X-Mcpbox-Service-Token", "leak",
		"x-mcpbox-anything", "leak",
		"Content-Type", "text/event-stream",
		"Mcp-Session-Id", "s1",
	)
	CleanResponse(h)
	only(t, h, "Content-Type", "Mcp-Session-Id")
}

func TestEDGE56_HopByHopBothDirections(t *testing.T) {
	t.Parallel()
	hop := []string{
		"Connection", "close, X-Hop",
		"Keep-Alive", "timeout=5",
		"Proxy-Connection", "keep-alive",
		"TE", "trailers",
		"Trailer", "X-Checksum",
		"Transfer-Encoding", "chunked",
		"Upgrade", "websocket",
		"X-Hop", "1",
		"Content-Length", "12",
	}
	t.Run("request", func(t *testing.T) {
		t.Parallel()
		out := Upstream(header(hop...), trustedFor(t))
		only(t, out, append([]string{"Content-Length"}, trustedKeys...)...)
	})
	t.Run("response", func(t *testing.T) {
		t.Parallel()
		h := header(append(hop, "Proxy-Authenticate", "Basic")...)
		CleanResponse(h)
		only(t, h, "Content-Length")
	})
}

func TestEDGE57_ForwardingHeadersReplaced(t *testing.T) {
	t.Parallel()
	in := header(
		"X-Forwarded-For", "1.2.3.4",
		"X-Forwarded-Proto", "http",
		"X-Forwarded-Host", "evil.example",
		"x-forwarded-port", "80",
		"Forwarded", "for=1.2.3.4;host=evil.example",
		"X-Real-IP", "1.2.3.4",
		"True-Client-IP", "1.2.3.4",
		"CF-Connecting-IP", "1.2.3.4",
		"X-Client-IP", "1.2.3.4",
		"X_Forwarded_For", "1.2.3.4",
	)
	tr := trustedFor(t)
	tr.ClientIP = netip.MustParseAddr("::ffff:198.51.100.9") // mapped: sent as IPv4
	out := Upstream(in, tr)
	only(t, out, trustedKeys...)
	for k, want := range map[string]string{
		"X-Forwarded-For":   "198.51.100.9",
		"X-Forwarded-Proto": "https",
		"X-Forwarded-Host":  "mcp.example.test",
	} {
		if got := out.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want only %q", k, got, want)
		}
	}
}

func TestEDGE58_ClientRequestIDNeverForwarded(t *testing.T) {
	t.Parallel()
	in := header(proto.HeaderRequestID, "client-id-1", "x-request-id", "client-id-2")
	tr := trustedFor(t)
	out := Upstream(in, tr)
	if got := out.Values(proto.HeaderRequestID); len(got) != 1 || got[0] != tr.RequestID {
		t.Fatalf("X-Request-Id upstream = %q, want only the edge's %q", got, tr.RequestID)
	}
	only(t, out, trustedKeys...)

	for _, c := range []struct {
		in   http.Header
		want string
	}{
		{header(proto.HeaderRequestID, "abc-123_x.y:z"), "abc-123_x.y:z"},
		{header(proto.HeaderRequestID, "abc-123.x:y"), "abc-123.x:y"},
		{header(proto.HeaderRequestID, strings.Repeat("a", 128)), strings.Repeat("a", 128)},
		{header(proto.HeaderRequestID, strings.Repeat("a", 129)), ""},
		{header(proto.HeaderRequestID, ""), ""},
		{header(proto.HeaderRequestID, "a b"), ""},
		{header(proto.HeaderRequestID, "a\nb"), ""},
		{header(proto.HeaderRequestID, "é"), ""},
		{header(proto.HeaderRequestID, "first", proto.HeaderRequestID, "second"), "first"},
		{http.Header{}, ""},
	} {
		if got := ClientRequestID(c.in); got != c.want {
			t.Errorf("ClientRequestID(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEDGE59_MCPHeadersPassUnchanged(t *testing.T) {
	t.Parallel()
	pass := header(
		"Mcp-Session-Id", "sess-1",
		"Mcp-Protocol-Version", "2025-11-25",
		"Mcp-Method", "tools/call",
		"Mcp-Name", "weather",
		"Mcp-Param-Region", "eu-west",
		"Last-Event-Id", "42",
		"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"Tracestate", "vendor=1",
		"Accept", "application/json, text/event-stream",
		"Accept-Encoding", "gzip",
		"Content-Type", "application/json",
		"Content-Length", "42",
		"User-Agent", "claude-code/1.0",
		"X-Custom", "a",
		"X-Custom", "b",
	)
	out := Upstream(pass, trustedFor(t))
	for k, vv := range pass {
		if got := out[k]; !slices.Equal(got, vv) {
			t.Errorf("%s = %q, want %q unchanged", k, got, vv)
		}
	}
	only(t, out, append(slices.Collect(maps.Keys(pass)), trustedKeys...)...)

	resp := header("Mcp-Session-Id", "sess-1", "Mcp-Protocol-Version", "2025-11-25", "Content-Type", "text/event-stream")
	want := resp.Clone()
	CleanResponse(resp)
	for k, vv := range want {
		if !slices.Equal(resp[k], vv) {
			t.Errorf("response %s = %q, want %q", k, resp[k], vv)
		}
	}
}

func TestCleanResponseDropsAccessControl(t *testing.T) {
	t.Parallel()
	h := header(
		"Access-Control-Allow-Origin", "*",
		"access-control-allow-credentials", "true",
		"Access-Control-Expose-Headers", "X-Secret",
		"Vary", "Accept-Encoding",
	)
	CleanResponse(h)
	only(t, h, "Vary")
}

func TestUpstreamOmitsEmptyTrustedValues(t *testing.T) {
	t.Parallel()
	out := Upstream(header("Host", "evil.example", "Accept", "*/*"), Trusted{ServiceToken: testServiceToken})
	only(t, out, "Accept", proto.HeaderServiceToken)
}
