package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
)

// goClient is the official go-sdk client (v1.8.0): it probes server/discover
// first and uses the modern era when the server offers it, falling back to
// initialize otherwise; with a list-changed handler it opens a
// subscriptions/listen stream.
type goClient struct {
	cs      *mcp.ClientSession
	changes atomic.Int64
}

// connectGo connects a go-sdk client to endpoint, sending header on every
// request, and checks it negotiated the modern era through server/discover.
func connectGo(t *testing.T, endpoint string, header http.Header) *goClient {
	t.Helper()
	c := dialGo(t, endpoint, header)
	init := c.cs.InitializeResult()
	if init == nil || init.ProtocolVersion != "2026-07-28" || init.ServerInfo == nil || init.ServerInfo.Name != "mcpbox" {
		t.Fatalf("go-sdk did not negotiate 2026-07-28 with mcpbox through server/discover: %+v", init)
	}
	return c
}

// dialGo connects a go-sdk client to endpoint, any MCP server, sending
// header on every request; the session closes at cleanup.
func dialGo(t *testing.T, endpoint string, header http.Header) *goClient {
	t.Helper()
	c := &goClient{}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpbox-e2e-go", Version: "1.0.0"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { c.changes.Add(1) },
	})
	transport := &mcp.StreamableClientTransport{
		Endpoint:   endpoint,
		HTTPClient: &http.Client{Transport: headerTransport{header: header, base: http.DefaultTransport}},
		MaxRetries: -1,
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, transport, nil)
	if err != nil {
		t.Fatalf("go-sdk connect to %s: %v", endpoint, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	c.cs = cs
	return c
}

func (c *goClient) listTools(t *testing.T) []listedTool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out []listedTool
	for tool, err := range c.cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("go-sdk tools/list: %v", err)
		}
		out = append(out, reshape[listedTool](t, tool))
	}
	return out
}

func (c *goClient) callTool(t *testing.T, name string, args map[string]any) toolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	r, err := c.cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("go-sdk tools/call %s: %v", name, err)
	}
	return reshape[toolResult](t, r)
}

func (c *goClient) listChanged(*testing.T) (int, bool) { return int(c.changes.Load()), true }

// reshape turns an SDK value into the flow's view of it through its JSON.
func reshape[T any](t *testing.T, v any) T {
	t.Helper()
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return out
}

// headerTransport adds fixed headers to every request, as an edge would.
type headerTransport struct {
	header http.Header
	base   http.RoundTripper
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range h.header {
		r.Header[k] = vs
	}
	return h.base.RoundTrip(r) //nolint:wrapcheck // a transport passes the base transport's error through
}

// remoteEmail is the remote user of the flow through the remote listener.
const remoteEmail = "e2e-user@example.com"

// GW-98: the §16 flow with the go-sdk client on the local listener.
func runGoSDKLocal(t *testing.T, st *interopStack) {
	c := connectGo(t, st.localMCP, nil)
	runFlow(t, st, c, flowCaller{kind: "local"})
}

// GW-98: the §16 flow through the remote listener, as the edge forwards it:
// the service token and a user email whom the policy allows, with remote
// tool editing enabled for the editing calls.
func runGoSDKRemote(t *testing.T, st *interopStack) {
	st.admin.allowRemote(t, remoteEmail)
	header := http.Header{}
	header.Set(proto.HeaderServiceToken, st.gatewayToken)
	header.Set(proto.HeaderUserEmail, remoteEmail)
	// The policy reaches the gateway through the backend's event stream; until
	// then the caller is limited (tools/list gets -32080). A limited caller's
	// subscriptions/listen is refused too, so the flow's client connects after.
	waitFor(t, "the remote-access policy at the gateway", func() (bool, string) {
		probe := connectGo(t, st.remoteMCP, header)
		defer func() { _ = probe.cs.Close() }()
		_, err := probe.cs.ListTools(t.Context(), nil)
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	c := connectGo(t, st.remoteMCP, header)
	runFlow(t, st, c, flowCaller{kind: "remote", email: remoteEmail})
}
