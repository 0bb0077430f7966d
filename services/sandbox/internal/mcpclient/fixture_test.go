package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// fixture is a real MCP server (Go SDK, Streamable HTTP, stateful with
// session ids) on loopback, with counters and fault switches in front.
type fixture struct {
	t      *testing.T
	srv    *httptest.Server
	server *mcp.Server
	calls  atomic.Int64 // tool handler executions
	inits  atomic.Int64 // initialize requests

	mu       sync.Mutex
	gone     map[string]bool // expired session ids: answered 404
	seen     map[string]bool
	deleted  []string
	lastAuth []string
	exotic   json.RawMessage // raw result served for tool "exotic"
}

func newFixture(t *testing.T, pageSize int) *fixture {
	t.Helper()
	f := &fixture{t: t, gone: map[string]bool{}, seen: map[string]bool{}}
	f.server = mcp.NewServer(&mcp.Implementation{Name: "fixture", Version: "1.2.3"}, &mcp.ServerOptions{
		PageSize:                  pageSize,
		Instructions:              "use wisely",
		SupportedProtocolVersions: []string{"2025-11-25", "2025-06-18"},
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return f.server }, &mcp.StreamableHTTPOptions{
		Logger: slog.New(slog.DiscardHandler),
	})
	f.srv = httptest.NewServer(f.middleware(h))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) addTool(tool *mcp.Tool, h func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error)) {
	if tool.InputSchema == nil {
		tool.InputSchema = json.RawMessage(`{"type":"object"}`)
	}
	f.server.AddTool(tool, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		f.calls.Add(1)
		return h(ctx, req)
	})
}

func (f *fixture) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid := r.Header.Get("Mcp-Session-Id")
		f.mu.Lock()
		f.lastAuth = append(f.lastAuth, r.Header.Get("Authorization"))
		if r.Method == http.MethodDelete {
			f.deleted = append(f.deleted, sid)
		}
		if sid != "" {
			f.seen[sid] = true
		}
		gone := sid != "" && f.gone[sid]
		exotic := f.exotic
		f.mu.Unlock()
		if gone {
			http.Error(w, "session not found", http.StatusNotFound)
			return
		}
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if msg, err := jsonrpc.DecodeMessage(body); err == nil {
				if req, ok := msg.(*jsonrpc.Request); ok {
					if req.Method == "initialize" {
						f.inits.Add(1)
					}
					if req.Method == "tools/call" && exotic != nil && strings.Contains(string(req.Params), `"exotic"`) {
						f.calls.Add(1)
						out, _ := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: req.ID, Result: exotic})
						w.Header().Set("Content-Type", "application/json")
						w.Header().Set("Mcp-Session-Id", sid)
						_, _ = w.Write(out)
						return
					}
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// expireSessions makes the server forget every session id seen so far,
// as a server that expired its sessions does.
func (f *fixture) expireSessions() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range f.seen {
		f.gone[id] = true
	}
}

func (f *fixture) deletedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.deleted...)
}

// plainClient returns a HTTPClientFunc giving an ordinary client (the
// broker is not under test here).
func plainClient(*testing.T) HTTPClientFunc {
	return func(proto.AllowedHosts) (*http.Client, error) {
		return &http.Client{Transport: &http.Transport{}}, nil
	}
}

func newTestClient(t *testing.T, hc HTTPClientFunc, opts Options) *Client {
	t.Helper()
	c := New(slog.New(slog.DiscardHandler), prometheus.NewRegistry(), hc, opts)
	t.Cleanup(c.Close)
	return c
}

// pin builds a call request pinned to the tool's current definition.
func pin(t *testing.T, url string, tool *mcp.Tool, args string) proto.MCPCallRequest {
	t.Helper()
	schema, err := json.Marshal(tool.InputSchema)
	if err != nil {
		t.Fatal(err)
	}
	ann := json.RawMessage("null")
	if tool.Annotations != nil {
		ann, err = json.Marshal(tool.Annotations)
		if err != nil {
			t.Fatal(err)
		}
	}
	def := proto.ExternalDefinition{
		Annotations: ann, Description: tool.Description, InputSchema: schema, Name: tool.Name,
		SourceID: "0b8f3c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e",
	}
	m := proto.Manifest{Hosts: []string{}, Packages: []string{}, Secrets: []string{}, TimeoutMS: 30000}
	h, err := canon.HashExternal(def, m)
	if err != nil {
		t.Fatal(err)
	}
	return proto.MCPCallRequest{
		URL: url, AllowedHosts: proto.AnyPublicHost(), Tool: tool.Name, Arguments: json.RawMessage(args),
		Definition: def, Manifest: m, PinnedHash: h,
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }
