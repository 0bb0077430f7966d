package mcpserve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// streamBlocks reads the SSE blocks of resp in the background until its
// body is closed.
func streamBlocks(t *testing.T, resp *http.Response) <-chan mcpservetest.Event {
	t.Helper()
	ch := make(chan mcpservetest.Event, 64)
	go func() {
		defer close(ch)
		for ev := range mcpservetest.Events(resp.Body) {
			ch <- ev
		}
	}()
	return ch
}

// checkFraming fails when a block mixes a comment with event fields or
// carries data that is not one JSON message: a keepalive written inside
// an event would do either.
func checkFraming(t *testing.T, ev mcpservetest.Event) {
	t.Helper()
	if len(ev.Comments) > 0 {
		if ev.Name != "" || ev.Data != "" || len(ev.Comments) != 1 || (ev.Comments[0] != "ok" && ev.Comments[0] != "keepalive") {
			t.Errorf("malformed comment block %q", ev.Raw)
		}
		return
	}
	if ev.Name != "message" || !json.Valid([]byte(ev.Data)) {
		t.Errorf("malformed event %q", ev.Raw)
	}
}

// awaitKeepalives reads blocks until n keepalives and every wanted event
// method arrived; meanwhile after runs once, after the first keepalive.
func awaitKeepalives(t *testing.T, blocks <-chan mcpservetest.Event, n int, wantMethod string, after func()) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	keepalives, sawMethod := 0, wantMethod == ""
	for keepalives < n || !sawMethod {
		select {
		case ev, ok := <-blocks:
			if !ok {
				t.Fatalf("stream ended after %d keepalives", keepalives)
			}
			checkFraming(t, ev)
			if len(ev.Comments) == 1 && ev.Comments[0] == "keepalive" {
				keepalives++
				if keepalives == 1 && after != nil {
					after()
				}
			}
			if wantMethod != "" && strings.Contains(ev.Data, `"method":"`+wantMethod+`"`) {
				sawMethod = true
			}
		case <-timeout:
			t.Fatalf("%d keepalives, event %s seen: %v", keepalives, wantMethod, sawMethod)
		}
	}
}

// GW-15: an idle GET stream (hybrid) and an idle listen stream (both
// modes) receive ": keepalive" at the configured interval, never inside an
// event: a list_changed pushed between keepalives keeps the framing.
func TestGW15_Keepalive(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	t.Run("GET stream", func(t *testing.T) {
		t.Parallel()
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid, SSEKeepalive: interval})
		id := initSession(t, h, caller.ListenerLocal, nil)
		resp := h.Stream(t, mcpservetest.Req{Method: http.MethodGet, Header: mcpservetest.Headers(
			"Mcp-Session-Id", id, "Mcp-Protocol-Version", "2025-11-25", "Accept", "text/event-stream")})
		defer func() { _ = resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET: status %d", resp.StatusCode)
		}
		awaitKeepalives(t, streamBlocks(t, resp), 3, "notifications/tools/list_changed", func() {
			h.SetCatalog(t, catalogOf(2, "weather__forecast"))
		})
	})
	for _, mode := range modes() {
		t.Run("listen stream "+mode, func(t *testing.T) {
			t.Parallel()
			h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode, SSEKeepalive: interval})
			params := mcpservetest.ModernParams(map[string]any{"notifications": map[string]any{"toolsListChanged": true}})
			resp := h.Stream(t, mcpservetest.Req{
				Body:   mcpservetest.Body(1, "subscriptions/listen", params),
				Header: mcpservetest.ModernHeaders("subscriptions/listen", ""),
			})
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("listen: status %d", resp.StatusCode)
			}
			awaitKeepalives(t, streamBlocks(t, resp), 3, "notifications/tools/list_changed", func() {
				h.SetCatalog(t, catalogOf(2, "weather__forecast"))
			})
		})
	}
}

// GW-15 (a long call's response): a tool call that runs for several
// keepalive intervals without progress gets keepalives on its own response
// before the result, never inside an event.
func TestKeepaliveOnLongCall(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	h := mcpservetest.Start(t, mcpservetest.Config{SSEKeepalive: interval, Catalog: catalogOf(1, "slow__tool")})
	h.Calls.UserFunc = func(ctx context.Context, _ caller.Caller, _ string, _ json.RawMessage) *mcp.CallToolResult {
		time.Sleep(5 * interval)
		return mcpservetest.Text("done")
	}
	resp := post(t, h, caller.ListenerLocal, mcpservetest.Body(1, "tools/call", map[string]any{"name": "slow__tool"}), nil)
	keepalives, results := 0, 0
	for ev := range mcpservetest.Events(bytes.NewReader(resp.Body)) {
		checkFraming(t, ev)
		if len(ev.Comments) == 1 && ev.Comments[0] == "keepalive" {
			if results > 0 {
				t.Error("keepalive after the result")
			}
			keepalives++
		}
		if strings.Contains(ev.Data, `"result"`) {
			results++
		}
	}
	if keepalives == 0 || results != 1 {
		t.Errorf("%d keepalives, %d results", keepalives, results)
	}
}

