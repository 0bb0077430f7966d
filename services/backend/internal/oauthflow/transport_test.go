package oauthflow

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow/oauthfake"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
)

const token = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"

func transportFor(t *testing.T, own proto.AllowedHosts) (*oauthfake.Sandbox, *fetchTransport, *http.Client) {
	t.Helper()
	sb := oauthfake.NewSandbox(t, token)
	client, err := sandboxclient.New(sb.URL(), token, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Sandbox: client})
	u, _ := url.Parse("https://mcp.example.com/mcp")
	tr, hc := s.newFetchClient(source{origin: originOf(u), own: own})
	return sb, tr, hc
}

// Redirects come back as responses and are not followed; the request's
// method, headers and body reach the sandbox; only GET and POST are
// brokered, with a body of at most 64 KiB.
func TestTransportBrokersWithoutRedirects(t *testing.T) {
	t.Parallel()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "https://elsewhere.example.com/next", http.StatusFound)
			return
		}
		w.Header().Set("X-Echo", r.Header.Get("X-Test")+"|"+r.Method)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(upstream.Close)
	sb, _, hc := transportFor(t, proto.OnlyHosts("mcp.example.com"))
	sb.Map("mcp.example.com", upstream)
	sb.Map("elsewhere.example.com", upstream)

	ctx := context.Background()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://mcp.example.com/moved", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://elsewhere.example.com/next" {
		t.Fatalf("redirect: %d %v", resp.StatusCode, resp.Header)
	}
	if n := len(sb.Fetches()); n != 1 {
		t.Fatalf("%d fetches, want 1 (the redirect is not followed)", n)
	}

	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, "https://mcp.example.com:443/x", strings.NewReader("a=b"))
	req.Header.Set("X-Test", "v1")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	f := sb.Fetches()[1]
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Echo") != "v1|POST" || f.Body != "a=b" ||
		f.Headers["X-Test"] != "v1" || f.AllowedHosts.Any || f.Purpose != proto.FetchOAuth || f.TimeoutMS != proto.DefaultFetchTimeoutMS {
		t.Fatalf("POST: %d %v; fetch %+v", resp.StatusCode, resp.Header, f)
	}

	for _, bad := range []*http.Request{
		must(http.NewRequestWithContext(ctx, http.MethodPut, "https://mcp.example.com/x", nil)),
		must(http.NewRequestWithContext(ctx, http.MethodPost, "https://mcp.example.com/x",
			strings.NewReader(strings.Repeat("x", proto.MaxFetchRequestBodyBytes+1)))),
	} {
		if resp, err := hc.Do(bad); err == nil {
			_ = resp.Body.Close()
			t.Errorf("%s with %d bytes was brokered", bad.Method, bad.ContentLength)
		}
	}
	if n := len(sb.Fetches()); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

// The source's origin is compared by scheme, host and effective port.
func TestAllowedHostsFollowTheSourceOrigin(t *testing.T) {
	t.Parallel()
	_, tr, _ := transportFor(t, proto.OnlyHosts("mcp.example.com"))
	for raw, own := range map[string]bool{
		"https://mcp.example.com/mcp":              true,
		"https://MCP.example.com:443/.well-known/": true,
		"https://mcp.example.com:8443/token":       false,
		"http://mcp.example.com/mcp":               false,
		"https://auth.example.com/token":           false,
		"https://mcp.example.com.evil.test/":       false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.allowedHosts(u); got.Any == own {
			t.Errorf("%s: allowed_hosts %+v, own %v", raw, got, own)
		}
	}
}

func must(r *http.Request, err error) *http.Request {
	if err != nil {
		panic(err)
	}
	return r
}
