package cors

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/services/edge/internal/headers"
)

const fixedHeaders = "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID"

func testPolicy() *Policy {
	return New([]string{"https://claude.ai", "https://claude.com/", "http://localhost:6274"})
}

func preflight(p *Policy, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequestWithContext(context.Background(), http.MethodOptions, "/mcp", nil)
	for i := 0; i < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	p.Preflight(w, r)
	return w
}

func accessControl(h http.Header) []string {
	var out []string
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			out = append(out, k)
		}
	}
	return out
}

func TestEDGE61_PreflightAllowedOrigin(t *testing.T) {
	t.Parallel()
	for _, origin := range []string{"https://claude.ai", "https://claude.com", "http://localhost:6274"} {
		w := preflight(testPolicy(),
			"Origin", origin,
			"Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization, content-type, mcp-protocol-version")
		h := w.Header()
		if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
			t.Fatalf("%s: status %d body %q, want 204 and no body", origin, w.Code, w.Body)
		}
		for k, want := range map[string]string{
			"Access-Control-Allow-Origin":  origin,
			"Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
			"Access-Control-Allow-Headers": fixedHeaders,
			"Access-Control-Max-Age":       "7200",
			"Vary":                         "Origin",
		} {
			if got := h.Values(k); len(got) != 1 || got[0] != want {
				t.Errorf("%s: %s = %q, want %q", origin, k, got, want)
			}
		}
		if v := h.Values("Access-Control-Allow-Credentials"); v != nil {
			t.Errorf("%s: Allow-Credentials sent: %q", origin, v)
		}
	}
}

func TestEDGE62_PreflightParamHeaders(t *testing.T) {
	t.Parallel()
	w := preflight(testPolicy(),
		"Origin", "https://claude.ai",
		"Access-Control-Request-Headers", "Mcp-Param-Region, X-MCPbox-User-Email")
	if got, want := w.Header().Get("Access-Control-Allow-Headers"), fixedHeaders+", Mcp-Param-Region"; got != want {
		t.Fatalf("Allow-Headers = %q, want %q", got, want)
	}

	for _, c := range []struct{ requested, extra string }{
		{"mcp-param-region", ", mcp-param-region"}, // echoed as requested
		{"mcp-param-a, MCP-PARAM-A, Mcp-Param-b", ", mcp-param-a, Mcp-Param-b"},
		{"mcp-param-" + strings.Repeat("x", 64), ", mcp-param-" + strings.Repeat("x", 64)},
		{"mcp-param-" + strings.Repeat("x", 65), ""},
		{"mcp-param-", ""},
		{"mcp-param-a_b, mcp-param-a.b, mcp-param-é, x-mcp-param-a", ""},
		{"\tmcp-param-x\t,,mcp-param-y ", ", mcp-param-x, mcp-param-y"},
		{"authorization, cookie, x-mcpbox-service-token", ""},
	} {
		w := preflight(testPolicy(), "Origin", "https://claude.ai", "Access-Control-Request-Headers", c.requested)
		if got, want := w.Header().Get("Access-Control-Allow-Headers"), fixedHeaders+c.extra; got != want {
			t.Errorf("requested %q: Allow-Headers = %q, want %q", c.requested, got, want)
		}
	}

	// Several request lines count together; the echo is capped.
	var many []string
	for i := range 100 {
		many = append(many, "mcp-param-p"+strings.Repeat("a", i%60)+string(rune('a'+i%26)))
	}
	w = preflight(testPolicy(), "Origin", "https://claude.ai",
		"Access-Control-Request-Headers", strings.Join(many[:50], ","),
		"Access-Control-Request-Headers", strings.Join(many[50:], ","))
	if n := strings.Count(w.Header().Get("Access-Control-Allow-Headers"), "mcp-param-"); n != maxParams {
		t.Errorf("%d Mcp-Param names echoed, want the cap %d", n, maxParams)
	}
}

func TestEDGE63_PreflightUnknownOrigin(t *testing.T) {
	t.Parallel()
	for _, hdr := range [][]string{
		{"Origin", "https://evil.example"},
		{"Origin", "null"},
		{"Origin", "https://claude.ai.evil.example"},
		{"Origin", "https://claude.ai/"},
		{"Origin", "HTTPS://CLAUDE.AI"},
		{"Origin", "http://claude.ai"},
		{"Origin", "https://claude.ai:443"},
		{"Origin", "https://claude.ai", "Origin", "https://claude.ai"},
		{},
	} {
		w := preflight(testPolicy(), append(hdr, "Access-Control-Request-Headers", "mcp-param-x")...)
		if w.Code != http.StatusNoContent {
			t.Errorf("%q: status %d, want 204", hdr, w.Code)
		}
		if ac := accessControl(w.Header()); ac != nil {
			t.Errorf("%q: Access-Control headers sent: %v", hdr, ac)
		}
		if got := w.Header().Values("Vary"); !slices.Equal(got, []string{"Origin"}) {
			t.Errorf("%q: Vary = %q", hdr, got)
		}
	}
}