// waitSignal waits for a signal on ch.
func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second): // the product target is 2 s; the wait only avoids hangs
		t.Fatalf("no %s", what)
	}
}

// awaitChange makes change i (i = 1, 2, ...) until a signal arrives on ch
// within a second of one: a client attaches its stream in the background,
// and a notification sent before that is lost.
func awaitChange(t *testing.T, ch <-chan struct{}, what string, change func(i int)) {
	t.Helper()
	for i := 1; i <= 5; i++ {
		change(i)
		select {
		case <-ch:
			return
		case <-time.After(time.Second):
		}
	}
	t.Fatalf("no %s", what)
}

// signal returns a channel and a non-blocking sender for it.
func signal() (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	return ch, func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// GW-16: after a catalog change, an open hybrid GET stream receives
// notifications/tools/list_changed; in stateless mode a
// subscriptions/listen stream receives it too (the go-sdk clients, initialize
// era with its GET stream and modern era with its listen stream).
func TestGW16_ListChanged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode, version string
	}{
		{mcpserve.ModeHybrid, "2025-11-25"},
		{mcpserve.ModeStateless, ""},
		{mcpserve.ModeHybrid, ""},
	} {
		t.Run(tc.mode+"/"+tc.version, func(t *testing.T) {
			t.Parallel()
			h := mcpservetest.Start(t, mcpservetest.Config{Mode: tc.mode})
			changed, notify := signal()
			cs := h.Connect(t, mcpservetest.ClientOptions{ProtocolVersion: tc.version, ToolListChanged: notify})
			if _, err := cs.ListTools(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			awaitChange(t, changed, "list_changed", func(i int) {
				h.SetCatalog(t, catalogOf(int64(1+i), "weather__forecast", fmt.Sprintf("weather__v%d", i)))
			})
		})
	}
}

// progressLog collects progress notifications.
type progressLog struct {
	mu sync.Mutex
	ps []*mcp.ProgressNotificationParams
}

func (p *progressLog) add(n *mcp.ProgressNotificationParams) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ps = append(p.ps, n)
}

func (p *progressLog) all() []*mcp.ProgressNotificationParams {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*mcp.ProgressNotificationParams(nil), p.ps...)
}

// GW-17: a user-tool call with a progressToken that runs 3 intervals
// receives at least 2 notifications/progress with strictly increasing
// progress, total = the tool's timeout in seconds and the message of §5.6,
// in both modes (and both eras); without a token it receives none.
func TestGW17_Progress(t *testing.T) {
	t.Parallel()
	const interval = 200 * time.Millisecond
	for _, tc := range []struct{ mode, version string }{
		{mcpserve.ModeStateless, ""},
		{mcpserve.ModeStateless, "2025-11-25"},
		{mcpserve.ModeHybrid, "2025-11-25"},
		{mcpserve.ModeHybrid, ""},
	} {
		t.Run(tc.mode+"/"+tc.version, func(t *testing.T) {
			t.Parallel()
			tool := mcpservetest.Tool("weather__forecast")
			tool.TimeoutMS = 120000
			h := mcpservetest.Start(t, mcpservetest.Config{
				Mode: tc.mode, ProgressInterval: interval, Catalog: proto.Catalog{Revision: 1, Tools: []proto.CatalogTool{tool}},
			})
			h.Calls.UserFunc = func(context.Context, caller.Caller, string, json.RawMessage) *mcp.CallToolResult {
				time.Sleep(3*interval + interval/2)
				return mcpservetest.Text("done")
			}
			var got progressLog
			cs := h.Connect(t, mcpservetest.ClientOptions{ProtocolVersion: tc.version, Progress: got.add})
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{
				Name: "weather__forecast", Arguments: map[string]any{}, Meta: mcp.Meta{"progressToken": "tok-1"},
			})
			if err != nil || res.IsError {
				t.Fatalf("call: %v %+v", err, res)
			}
			ps := got.all()
			if len(ps) < 2 {
				t.Fatalf("%d progress notifications", len(ps))
			}
			for i, p := range ps {
				if p.ProgressToken != "tok-1" || p.Total != 120 || p.Message != mcpserve.ProgressMessage("weather__forecast", int(p.Progress), 120) {
					t.Errorf("notification %d: %+v", i, p)
				}
				if i > 0 && p.Progress <= ps[i-1].Progress {
					t.Errorf("progress %v after %v", p.Progress, ps[i-1].Progress)
				}
			}
			n := len(ps)
			if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "weather__forecast", Arguments: map[string]any{}}); err != nil {
				t.Fatal(err)
			}
			if len(got.all()) != n {
				t.Errorf("a call without a token got progress")
			}
		})
	}
}

