package e2e

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// The §16 flow (gateway.md §16): one MCP client creates a server and a Go
// tool, the admin approves it over REST, the client calls it directly and
// through mcpbox_run_tool, updates it (the approved version keeps serving),
// the admin approves the update, and the logs show every call.

// addV1 and addV2 are the two versions of the flow's tool `add` (sandbox.md's
// Go tool language: package tool, Input, Main with a doc comment). Version 2
// also says which version answered, so a call shows the new behaviour.
const (
	addV1 = `package tool

import "context"

// Input holds the two numbers to add.
type Input struct {
	A int ` + "`json:\"a\" jsonschema:\"first addend\"`" + `
	B int ` + "`json:\"b\" jsonschema:\"second addend\"`" + `
}

// Output is the sum.
type Output struct {
	Sum int ` + "`json:\"sum\"`" + `
}

// Main adds a and b.
func Main(ctx context.Context, in Input) (any, error) {
	return Output{Sum: in.A + in.B}, nil
}
`
	addV2 = `package tool

import "context"

// Input holds the two numbers to add.
type Input struct {
	A int ` + "`json:\"a\" jsonschema:\"first addend\"`" + `
	B int ` + "`json:\"b\" jsonschema:\"second addend\"`" + `
}

// Output is the sum and the version that computed it.
type Output struct {
	Sum     int ` + "`json:\"sum\"`" + `
	Version int ` + "`json:\"version\"`" + `
}

// Main adds a and b and says it is version 2.
func Main(ctx context.Context, in Input) (any, error) {
	return Output{Sum: in.A + in.B, Version: 2}, nil
}
`
	wantV1 = `{"sum":42}`
	wantV2 = `{"sum":42,"version":2}`
)

// flowServer is the server the flow creates; flowTool its exposed tool.
const (
	flowServer = "e2e"
	flowTool   = flowServer + "__add"
)

// listedTool is a tools/list entry as the flow reads it.
type listedTool struct {
	Name string `json:"name"`
	Meta struct {
		Tool *struct {
			Version int    `json:"version"`
			Server  string `json:"server"`
		} `json:"io.mcpbox/tool"`
	} `json:"_meta"`
}

