package mcpclient

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
)

func okTool(f *fixture, name string) *mcp.Tool {
	tool := &mcp.Tool{Name: name}
	f.addTool(tool, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil
	})
	return tool
}

func mustCall(t *testing.T, c *Client, req proto.MCPCallRequest) proto.MCPCallResponse {
	t.Helper()
	resp, err := c.Call(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.OK {
		t.Fatalf("call failed: %+v", resp.Error)
	}
	return resp
}

func TestSB81_SessionPool(t *testing.T) {
	t.Parallel()

	t.Run("same key reuses, other headers or policy open new sessions", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0)
		tool := okTool(f, "t")
		c := newTestClient(t, plainClient(t), Options{})
		req := pin(t, f.srv.URL, tool, `{}`)
		req.Headers = map[string]string{"Authorization": "Bearer token-one-123456"}
		if r := mustCall(t, c, req); r.Session != proto.SessionNew {
			t.Errorf("first call session %q", r.Session)
		}
		if r := mustCall(t, c, req); r.Session != proto.SessionReused {
			t.Errorf("second call session %q", r.Session)
		}
		if n := f.inits.Load(); n != 1 {
			t.Errorf("initialize sent %d times for one key", n)
		}
		other := req
		other.Headers = map[string]string{"Authorization": "Bearer token-two-123456"}
		if r := mustCall(t, c, other); r.Session != proto.SessionNew {
			t.Errorf("other headers session %q", r.Session)
		}
		policy := req
		policy.AllowedHosts = proto.OnlyHosts("127.0.0.1")
		if r := mustCall(t, c, policy); r.Session != proto.SessionNew {
			t.Errorf("other policy session %q", r.Session)
		}
		if n := f.inits.Load(); n != 3 {
			t.Errorf("initialize sent %d times for three keys", n)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, a := range f.lastAuth {
			if a != "" && !strings.HasPrefix(a, "Bearer token-") {
				t.Errorf("unexpected Authorization %q", a)
			}
		}
	})

	t.Run("concurrent calls are not serialised", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0)
		const n = 4
		var arrived sync.WaitGroup
		arrived.Add(n)
		release := make(chan struct{})
		tool := &mcp.Tool{Name: "wait"}
		f.addTool(tool, func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			arrived.Done()
			select {
			case <-release:
			case <-ctx.Done():
			}
			return &mcp.CallToolResult{Content: []mcp.Content{}}, nil
		})
		warm := okTool(f, "warm")
		c := newTestClient(t, plainClient(t), Options{})
		mustCall(t, c, pin(t, f.srv.URL, warm, `{}`))
		var wg sync.WaitGroup
		var reused atomic.Int64
		for range n {
			wg.Go(func() {
				resp, err := c.Call(t.Context(), pin(t, f.srv.URL, tool, `{}`))
				if err != nil || !resp.OK {
					t.Errorf("call: %v %+v", err, resp.Error)
				}
				if resp.Session == proto.SessionReused {
					reused.Add(1)
				}
			})
		}
		arrived.Wait() // all n calls are inside the tool at once on one session
		close(release)
		wg.Wait()
		if reused.Load() != n {
			t.Errorf("%d of %d calls reused the session", reused.Load(), n)
		}
	})

	t.Run("404 with a session id re-initialises once and calls once", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0)
		tool := okTool(f, "t")
		c := newTestClient(t, plainClient(t), Options{})
		req := pin(t, f.srv.URL, tool, `{}`)
		mustCall(t, c, req)
		f.expireSessions()
		resp := mustCall(t, c, req)
		if resp.Session != proto.SessionNew {
			t.Errorf("session %q after expiry", resp.Session)
		}
		if n := f.calls.Load(); n != 2 {
			t.Errorf("tool executed %d times, want 2", n)
		}
		if n := f.inits.Load(); n != 2 {
			t.Errorf("initialize sent %d times, want 2", n)
		}
	})

	t.Run("refused connection is retried", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0)
		tool := okTool(f, "t")
		closed, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		deadAddr := closed.Addr().String()
		_ = closed.Close()
		var dials atomic.Int64
		hc := func(proto.AllowedHosts) (*http.Client, error) {
			d := &net.Dialer{}
			return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if dials.Add(1) == 1 {
					return d.DialContext(ctx, network, deadAddr) // refused
				}
				return d.DialContext(ctx, network, addr)
			}}}, nil
		}
		c := newTestClient(t, hc, Options{})
		resp := mustCall(t, c, pin(t, f.srv.URL, tool, `{}`))
		if resp.Session != proto.SessionNew || f.calls.Load() != 1 || dials.Load() < 2 {
			t.Errorf("session %q calls %d dials %d", resp.Session, f.calls.Load(), dials.Load())
		}
	})

	t.Run("timeout after sending is not retried", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0)
		tool := &mcp.Tool{Name: "slow"}
		release := make(chan struct{})
		f.addTool(tool, func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case <-ctx.Done():
			case <-release:
			}
			return &mcp.CallToolResult{Content: []mcp.Content{}}, nil
		})
		warm := okTool(f, "warm")
		c := newTestClient(t, plainClient(t), Options{})
		mustCall(t, c, pin(t, f.srv.URL, warm, `{}`))
		req := pin(t, f.srv.URL, tool, `{}`)
		req.TimeoutMS = 300
		resp, err := c.Call(t.Context(), req)
		close(release)
		if err != nil {
			t.Fatal(err)
		}
		if resp.OK || resp.Error == nil || resp.Error.Type != proto.ErrTypeTimeout {
			t.Fatalf("want Timeout, got %+v", resp.Error)
		}
		if n := f.calls.Load(); n != 2 { // warm + one slow
			t.Errorf("tool executions %d, want 2 (no retry)", n)
		}
	})

	t.Run("eviction and expiry send DELETE", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 0)
		tool := okTool(f, "t")
		var now atomic.Int64
		now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
		clock := func() time.Time { return time.Unix(0, now.Load()) }
		c := New(discardLog(), newRegistry(), plainClient(t), Options{MaxSessions: 1, Now: clock})
		a := pin(t, f.srv.URL, tool, `{}`)
		mustCall(t, c, a)
		sa := c.pool.get(mustKey(t, a))
		firstID := sa.cs.ID()
		c.pool.release(sa, false)
		b := a
		b.Headers = map[string]string{"X-Api-Key": "another-key-123"}
		mustCall(t, c, b) // evicts a (LRU, max 1)
		sb := c.pool.get(mustKey(t, b))
		secondID := sb.cs.ID()
		c.pool.release(sb, false)
		now.Add(int64(6 * time.Minute)) // idle expiry of b
		if s := c.pool.get(mustKey(t, b)); s != nil {
			t.Error("idle session still pooled")
		}
		c.closing.Wait()
		got := f.deletedIDs()
		if len(got) != 2 || got[0] != firstID || got[1] != secondID || firstID == "" {
			t.Errorf("DELETE for %q, want [%s %s]", got, firstID, secondID)
		}
		c.Close()
	})
}

func mustKey(t *testing.T, r proto.MCPCallRequest) string {
	t.Helper()
	s, err := newSource(r.URL, r.Headers, r.AllowedHosts)
	if err != nil {
		t.Fatal(err)
	}
	return s.key
}
