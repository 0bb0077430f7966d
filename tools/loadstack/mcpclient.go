package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpTimeout bounds one MCP request of the seeding (a management call may wait on the sandbox's analyze).
const mcpTimeout = 60 * time.Second

// mcpClient is the go-sdk client (v1.8.0) on the local listener, the trusted local caller that needs no token
// (gateway.md §3): it creates servers and tools through the management tools and watches tools/list.
type mcpClient struct {
	endpoint string
	header   http.Header // added to every request (a remote user's bearer token); nil on the local listener
	cs       *mcp.ClientSession
}

// connectMCP connects to the gateway's /mcp, or through the edge when header carries a bearer token.
func connectMCP(ctx context.Context, endpoint string, header http.Header) (*mcpClient, error) {
	cs, err := openSession(ctx, endpoint, header)
	if err != nil {
		return nil, err
	}
	return &mcpClient{endpoint: endpoint, header: header, cs: cs}, nil
}

// headerTransport adds fixed headers to every request.
type headerTransport struct {
	header http.Header
	next   http.RoundTripper
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range t.header {
		r.Header[k] = vs
	}
	return t.next.RoundTrip(r)
}

// openSession opens one client session; the go-sdk negotiates the modern era through server/discover.
func openSession(ctx context.Context, endpoint string, header http.Header) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpbox-loadstack", Version: "1.0.0"}, nil)
	hc := &http.Client{Timeout: mcpTimeout}
	if len(header) > 0 {
		hc.Transport = headerTransport{header: header, next: http.DefaultTransport}
	}
	transport := &mcp.StreamableClientTransport{
		Endpoint:   endpoint,
		HTTPClient: hc,
		MaxRetries: -1,
	}
	ctx, cancel := context.WithTimeout(ctx, mcpTimeout)
	defer cancel()
	cs, err := client.Connect(ctx, transport, nil)
	if err != nil {
		return nil, fmt.Errorf("MCP connect to %s: %w", endpoint, err)
	}
	return cs, nil
}

func (c *mcpClient) close() { _ = c.cs.Close() }

// manage calls a management tool that must succeed and decodes its structuredContent into out.
func (c *mcpClient) manage(ctx context.Context, tool string, args map[string]any, out any) error {
	r, err := c.call(ctx, tool, args)
	if err != nil {
		return err
	}
	if r.IsError {
		return fmt.Errorf("%s: %s", tool, resultText(r))
	}
	b, err := json.Marshal(r.StructuredContent)
	if err != nil {
		return fmt.Errorf("%s: structuredContent: %w", tool, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: structuredContent %s: %w", tool, truncate(string(b), 200), err)
	}
	return nil
}

// call sends tools/call.
func (c *mcpClient) call(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(ctx, mcpTimeout)
	defer cancel()
	r, err := c.cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return nil, fmt.Errorf("tools/call %s: %w", name, err)
	}
	return r, nil
}

// userTools lists the names of every user tool (all pages), leaving out the management tools. It asks through a
// session of its own: a modern-era session caches tools/list for the result's ttlMs (30 s, gateway.md §7.5), and
// a stateless gateway cannot push the list_changed that would clear that cache.
func (c *mcpClient) userTools(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, mcpTimeout)
	defer cancel()
	cs, err := openSession(ctx, c.endpoint, c.header)
	if err != nil {
		return nil, err
	}
	defer func() { _ = cs.Close() }()
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		if !strings.HasPrefix(tool.Name, "mcpbox_") {
			names = append(names, tool.Name)
		}
	}
	return names, nil
}

// waitUserTools lists tools until there are want user tools, including every name in must: a catalog change
// reaches the gateway through the backend's event stream.
func (c *mcpClient) waitUserTools(ctx context.Context, want int, must ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last []string
	for {
		names, err := c.userTools(ctx)
		if err == nil && len(names) == want && containsAll(names, must) {
			return nil
		}
		if err != nil {
			last = []string{err.Error()}
		} else {
			last = names
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tools/list did not show %d user tools (with %v) within 60 s; it showed %d: %s",
				want, must, len(last), truncate(strings.Join(last, ", "), 300))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// containsAll reports whether every name of must is in names.
func containsAll(names, must []string) bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	for _, m := range must {
		if !set[m] {
			return false
		}
	}
	return true
}

// resultText joins the text items of a result, for messages.
func resultText(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	if len(parts) == 0 {
		return "(no text)"
	}
	return truncate(strings.Join(parts, " "), 300)
}