// Progress totals of the management tools (§5.6): mcpbox_run_tool takes
// the named tool's timeout, mcpbox_test_code 330 s, other tools none.
func TestProgressManagementTotals(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	tool := mcpservetest.Tool("weather__forecast")
	tool.TimeoutMS = 45500
	h := mcpservetest.Start(t, mcpservetest.Config{ProgressInterval: interval, Catalog: proto.Catalog{Revision: 1, Tools: []proto.CatalogTool{tool}}})
	h.Calls.MgmtFunc = func(context.Context, caller.Caller, proto.ManagementTool, json.RawMessage) *mcp.CallToolResult {
		time.Sleep(3 * interval)
		return mcpservetest.Text("done")
	}
	for _, tc := range []struct {
		tool  string
		args  map[string]any
		total float64
	}{
		{"mcpbox_run_tool", map[string]any{"name": "weather__forecast"}, 46},
		{"mcpbox_test_code", map[string]any{"tool_id": "00000000-0000-4000-8000-000000000001"}, 330},
		{"mcpbox_discover_external_tools", map[string]any{"source_id": "00000000-0000-4000-8000-000000000001"}, 90},
		{"mcpbox_list_servers", map[string]any{}, 0},
	} {
		var got progressLog
		cs := h.Connect(t, mcpservetest.ClientOptions{Progress: got.add})
		if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tc.tool, Arguments: tc.args, Meta: mcp.Meta{"progressToken": 7}}); err != nil {
			t.Fatal(err)
		}
		ps := got.all()
		if tc.total == 0 {
			if len(ps) != 0 {
				t.Errorf("%s: %d progress notifications", tc.tool, len(ps))
			}
			continue
		}
		if len(ps) == 0 || ps[0].Total != tc.total || !strings.HasPrefix(ps[0].Message, "Running "+tc.tool+":") {
			t.Errorf("%s: %+v", tc.tool, ps)
		}
	}
}

// GW-44: with remote_tool_editing disabled, remote tools/list still lists
// the gated tools with the note at the end of their descriptions, the
// local listing has no note; enabling removes the note and a remote
// session gets list_changed.
func TestGW44_RemoteEditingNote(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Mode: mcpserve.ModeHybrid})
	descriptions := func(cs *mcp.ClientSession) map[string]string {
		t.Helper()
		res, err := cs.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, tool := range res.Tools {
			out[tool.Name] = tool.Description
		}
		return out
	}
	changed, notify := signal()
	remote := h.Connect(t, mcpservetest.ClientOptions{
		Listener: caller.ListenerRemote, Email: "a@example.com",
		ProtocolVersion: "2025-11-25", ToolListChanged: notify,
	})
	local := h.Connect(t, mcpservetest.ClientOptions{ProtocolVersion: "2025-11-25"})
	check := func(editing bool) {
		t.Helper()
		r, l := descriptions(remote), descriptions(local)
		for _, tool := range proto.ManagementTools() {
			if r[string(tool)] != tool.RemoteDef(editing).Description || l[string(tool)] != tool.Def().Description {
				t.Errorf("editing %v, %s: remote %q, local %q", editing, tool, r[string(tool)], l[string(tool)])
			}
			if noted := strings.HasSuffix(r[string(tool)], proto.RemoteEditingNote); noted != (tool.Gated() && !editing) {
				t.Errorf("editing %v, %s: note %v", editing, tool, noted)
			}
		}
	}
	check(false)
	// A catalog change proves the remote session's GET stream is attached.
	awaitChange(t, changed, "list_changed after a catalog change", func(i int) {
		h.SetCatalog(t, catalogOf(int64(1+i), fmt.Sprintf("weather__v%d", i)))
	})
	p := mcpservetest.DefaultPolicy()
	p.Revision, p.RemoteToolEditing = 2, proto.ToggleEnabled
	h.SetPolicy(t, p)
	waitSignal(t, changed, "list_changed on the remote session")
	check(true)
}
