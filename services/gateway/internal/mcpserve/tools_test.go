package mcpserve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// listPage is one raw tools/list page.
type listPage struct {
	Tools      []json.RawMessage `json:"tools"`
	NextCursor string            `json:"nextCursor"`
	TTLMs      int               `json:"ttlMs"`
	CacheScope string            `json:"cacheScope"`
	ResultType string            `json:"resultType"`
}

// listAll pages through the raw tools/list of listener and returns every
// tool definition, in order.
func listAll(t *testing.T, h *mcpservetest.Harness, listener string, hdr http.Header) []json.RawMessage {
	t.Helper()
	var all []json.RawMessage
	cursor := ""
	for range 100 {
		var params map[string]any
		if cursor != "" {
			params = map[string]any{"cursor": cursor}
		}
		var page listPage
		result(t, rpc(t, h, listener, mcpservetest.Body(1, "tools/list", params), hdr, http.StatusOK), &page)
		all = append(all, page.Tools...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	t.Fatal("tools/list never ended")
	return nil
}

// names returns the names of raw tool definitions.
func names(t *testing.T, defs []json.RawMessage) []string {
	t.Helper()
	out := make([]string, 0, len(defs))
	for _, d := range defs {
		var v struct{ Name string }
		if err := json.Unmarshal(d, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.Name)
	}
	return out
}

// managementNames returns the 30 management tool names.
func managementNames() []string {
	var out []string
	for _, t := range proto.ManagementTools() {
		out = append(out, string(t))
	}
	return out
}

// GW-42: with the backend down at start, the remote listener answers 503
// -32082; the local listener still answers tools/list with the management
// tools.
func TestGW42_BackendDownAtStart(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{BackendDown: true})
	resp := post(t, h, caller.ListenerRemote, mcpservetest.Body(1, "tools/list", nil), remoteUser("a@example.com"))
	m := resp.Response(t)
	if resp.Status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" || m.Error == nil || m.Error.Code != -32082 {
		t.Errorf("remote: status %d, Retry-After %q, %+v", resp.Status, resp.Header.Get("Retry-After"), m.Error)
	}
	got := names(t, listAll(t, h, caller.ListenerLocal, nil))
	want := managementNames()
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("local tools/list: %v", got)
	}
}

// GW-56 (listing level): before the first catalog load tools/list holds
// the 30 management tools, and a user-tool call goes to Calls.User (which
// owns the "still loading" text).
func TestGW56_BeforeFirstLoad(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{BackendDown: true})
	if got := names(t, listAll(t, h, caller.ListenerLocal, nil)); len(got) != 30 {
		t.Errorf("tools/list: %v", got)
	}
	m := rpc(t, h, caller.ListenerLocal, mcpservetest.Body(2, "tools/call", map[string]any{"name": "weather__forecast"}), nil, http.StatusOK)
	if m.Error != nil {
		t.Fatalf("call: %+v", m.Error)
	}
	if calls := h.Calls.Calls(); len(calls) != 1 || calls[0].Name != "weather__forecast" || calls[0].Management {
		t.Errorf("calls %+v", calls)
	}
}

// GW-49 (listing level): tools/list holds exactly the callable tools plus
// the 30 management tools; withheld tools (draft, pending, rejected,
// disabled, stopped server) are absent.
func TestGW49_ListingHoldsCallableTools(t *testing.T) {
	t.Parallel()
	cat := catalogOf(1, "weather__forecast", "weather__alerts", "files__read")
	for i, reason := range []proto.WithheldReason{
		proto.WithheldDraft, proto.WithheldPendingReview, proto.WithheldRejected,
		proto.WithheldDisabled, proto.WithheldServerStopped, proto.WithheldSourceUnusable,
	} {
		cat.Withheld = append(cat.Withheld, proto.WithheldTool{
			ToolID: fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i), ServerID: "00000000-0000-4000-8000-000000000099",
			Name: "held__" + string(reason), Version: 1, Reason: reason,
		})
	}
	h := mcpservetest.Start(t, mcpservetest.Config{Catalog: cat})
	want := append(managementNames(), "weather__forecast", "weather__alerts", "files__read")
	sort.Strings(want)
	for _, l := range []string{caller.ListenerLocal, caller.ListenerRemote} {
		if got := names(t, listAll(t, h, l, remoteUser("a@example.com"))); !slices.Equal(got, want) {
			t.Errorf("%s: %v", l, got)
		}
	}
	// A change removes and adds.
	h.SetCatalog(t, catalogOf(2, "weather__forecast", "news__headlines"))
	want = append(managementNames(), "weather__forecast", "news__headlines")
	sort.Strings(want)
	if got := names(t, listAll(t, h, caller.ListenerLocal, nil)); !slices.Equal(got, want) {
		t.Errorf("after the change: %v", got)
	}
}

