package ui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow/oauthfake"
)

// The Sources section's tests run against the wired backend whose fake
// sandbox answers analysis (serversSandbox), discovery (the tools the test
// sets, as the fake MCP server lists them) and brokered fetches (oauthfake:
// the OAuth flow against a fake authorization server and a fake MCP server
// protected by it).

const (
	sourcesIssuer = "https://auth.example.com"
	sourcesMCPURL = "https://mcp.example.com/mcp"
)

type sourcesBackend struct {
	*serversBackend
	as *oauthfake.AuthServer

	mu          sync.Mutex
	tools       []proto.DiscoveredTool
	discoveries []proto.DiscoverRequest
}

func newSourcesBackend(t *testing.T) *sourcesBackend {
	t.Helper()
	sb := &sourcesBackend{}
	analysis := serversSandbox(t)
	broker := oauthfake.NewSandbox(t, serversSandboxToken)
	sb.as = oauthfake.NewAuthServer(t, sourcesIssuer)
	mcp := oauthfake.NewResource(t, sourcesMCPURL, sourcesIssuer, sb.as.ValidAccessToken)
	broker.Map("auth.example.com", sb.as.Server())
	broker.Map("mcp.example.com", mcp.Server())
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+proto.PathSandboxDiscover, func(w http.ResponseWriter, r *http.Request) {
		var req proto.DiscoverRequest
		if r.Header.Get(proto.HeaderServiceToken) != serversSandboxToken || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		sb.mu.Lock()
		sb.discoveries = append(sb.discoveries, req)
		out := proto.DiscoverResponse{OK: true, Tools: sb.tools}
		sb.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.Handle("POST "+proto.PathSandboxFetch, proxyTo(t, broker.URL()))
	mux.Handle("/", proxyTo(t, analysis.URL))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b := newBackend(t, func(o *options) { o.sandboxURL, o.sandboxToken = srv.URL, serversSandboxToken })
	sb.serversBackend = &serversBackend{backend: b, internal: b.internal, logs: b.logs}
	return sb
}

func proxyTo(t *testing.T, base string) http.Handler {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return httputil.NewSingleHostReverseProxy(u)
}

// offer sets the tools the fake MCP server lists.
func (b *sourcesBackend) offer(tools ...proto.DiscoveredTool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tools = tools
}

// lastDiscovery is the last discovery request the sandbox received.
func (b *sourcesBackend) lastDiscovery(t *testing.T) proto.DiscoverRequest {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.discoveries) == 0 {
		t.Fatal("no discovery reached the sandbox")
	}
	return b.discoveries[len(b.discoveries)-1]
}