// toolResult is a CallToolResult as the flow reads it.
type toolResult struct {
	IsError bool `json:"isError"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	Meta              struct {
		// Execution is what every user-tool result carries (gateway.md §8.5).
		Execution *struct {
			ToolID  string `json:"tool_id"`
			Version int    `json:"version"`
		} `json:"io.mcpbox/execution"`
	} `json:"_meta"`
}

// text is the result's only text item.
func (r toolResult) text(t *testing.T) string {
	t.Helper()
	if len(r.Content) != 1 || r.Content[0].Type != "text" {
		t.Fatalf("result content is not one text item: %+v", r.Content)
	}
	return r.Content[0].Text
}

// mcpClient is one connected MCP client under test.
type mcpClient interface {
	// listTools returns every tool of tools/list (all pages).
	listTools(t *testing.T) []listedTool
	// callTool sends tools/call.
	callTool(t *testing.T, name string, args map[string]any) toolResult
	// listChanged counts the notifications/tools/list_changed the client's
	// handler received; ok is false when the client cannot receive them in
	// this mode (the flow then asserts nothing about push).
	listChanged(t *testing.T) (n int, ok bool)
}

// flowCaller is who the flow's calls come from, as records and logs show it.
type flowCaller struct {
	kind  string // local or remote
	email string // remote only
}

// runFlow runs steps 1–5 of §16 with c against st.
func runFlow(t *testing.T, st *interopStack, c mcpClient, caller flowCaller) {
	t.Helper()
	// 1. tools/list holds the 30 management tools; a previous client's e2e__add is gone.
	tools := waitTools(t, c, "no "+flowTool, func(ts []listedTool) bool { return findFlowTool(ts) == nil })
	checkManagementTools(t, tools)
	srv := manage(t, c, proto.MgmtCreateServer, map[string]any{"name": flowServer})
	serverID, _ := srv["server_id"].(string)
	if serverID == "" || srv["status"] != "stopped" {
		t.Fatalf("mcpbox_create_server: %v", srv)
	}
	t.Cleanup(func() { st.admin.deleteServer(t, serverID) })

	// 2. A draft, then pending_review.
	created := manage(t, c, proto.MgmtCreateTool, map[string]any{"server_id": serverID, "name": "add", "code": addV1})
	toolID, _ := created["tool_id"].(string)
	if toolID == "" || created["review_status"] != "draft" || created["exposed_name"] != flowTool || created["version"] != 1.0 {
		t.Fatalf("mcpbox_create_tool: %v", created)
	}
	published := manage(t, c, proto.MgmtRequestPublish, map[string]any{"tool_id": toolID})
	if published["review_status"] != "pending_review" {
		t.Fatalf("mcpbox_request_publish: %v", published)
	}
	if e := findFlowTool(c.listTools(t)); e != nil {
		t.Errorf("tools/list serves the pending %s: %+v", flowTool, e)
	}

	// 3. The admin approves version 1; starting the server lists the tool.
	if v := st.admin.approveLatest(t, toolID); v != 1 {
		t.Fatalf("approved version %d, want 1", v)
	}
	if e := findFlowTool(c.listTools(t)); e != nil {
		t.Errorf("tools/list serves %s of a stopped server: %+v", flowTool, e)
	}
	pushed, canPush := c.listChanged(t)
	started := manage(t, c, proto.MgmtStartServer, map[string]any{"server_id": serverID})
	if started["status"] != "running" || started["live_tool_count"] != 1.0 {
		t.Fatalf("mcpbox_start_server: %v", started)
	}
	if canPush {
		waitFor(t, "notifications/tools/list_changed after mcpbox_start_server", func() (bool, string) {
			n, _ := c.listChanged(t)
			return n > pushed, fmt.Sprintf("%d notifications, %d before the start", n, pushed)
		})
	}
	// The tool is listed; for a client without push right after the start
	// returned (GW-86: the gateway waits for the start's catalog revision).
	checkListedVersion(t, c.listTools(t), 1)

	// 4. The direct call and mcpbox_run_tool give {"sum":42}.
	checkCalls(t, c, toolID, 1, wantV1)

	// 5. An update waits for review while version 1 keeps serving.
	updated := manage(t, c, proto.MgmtUpdateTool, map[string]any{"tool_id": toolID, "code": addV2})
	if updated["version"] != 2.0 || updated["review_status"] != "pending_review" || updated["changed"] != true {
		t.Fatalf("mcpbox_update_tool: %v", updated)
	}
	checkListedVersion(t, c.listTools(t), 1)
	checkCalls(t, c, toolID, 1, wantV1)
	if v := st.admin.approveLatest(t, toolID); v != 2 {
		t.Fatalf("approved version %d, want 2", v)
	}
	waitTools(t, c, flowTool+" at version 2", func(ts []listedTool) bool {
		e := findFlowTool(ts)
		return e != nil && e.Meta.Tool != nil && e.Meta.Tool.Version == 2
	})
	checkCalls(t, c, toolID, 2, wantV2)
	checkLogs(t, st, c, toolID, caller)
}

// manage calls a management tool that must succeed and returns its
// structuredContent, checking the text item is the same JSON (§10.2).
func manage(t *testing.T, c mcpClient, tool proto.ManagementTool, args map[string]any) map[string]any {
	t.Helper()
	r := c.callTool(t, string(tool), args)
	if r.IsError {
		t.Fatalf("%s: isError: %+v", tool, r.Content)
	}
	checkSameJSON(t, string(tool), r)
	var out map[string]any
	if err := json.Unmarshal(r.StructuredContent, &out); err != nil {
		t.Fatalf("%s: structuredContent %s: %v", tool, r.StructuredContent, err)
	}
	return out
}

// checkSameJSON checks that the text item holds the same JSON value as
// structuredContent (the client decoded structuredContent, so key order is
// the client's).
func checkSameJSON(t *testing.T, what string, r toolResult) {
	t.Helper()
	if !sameJSON(r.text(t), string(r.StructuredContent)) {
		t.Errorf("%s: text %s, structuredContent %s", what, r.text(t), r.StructuredContent)
	}
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b string) bool {
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

// checkCalls calls the flow's tool directly and through mcpbox_run_tool with
// {a: 2, b: 40}; both must return want as structuredContent and as text,
// and say in _meta["io.mcpbox/execution"] that version of toolID ran.
func checkCalls(t *testing.T, c mcpClient, toolID string, version int, want string) {
	t.Helper()
	args := map[string]any{"a": 2, "b": 40}
	for _, call := range []struct {
		name string
		args map[string]any
	}{
		{flowTool, args},
		{string(proto.MgmtRunTool), map[string]any{"name": flowTool, "arguments": args}},
	} {
		r := c.callTool(t, call.name, call.args)
		if r.IsError {
			t.Fatalf("%s: isError: %+v", call.name, r.Content)
		}
		if !sameJSON(string(r.StructuredContent), want) {
			t.Errorf("%s: structuredContent %s, want %s", call.name, r.StructuredContent, want)
		}
		if got := r.text(t); got != want {
			t.Errorf("%s: text %s, want %s", call.name, got, want)
		}
		if e := r.Meta.Execution; e == nil || e.ToolID != toolID || e.Version != version {
			t.Errorf("%s: _meta io.mcpbox/execution %+v, want version %d of %s", call.name, e, version, toolID)
		}
	}
}

// checkLogs waits for the six records of the flow's calls and checks their
// versions, ways and callers through mcpbox_get_tool_logs and the admin API.
func checkLogs(t *testing.T, st *interopStack, c mcpClient, toolID string, caller flowCaller) {
	t.Helper()
	type logItem struct {
		Via         string  `json:"via"`
		Success     bool    `json:"success"`
		Version     int     `json:"version"`
		CallerEmail *string `json:"caller_email"`
	}
	var items []logItem
	waitFor(t, "six records in mcpbox_get_tool_logs", func() (bool, string) {
		logs := manage(t, c, proto.MgmtGetToolLogs, map[string]any{"tool_id": toolID})
		raw, _ := json.Marshal(logs["items"])
		items = nil
		if err := json.Unmarshal(raw, &items); err != nil {
			t.Fatalf("mcpbox_get_tool_logs items %s: %v", raw, err)
		}
		return len(items) >= 6, string(raw)
	})
	// Newest first: version 2 run_tool, direct; then four calls of version 1.
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("v%d %s %v %s", it.Version, it.Via, it.Success, deref(it.CallerEmail)))
	}
	var want []string
	for i, v := range []int{2, 2, 1, 1, 1, 1} {
		via := "run_tool"
		if i%2 == 1 {
			via = "direct"
		}
		want = append(want, fmt.Sprintf("v%d %s true %s", v, via, caller.email))
	}
	if !slices.Equal(got, want) {
		t.Errorf("mcpbox_get_tool_logs:\n got %q\nwant %q", got, want)
	}
	// The admin's view of the same records also says which listener they came from.
	got = nil
	for _, e := range st.admin.executions(t, toolID) {
		if e.CallerKind != caller.kind {
			t.Errorf("GET /api/v1/executions: a record of caller kind %s, want %s", e.CallerKind, caller.kind)
		}
		got = append(got, fmt.Sprintf("v%d %s %v %s", e.ToolVersion, e.Via, e.Success, deref(e.CallerEmail)))
	}
	if !slices.Equal(got, want) {
		t.Errorf("GET /api/v1/executions?tool_id=%s:\n got %q\nwant %q", toolID, got, want)
	}
}

// deref is *p, or "" for nil (a JSON null).
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// checkManagementTools checks that tools/list holds exactly the 30
// management tools among its mcpbox_* entries.
func checkManagementTools(t *testing.T, tools []listedTool) {
	t.Helper()
	var got, want []string
	for _, tl := range tools {
		if strings.HasPrefix(tl.Name, "mcpbox_") {
			got = append(got, tl.Name)
		}
	}
	for _, m := range proto.ManagementTools() {
		want = append(want, string(m))
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) != 30 || !slices.Equal(got, want) {
		t.Fatalf("tools/list management tools:\n got %v\nwant %v", got, want)
	}
}

// checkListedVersion checks that tools/list serves the flow's tool at version.
func checkListedVersion(t *testing.T, tools []listedTool, version int) {
	t.Helper()
	e := findFlowTool(tools)
	if e == nil || e.Meta.Tool == nil || e.Meta.Tool.Version != version || e.Meta.Tool.Server != flowServer {
		t.Fatalf("tools/list entry of %s: %+v, want version %d of server %s", flowTool, e, version, flowServer)
	}
}

// findFlowTool returns the tools/list entry of the flow's tool, or nil.
func findFlowTool(tools []listedTool) *listedTool {
	for i := range tools {
		if tools[i].Name == flowTool {
			return &tools[i]
		}
	}
	return nil
}

// waitTools lists tools until ok holds (a catalog change reaches the gateway
// through the backend's event stream).
func waitTools(t *testing.T, c mcpClient, what string, ok func([]listedTool) bool) []listedTool {
	t.Helper()
	var tools []listedTool
	waitFor(t, "tools/list with "+what, func() (bool, string) {
		tools = c.listTools(t)
		names := make([]string, 0, len(tools))
		for _, tl := range tools {
			if !strings.HasPrefix(tl.Name, "mcpbox_") {
				names = append(names, tl.Name)
			}
		}
		return ok(tools), fmt.Sprintf("user tools %v", names)
	})
	return tools
}

// waitFor polls cond every 100 ms for up to 10 s (generous: only to avoid
// hangs); last describes the state for the failure message.
func waitFor(t *testing.T, what string, cond func() (ok bool, last string)) {
	t.Helper()
	waitForWithin(t, 10*time.Second, what, cond)
}

// waitForWithin is waitFor with another bound.
func waitForWithin(t *testing.T, within time.Duration, what string, cond func() (ok bool, last string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s; last: %s", what, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