// GW-50: the order is ascending by name, identical across calls and across
// two gateway instances; paging with 100 per page over 250 user tools
// returns each tool once; an invalid cursor gets -32602.
func TestGW50_OrderAndPaging(t *testing.T) {
	t.Parallel()
	var tools []string
	for i := 249; i >= 0; i-- { // the catalog's order is not the listing's
		tools = append(tools, fmt.Sprintf("srv%d__tool%03d", i%7, i))
	}
	cat := catalogOf(1, tools...)
	a := mcpservetest.Start(t, mcpservetest.Config{Catalog: cat})
	b := mcpservetest.Start(t, mcpservetest.Config{Catalog: cat, Mode: mcpserve.ModeHybrid})
	first := listAll(t, a, caller.ListenerLocal, nil)
	got := names(t, first)
	if len(got) != 280 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != 280 {
		t.Fatalf("%d tools, sorted %v", len(got), slices.IsSorted(got))
	}
	for _, other := range [][]json.RawMessage{listAll(t, a, caller.ListenerLocal, nil), listAll(t, b, caller.ListenerLocal, nil)} {
		if len(other) != len(first) {
			t.Fatalf("%d tools", len(other))
		}
		for i := range first {
			if !bytes.Equal(first[i], other[i]) {
				t.Fatalf("tool %d differs: %s vs %s", i, first[i], other[i])
			}
		}
	}
	var page listPage
	result(t, rpc(t, a, caller.ListenerLocal, mcpservetest.Body(1, "tools/list", nil), nil, http.StatusOK), &page)
	if len(page.Tools) != 100 || page.NextCursor == "" {
		t.Errorf("first page: %d tools, cursor %q", len(page.Tools), page.NextCursor)
	}
	m := rpc(t, a, caller.ListenerLocal, mcpservetest.Body(2, "tools/list", map[string]any{"cursor": "not-a-cursor"}), nil, http.StatusOK)
	if m.Error == nil || m.Error.Code != -32602 {
		t.Errorf("invalid cursor: %+v", m)
	}
}

// GW-51: a user tool definition has name, description, inputSchema,
// outputSchema when known, annotations exactly as the catalog gives them
// when present, and _meta["io.mcpbox/tool"] {id, version, server}.
func TestGW51_UserToolDefinition(t *testing.T) {
	t.Parallel()
	plain := mcpservetest.Tool("weather__forecast")
	rich := mcpservetest.Tool("ext__search")
	rich.Kind, rich.Version = proto.ToolKindExternal, 3
	rich.Description = "Searches <the web> & more."
	rich.InputSchema = json.RawMessage(`{"type":"object","properties":{"q":{"type":"string","maxLength":200}},"required":["q"]}`)
	rich.OutputSchema = json.RawMessage(`{"type":"object","properties":{"hits":{"type":"array"}}}`)
	rich.Annotations = json.RawMessage(`{"title":"Search","readOnlyHint":true,"x-vendor":{"a":1}}`)
	h := mcpservetest.Start(t, mcpservetest.Config{Catalog: proto.Catalog{Revision: 1, Tools: []proto.CatalogTool{plain, rich}}})
	defs := map[string]map[string]json.RawMessage{}
	for _, raw := range listAll(t, h, caller.ListenerLocal, nil) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		var name string
		_ = json.Unmarshal(m["name"], &name)
		defs[name] = m
	}
	for _, tool := range []proto.CatalogTool{plain, rich} {
		d := defs[tool.Name]
		want := []string{"name", "description", "inputSchema", "_meta"}
		if tool.OutputSchema != nil && string(tool.OutputSchema) != "null" {
			want = append(want, "outputSchema")
			jsonEqual(t, tool.Name+" outputSchema", d["outputSchema"], tool.OutputSchema)
		}
		if tool.Annotations != nil && string(tool.Annotations) != "null" {
			want = append(want, "annotations")
			jsonEqual(t, tool.Name+" annotations", d["annotations"], tool.Annotations)
		}
		if len(d) != len(want) {
			t.Errorf("%s: members %v, want %v", tool.Name, keys(d), want)
		}
		var desc string
		_ = json.Unmarshal(d["description"], &desc)
		if desc != tool.Description {
			t.Errorf("%s: description %q", tool.Name, desc)
		}
		jsonEqual(t, tool.Name+" inputSchema", d["inputSchema"], tool.InputSchema)
		jsonEqual(t, tool.Name+" _meta", d["_meta"], json.RawMessage(fmt.Sprintf(
			`{"io.mcpbox/tool":{"id":%q,"version":%d,"server":%q}}`, tool.ToolID, tool.Version, tool.ServerName)))
	}
}