func TestEDGE65_ActualResponsesOnMCP(t *testing.T) {
	t.Parallel()
	p := testPolicy()
	t.Run("upstream Access-Control replaced", func(t *testing.T) {
		t.Parallel()
		h := http.Header{
			"Access-Control-Allow-Origin":      {"*"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Expose-Headers":    {"X-Internal"},
			"access-control-max-age":           {"1"},
			"Vary":                             {"Accept-Encoding"},
			"Content-Type":                     {"application/json"},
		}
		headers.CleanResponse(h)
		p.Decorate(h, "https://claude.ai")
		if got := accessControl(h); len(got) != 2 {
			t.Errorf("Access-Control headers = %v, want Allow-Origin and Expose-Headers only", got)
		}
		if got := h.Values("Access-Control-Allow-Origin"); !slices.Equal(got, []string{"https://claude.ai"}) {
			t.Errorf("Allow-Origin = %q", got)
		}
		if got, want := h.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, WWW-Authenticate, Retry-After, X-Request-Id"; got != want {
			t.Errorf("Expose-Headers = %q, want %q", got, want)
		}
		if got := h.Values("Vary"); !slices.Equal(got, []string{"Accept-Encoding", "Origin"}) {
			t.Errorf("Vary = %q, want Accept-Encoding kept and Origin added", got)
		}
	})
	t.Run("edge-written statuses carry CORS for an allowed origin", func(t *testing.T) {
		t.Parallel()
		for _, status := range []int{401, 403, 413, 429, 502, 503, 504} {
			w := httptest.NewRecorder()
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="x"`)
			p.Decorate(w.Header(), "https://claude.com")
			w.WriteHeader(status)
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != "https://claude.com" {
				t.Errorf("%d: Allow-Origin = %q", status, got)
			}
		}
	})
	t.Run("never * or credentials", func(t *testing.T) {
		t.Parallel()
		for _, origin := range []string{"", "*", "null", "https://evil.example", "https://claude.ai"} {
			h := http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Credentials": {"true"}}
			p.Decorate(h, origin)
			if got := h.Get("Access-Control-Allow-Origin"); got == "*" || (got != "" && got != origin) {
				t.Errorf("origin %q: Allow-Origin = %q", origin, got)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("origin %q: Allow-Credentials present", origin)
			}
			if origin != "https://claude.ai" && accessControl(h) != nil {
				t.Errorf("origin %q: Access-Control headers %v", origin, accessControl(h))
			}
			if !slices.Contains(h.Values("Vary"), "Origin") {
				t.Errorf("origin %q: no Vary: Origin", origin)
			}
		}
	})
	t.Run("Vary not duplicated", func(t *testing.T) {
		t.Parallel()
		h := http.Header{"Vary": {"accept-encoding, origin"}}
		p.Decorate(h, "https://claude.ai")
		if got := h.Values("Vary"); len(got) != 1 {
			t.Errorf("Vary = %q", got)
		}
	})
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	p := New([]string{"HTTPS://Example.COM:8443/", " https://a.example ", "https://*.example", "https://b.example/path", "null", ""})
	for origin, want := range map[string]bool{
		"https://example.com:8443": true,
		"https://a.example":        true,
		"https://example.com":      false,
		"https://x.example":        false,
		"https://b.example":        false,
		"null":                     false,
		"":                         false,
	} {
		if got := p.Allowed(origin); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", origin, got, want)
		}
	}
}

func TestPublicPreflight(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequestWithContext(context.Background(), http.MethodOptions, "/health", nil)
	r.Header.Set("Origin", "https://evil.example")
	w := httptest.NewRecorder()
	PublicPreflight(w, r, "GET, HEAD, OPTIONS")
	if w.Code != http.StatusNoContent {
		t.Fatalf("status %d", w.Code)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
		"Access-Control-Allow-Headers": "Content-Type, MCP-Protocol-Version",
		"Access-Control-Max-Age":       "7200",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Error("Allow-Credentials sent")
	}
}

var paramRe = regexp.MustCompile(`^(?i:mcp-param-)[A-Za-z0-9-]{1,64}$`)

func FuzzPreflightHeaders(f *testing.F) {
	for _, s := range []string{
		"", "Mcp-Param-Region", "mcp-param-a, MCP-PARAM-A", "authorization,content-type", ",,,", "mcp-param-\r\nx",
		"mcp-param-" + strings.Repeat("z", 70), strings.Repeat("mcp-param-q,", 200), "\x00mcp-param-a", "mcp-param-a\tmcp-param-b",
	} {
		f.Add(s)
	}
	p := testPolicy()
	f.Fuzz(func(t *testing.T, requested string) {
		w := preflight(p, "Origin", "https://claude.ai", "Access-Control-Request-Headers", requested)
		got := w.Header().Get("Access-Control-Allow-Headers")
		rest, ok := strings.CutPrefix(got, fixedHeaders)
		if !ok {
			t.Fatalf("Allow-Headers %q does not start with the fixed list", got)
		}
		if rest == "" {
			return
		}
		names := strings.Split(strings.TrimPrefix(rest, ", "), ", ")
		if len(names) > maxParams {
			t.Fatalf("%d names echoed", len(names))
		}
		for i, n := range names {
			if !paramRe.MatchString(n) {
				t.Fatalf("echoed %q, not an Mcp-Param header name", n)
			}
			if !strings.Contains(requested, n) {
				t.Fatalf("echoed %q, which was not requested", n)
			}
			for _, m := range names[:i] {
				if strings.EqualFold(m, n) {
					t.Fatalf("echoed %q twice", n)
				}
			}
		}
	})
}
