package mcpclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
)

// SB-79 (client layer): pagination and the HTTP failure types; the SSRF
// half of SB-79 belongs to the egress broker.
func TestDiscoverFollowsNextCursor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	for i := range 5 {
		okTool(f, fmt.Sprintf("tool_%d", i))
	}
	c := newTestClient(t, plainClient(t), Options{})
	resp, err := c.Discover(t.Context(), proto.DiscoverRequest{URL: f.srv.URL, AllowedHosts: proto.AnyPublicHost()})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.OK {
		t.Fatalf("discover failed: %+v", resp.Error)
	}
	if len(resp.Tools) != 5 {
		t.Fatalf("%d tools, want 5 over 3 pages", len(resp.Tools))
	}
	for i, tool := range resp.Tools {
		if tool.Name != fmt.Sprintf("tool_%d", i) {
			t.Errorf("tools[%d] = %q", i, tool.Name)
		}
		if string(tool.InputSchema) != `{"type":"object"}` || string(tool.OutputSchema) != "null" {
			t.Errorf("tools[%d] schemas %s %s", i, tool.InputSchema, tool.OutputSchema)
		}
	}
	if resp.ServerInfo != (proto.ServerInfo{Name: "fixture", Version: "1.2.3"}) || resp.Instructions != "use wisely" || resp.ProtocolVersion == "" {
		t.Errorf("server info %+v %q %q", resp.ServerInfo, resp.Instructions, resp.ProtocolVersion)
	}
}

const secretValue = "sk-live-credential-0123456789"

func TestDiscoverHTTPFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    proto.SandboxErrorType
		check   func(t *testing.T, e *proto.UpstreamError)
	}{
		{"401 AuthRequired", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", error_description="`+r.Header.Get("Authorization")+`"`)
			http.Error(w, "unauthorized "+r.Header.Get("Authorization"), http.StatusUnauthorized)
		}, proto.ErrTypeAuthRequired, func(t *testing.T, e *proto.UpstreamError) {
			t.Helper()
			if !strings.Contains(e.WWWAuthenticate, "resource_metadata=") || e.Status != http.StatusUnauthorized {
				t.Errorf("www_authenticate %q status %d", e.WWWAuthenticate, e.Status)
			}
		}},
		{"302 Redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example.com/mcp", http.StatusFound)
		}, proto.ErrTypeRedirect, nil},
		{"challenge page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.Header().Set("Server", "cloudflare")
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>`+
				`<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script>%s</body></html>`, r.Header.Get("Authorization"))
		}, proto.ErrTypeCloudflareChallenge, nil},
		{"500 HTTPError", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom, saw "+r.Header.Get("Authorization"), http.StatusInternalServerError)
		}, proto.ErrTypeHTTPError, func(t *testing.T, e *proto.UpstreamError) {
			t.Helper()
			if e.Status != http.StatusInternalServerError || !strings.Contains(e.Message, "boom") || !strings.Contains(e.Message, "[REDACTED]") {
				t.Errorf("status %d message %q", e.Status, e.Message)
			}
		}},
		{"plain text 200 ProtocolError", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("hello"))
		}, proto.ErrTypeProtocolError, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			c := newTestClient(t, plainClient(t), Options{DiscoverBackoff: []time.Duration{}})
			resp, err := c.Discover(t.Context(), proto.DiscoverRequest{
				URL: srv.URL, AllowedHosts: proto.AnyPublicHost(),
				Headers: map[string]string{"Authorization": "Bearer " + secretValue},
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.OK || resp.Error == nil || resp.Error.Type != tc.want {
				t.Fatalf("error %+v, want %s", resp.Error, tc.want)
			}
			if tc.check != nil {
				tc.check(t, resp.Error)
			}
			// SB-82 (client layer): the credential never appears in the response.
			b, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), secretValue) {
				t.Errorf("credential leaked: %s", b)
			}
		})
	}
}

// SB-81 (client layer) with SB-82 (client layer): the credential header
// reaches only the source's origin and is redacted from results.
func TestCredentialRedactedFromResult(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	tool := &mcp.Tool{Name: "echo_auth"}
	f.addTool(tool, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "you sent " + req.Extra.Header.Get("Authorization")}}}, nil
	})
	c := newTestClient(t, plainClient(t), Options{})
	req := pin(t, f.srv.URL, tool, `{}`)
	req.Headers = map[string]string{"Authorization": "Bearer " + secretValue}
	resp := mustCall(t, c, req)
	if strings.Contains(string(resp.Result), secretValue) || !strings.Contains(string(resp.Result), "[REDACTED]") {
		t.Errorf("result %s", resp.Result)
	}
}