// jsonEqual compares two JSON values semantically.
func jsonEqual(t *testing.T, what string, got, want json.RawMessage) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Errorf("%s: %s: %v", what, got, err)
		return
	}
	_ = json.Unmarshal(want, &b)
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if !bytes.Equal(ga, gb) {
		t.Errorf("%s: %s, want %s", what, got, want)
	}
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// GW-57: modern-era tools/list results carry ttlMs 30000 and cacheScope
// "private"; initialize-era results keep the SDK's values.
func TestGW57_ModernListCacheHints(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		var page listPage
		result(t, rpc(t, h, caller.ListenerLocal, mcpservetest.Body(1, "tools/list", mcpservetest.ModernParams(nil)),
			mcpservetest.ModernHeaders("tools/list", ""), http.StatusOK), &page)
		if page.TTLMs != mcpserve.ListTTLMs || page.CacheScope != "private" || page.ResultType != "complete" {
			t.Errorf("%s modern: ttlMs %d, cacheScope %q, resultType %q", mode, page.TTLMs, page.CacheScope, page.ResultType)
		}
		page = listPage{}
		result(t, rpc(t, h, caller.ListenerLocal, mcpservetest.Body(1, "tools/list", nil), nil, http.StatusOK), &page)
		if page.TTLMs != 0 || page.ResultType != "" {
			t.Errorf("%s initialize era: ttlMs %d, resultType %q", mode, page.TTLMs, page.ResultType)
		}
	}
}

// GW-72 (routing level): an empty name gets -32602; an unknown mcpbox_foo
// returns the management-name isError; an unknown well-formed name goes to
// Calls.User (which owns the unknown-name text); a management name goes to
// Calls.Management with the caller.
func TestGW72_CallRouting(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode, Catalog: catalogOf(1, "weather__forecast")})
		for _, params := range []map[string]any{{"name": ""}, {}, {"arguments": map[string]any{}}} {
			m := rpc(t, h, caller.ListenerLocal, mcpservetest.Body(1, "tools/call", params), nil, http.StatusOK)
			if m.Error == nil || m.Error.Code != -32602 || m.Error.Message != mcpserve.MsgToolNameRequired {
				t.Errorf("%s %v: %+v", mode, params, m.Error)
			}
		}
		// Modern era: an empty Mcp-Name fails the SDK's header check (-32020)
		// before the name check (-32602); 400 either way.
		m := rpc(t, h, caller.ListenerLocal, mcpservetest.Body(1, "tools/call", mcpservetest.ModernParams(map[string]any{"name": ""})),
			mcpservetest.ModernHeaders("tools/call", ""), http.StatusBadRequest)
		if m.Error == nil || m.Error.Code != -32602 && m.Error.Code != -32020 {
			t.Errorf("%s modern empty name: %+v", mode, m.Error)
		}

		cs := h.Connect(t, mcpservetest.ClientOptions{})
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "mcpbox_foo", Arguments: map[string]any{}})
		if err != nil || !res.IsError || text(res) != mcpserve.UnknownManagementText("mcpbox_foo") {
			t.Errorf("%s mcpbox_foo: %v %+v", mode, err, res)
		}
		res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "nosuch__tool", Arguments: map[string]any{}})
		if err != nil || !res.IsError || text(res) != mcpservetest.UnknownToolText("nosuch__tool") {
			t.Errorf("%s unknown: %v %+v", mode, err, res)
		}
		res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "mcpbox_list_servers", Arguments: map[string]any{"limit": 5}})
		if err != nil || res.IsError || text(res) != "managed mcpbox_list_servers" {
			t.Errorf("%s management: %v %+v", mode, err, res)
		}
		var mgmt, user []string
		for _, c := range h.Calls.Calls() {
			if c.Caller != caller.Local() || c.CtxCaller != caller.Local() || c.RequestID == "" {
				t.Errorf("%s: call %+v", mode, c)
			}
			if c.Management {
				mgmt = append(mgmt, c.Name+" "+string(c.Args))
			} else {
				user = append(user, c.Name)
			}
		}
		if !slices.Equal(mgmt, []string{`mcpbox_list_servers {"limit":5}`}) || !slices.Equal(user, []string{"nosuch__tool"}) {
			t.Errorf("%s: management %v, user %v", mode, mgmt, user)
		}
	}
}

// text returns the first text item of res.
func text(res *mcp.CallToolResult) string {
	if len(res.Content) == 0 {
		return ""
	}
	if tc, ok := res.Content[0].(*mcp.TextContent); ok {
		return tc.Text
	}
	return ""
}

// GW-53 (registration level): a definition the SDK rejects is skipped
// without a panic, counted as sdk_rejected, and the rest are served; a
// later fixed version is registered.
func TestSDKRejectedDefinitionIsSkipped(t *testing.T) {
	t.Parallel()
	bad := mcpservetest.Tool("bad__tool")
	bad.OutputSchema = json.RawMessage(`{"type":`) // not JSON: neither encoder nor SDK can take it
	h := mcpservetest.Start(t, mcpservetest.Config{Catalog: proto.Catalog{Revision: 1, Tools: []proto.CatalogTool{
		bad, mcpservetest.Tool("good__tool"),
	}}})
	got := names(t, listAll(t, h, caller.ListenerLocal, nil))
	if slices.Contains(got, "bad__tool") || !slices.Contains(got, "good__tool") {
		t.Errorf("tools: %v", got)
	}
	if n := rejectedBySDK(t, h); n != 1 {
		t.Errorf("sdk_rejected = %v", n)
	}
	fixed := mcpservetest.Tool("bad__tool")
	fixed.Version = 2
	h.SetCatalog(t, proto.Catalog{Revision: 2, Tools: []proto.CatalogTool{fixed, mcpservetest.Tool("good__tool")}})
	if got := names(t, listAll(t, h, caller.ListenerLocal, nil)); !slices.Contains(got, "bad__tool") {
		t.Errorf("fixed version not listed: %v", got)
	}
	if n := rejectedBySDK(t, h); n != 0 {
		t.Errorf("sdk_rejected after the fix = %v", n)
	}
}

// rejectedBySDK reads mcpbox_gateway_catalog_rejected_entries{reason="sdk_rejected"}.
func rejectedBySDK(t *testing.T, h *mcpservetest.Harness) float64 {
	t.Helper()
	if _, err := testutil.GatherAndCount(h.Reg, "mcpbox_gateway_catalog_rejected_entries"); err != nil {
		t.Fatal(err)
	}
	mfs, err := h.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "mcpbox_gateway_catalog_rejected_entries" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == "sdk_rejected" {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatal("no sdk_rejected series")
	return 0
}

// A tool the registrar removed between the middleware's table check and
// the SDK's lookup still never yields the SDK's "unknown tool" error; and
// user tool names are case-sensitive, exact: a name differing in case is
// unknown.
func TestUnregisteredNamesNeverReachTheSDKError(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Catalog: catalogOf(1, "weather__forecast")})
	for _, name := range []string{"Weather__forecast", "weather__forecast ", "MCPBOX_LIST_SERVERS", "mcpbox"} {
		m := rpc(t, h, caller.ListenerLocal, mcpservetest.Body(1, "tools/call", map[string]any{"name": name}), nil, http.StatusOK)
		if m.Error != nil || !strings.Contains(string(m.Result), `"isError":true`) {
			t.Errorf("%q: %+v %s", name, m.Error, m.Result)
		}
	}
}
