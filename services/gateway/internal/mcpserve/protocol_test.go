package mcpserve_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve/mcpservetest"
)

// initResult is the part of an initialize result the tests read.
type initResult struct {
	ProtocolVersion string          `json:"protocolVersion"`
	Capabilities    json.RawMessage `json:"capabilities"`
	ServerInfo      struct {
		Name, Title, Version string
	} `json:"serverInfo"`
	Instructions string `json:"instructions"`
}

// GW-1: initialize with 2025-11-25 returns that version, capabilities
// {tools: {listChanged: true}} only, serverInfo mcpbox/MCPbox and the
// instructions naming mcpbox_find_tools and mcpbox_run_tool (verbatim §5.7).
func TestGW1_InitializeResult(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		for _, l := range []string{caller.ListenerLocal, caller.ListenerRemote} {
			var res initResult
			result(t, rpc(t, h, l, mcpservetest.InitializeBody(1, "2025-11-25"), remoteUser("a@example.com"), http.StatusOK), &res)
			if res.ProtocolVersion != "2025-11-25" || string(res.Capabilities) != `{"tools":{"listChanged":true}}` {
				t.Errorf("%s/%s: version %q, capabilities %s", mode, l, res.ProtocolVersion, res.Capabilities)
			}
			if res.ServerInfo.Name != "mcpbox" || res.ServerInfo.Title != "MCPbox" || res.ServerInfo.Version != "test" {
				t.Errorf("%s/%s: serverInfo %+v", mode, l, res.ServerInfo)
			}
			if res.Instructions != mcpserve.Instructions || !strings.Contains(res.Instructions, "mcpbox_find_tools") ||
				!strings.Contains(res.Instructions, "mcpbox_run_tool") {
				t.Errorf("%s/%s: instructions %q", mode, l, res.Instructions)
			}
		}
	}
}

// GW-2: initialize echoes 2025-06-18 and 2025-03-26; an unknown version
// gets 2025-11-25.
func TestGW2_InitializeVersionNegotiation(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		for sent, want := range map[string]string{
			"2025-06-18": "2025-06-18", "2025-03-26": "2025-03-26", "2025-11-25": "2025-11-25",
			"1999-01-01": "2025-11-25", "2026-07-28": "2025-11-25",
		} {
			var res initResult
			result(t, rpc(t, h, caller.ListenerLocal, mcpservetest.InitializeBody(1, sent), nil, http.StatusOK), &res)
			if res.ProtocolVersion != want {
				t.Errorf("%s: initialize %s answered %s, want %s", mode, sent, res.ProtocolVersion, want)
			}
		}
	}
}

// discoverResult is the part of a server/discover result the tests read.
type discoverResult struct {
	SupportedVersions []string        `json:"supportedVersions"`
	Capabilities      json.RawMessage `json:"capabilities"`
	Instructions      string          `json:"instructions"`
	ResultType        string          `json:"resultType"`
	Meta              map[string]struct {
		Name, Title, Version string
	} `json:"_meta"`
}

// GW-3: server/discover with the 2026-07-28 headers and _meta lists at
// least 2026-07-28, 2025-11-25, 2025-06-18 and 2025-03-26, the same
// capabilities and serverInfo, and issues no Mcp-Session-Id, in both modes.
func TestGW3_Discover(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		resp := post(t, h, caller.ListenerLocal, mcpservetest.Body(1, "server/discover", mcpservetest.ModernParams(nil)),
			mcpservetest.ModernHeaders("server/discover", ""))
		if resp.Status != http.StatusOK || resp.Header.Get("Mcp-Session-Id") != "" {
			t.Errorf("%s: status %d, session id %q", mode, resp.Status, resp.Header.Get("Mcp-Session-Id"))
		}
		var res discoverResult
		result(t, resp.Response(t), &res)
		for _, v := range []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"} {
			if !slices.Contains(res.SupportedVersions, v) {
				t.Errorf("%s: supportedVersions %v lack %s", mode, res.SupportedVersions, v)
			}
		}
		info := res.Meta["io.modelcontextprotocol/serverInfo"]
		if string(res.Capabilities) != `{"tools":{"listChanged":true}}` || info.Name != "mcpbox" || info.Title != "MCPbox" ||
			res.Instructions != mcpserve.Instructions {
			t.Errorf("%s: capabilities %s, serverInfo %+v, instructions %q", mode, res.Capabilities, info, res.Instructions)
		}
	}
}

// GW-4: modern-era tools/list and tools/call succeed in both modes and
// carry resultType; so does a call the middleware answers itself (an
// unknown name).
func TestGW4_ModernListAndCall(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode, Catalog: catalogOf(1, "weather__forecast")})
		var list struct {
			ResultType string            `json:"resultType"`
			Tools      []json.RawMessage `json:"tools"`
		}
		result(t, rpc(t, h, caller.ListenerLocal, mcpservetest.Body(1, "tools/list", mcpservetest.ModernParams(nil)),
			mcpservetest.ModernHeaders("tools/list", ""), http.StatusOK), &list)
		if list.ResultType != "complete" || len(list.Tools) != 31 {
			t.Errorf("%s: tools/list resultType %q, %d tools", mode, list.ResultType, len(list.Tools))
		}
		for _, name := range []string{"weather__forecast", "other__tool", "mcpbox_list_servers"} {
			var call struct {
				ResultType string `json:"resultType"`
				Content    []struct{ Text string }
			}
			params := mcpservetest.ModernParams(map[string]any{"name": name, "arguments": map[string]any{}})
			result(t, rpc(t, h, caller.ListenerLocal, mcpservetest.Body(2, "tools/call", params),
				mcpservetest.ModernHeaders("tools/call", name), http.StatusOK), &call)
			if call.ResultType != "complete" || len(call.Content) != 1 {
				t.Errorf("%s: tools/call %s: %+v", mode, name, call)
			}
		}
	}
}

// GW-5: server/discover then initialize from one client both succeed, in
// both modes (the go-sdk client does this when it falls back, and so may
// any client: each request is classified on its own).
func TestGW5_DiscoverThenInitialize(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		var disc discoverResult
		result(t, rpc(t, h, caller.ListenerLocal, mcpservetest.Body(1, "server/discover", mcpservetest.ModernParams(nil)),
			mcpservetest.ModernHeaders("server/discover", ""), http.StatusOK), &disc)
		var res initResult
		// The confused client keeps its modern version header.
		result(t, rpc(t, h, caller.ListenerLocal, mcpservetest.InitializeBody(2, "2025-11-25"),
			mcpservetest.Headers("Mcp-Protocol-Version", mcpservetest.Modern), http.StatusOK), &res)
		if len(disc.SupportedVersions) == 0 || res.ProtocolVersion != "2025-11-25" {
			t.Errorf("%s: discover %v, initialize %q", mode, disc.SupportedVersions, res.ProtocolVersion)
		}
	}
}

// GW-6: an Mcp-Name header that differs from the body's tool name gets 400
// with -32020.
func TestGW6_McpNameMismatch(t *testing.T) {
	t.Parallel()
	h := mcpservetest.Start(t, mcpservetest.Config{Catalog: catalogOf(1, "weather__forecast")})
	params := mcpservetest.ModernParams(map[string]any{"name": "weather__forecast", "arguments": map[string]any{}})
	m := rpc(t, h, caller.ListenerLocal, mcpservetest.Body(7, "tools/call", params),
		mcpservetest.ModernHeaders("tools/call", "weather__other"), http.StatusBadRequest)
	if m.Error == nil || m.Error.Code != -32020 || string(m.ID) != "7" {
		t.Errorf("answer %+v", m)
	}
	if n := len(h.Calls.Calls()); n != 0 {
		t.Errorf("the tool ran %d times", n)
	}
}

// GW-7: ping answers {} in both eras (initialize era with and without a
// version header, modern era with the version header and _meta, and with
// the header only, as the go-sdk client sends it), for a local caller, a
// remote caller with an email and a limited caller, in both modes.
func TestGW7_PingEveryEraEveryCaller(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		for _, k := range callerKinds() {
			for _, era := range []struct {
				name string
				body string
				hdr  http.Header
			}{
				{"initialize era, no header", mcpservetest.Body(1, "ping", nil), http.Header{}},
				{"initialize era", mcpservetest.Body(1, "ping", nil), mcpservetest.Headers("Mcp-Protocol-Version", "2025-11-25")},
				{"modern era", mcpservetest.Body(1, "ping", mcpservetest.ModernParams(nil)), mcpservetest.ModernHeaders("ping", "")},
				{"modern header only", mcpservetest.Body(1, "ping", nil), mcpservetest.ModernHeaders("ping", "")},
			} {
				m := rpc(t, h, k.listener, era.body, merge(k.hdr(), era.hdr), http.StatusOK)
				if m.Error != nil || string(m.Result) != "{}" || string(m.ID) != "1" {
					t.Errorf("%s/%s/%s: %+v (result %s)", mode, k.name, era.name, m.Error, m.Result)
				}
			}
		}
		// Within a hybrid session too.
		if mode == mcpserve.ModeHybrid {
			resp := post(t, h, caller.ListenerLocal, mcpservetest.InitializeBody(1, "2025-11-25"), nil)
			id := resp.Header.Get("Mcp-Session-Id")
			m := rpc(t, h, caller.ListenerLocal, mcpservetest.Body(2, "ping", nil),
				mcpservetest.Headers("Mcp-Session-Id", id, "Mcp-Protocol-Version", "2025-11-25"), http.StatusOK)
			if id == "" || string(m.Result) != "{}" {
				t.Errorf("session ping: id %q, %+v", id, m)
			}
		}
	}
}

// GW-8: hybrid initialize returns an Mcp-Session-Id, stateless none; in
// both, a later session-less initialize-era tools/list works.
func TestGW8_SessionIDsPerMode(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		resp := post(t, h, caller.ListenerLocal, mcpservetest.InitializeBody(1, "2025-11-25"), nil)
		id := resp.Header.Get("Mcp-Session-Id")
		if (mode == mcpserve.ModeHybrid) != (id != "") {
			t.Errorf("%s: session id %q", mode, id)
		}
		var list struct{ Tools []json.RawMessage }
		result(t, rpc(t, h, caller.ListenerLocal, mcpservetest.Body(2, "tools/list", nil),
			mcpservetest.Headers("Mcp-Protocol-Version", "2025-11-25"), http.StatusOK), &list)
		if len(list.Tools) != 30 {
			t.Errorf("%s: session-less tools/list: %d tools", mode, len(list.Tools))
		}
	}
}

// GW-20: notifications/initialized and notifications/cancelled get 202
// with an empty body for every caller kind, in both modes.
func TestGW20_NotificationsAccepted(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		for _, k := range callerKinds() {
			for _, body := range []string{
				mcpservetest.Body(nil, "notifications/initialized", nil),
				mcpservetest.Body(nil, "notifications/cancelled", map[string]any{"requestId": 5, "reason": "test"}),
			} {
				resp := post(t, h, k.listener, body, k.hdr())
				if resp.Status != http.StatusAccepted || len(resp.Body) != 0 {
					t.Errorf("%s/%s %s: status %d, body %q", mode, k.name, body, resp.Status, resp.Body)
				}
			}
		}
	}
}

// GW-22: Content-Type text/plain gets 415; an Accept without
// text/event-stream gets 400 (the SDK's answers).
func TestGW22_ContentTypeAndAccept(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		for _, tc := range []struct {
			hdr  http.Header
			want int
		}{
			{mcpservetest.Headers("Content-Type", "text/plain"), http.StatusUnsupportedMediaType},
			{mcpservetest.Headers("Accept", "application/json"), http.StatusBadRequest},
		} {
			resp := post(t, h, caller.ListenerLocal, mcpservetest.Body(1, "tools/list", nil), tc.hdr)
			if resp.Status != tc.want {
				t.Errorf("%s %v: status %d, want %d", mode, tc.hdr, resp.Status, tc.want)
			}
		}
	}
}

// GW-23: resources/list, prompts/list and logging/setLevel never get a 5xx,
// session-less, in a hybrid session, and in the modern era.
func TestGW23_OtherMethodsNever5xx(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		session := http.Header{}
		if mode == mcpserve.ModeHybrid {
			resp := post(t, h, caller.ListenerLocal, mcpservetest.InitializeBody(1, "2025-11-25"), nil)
			session.Set("Mcp-Session-Id", resp.Header.Get("Mcp-Session-Id"))
			session.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		for _, method := range []string{"resources/list", "prompts/list", "logging/setLevel", "resources/templates/list", "completion/complete"} {
			var params map[string]any
			if method == "logging/setLevel" {
				params = map[string]any{"level": "info"}
			}
			for _, tc := range []struct {
				name string
				body string
				hdr  http.Header
			}{
				{"session-less", mcpservetest.Body(3, method, params), nil},
				{"session", mcpservetest.Body(3, method, params), session},
				{"modern", mcpservetest.Body(3, method, mcpservetest.ModernParams(params)), mcpservetest.ModernHeaders(method, "")},
			} {
				resp := post(t, h, caller.ListenerLocal, tc.body, tc.hdr)
				if resp.Status >= 500 {
					t.Errorf("%s %s %s: status %d", mode, tc.name, method, resp.Status)
				}
			}
		}
	}
}

// GW-24: an unsupported MCP-Protocol-Version on a session-less
// initialize-era request gets 400.
func TestGW24_UnsupportedVersion(t *testing.T) {
	t.Parallel()
	for _, mode := range modes() {
		h := mcpservetest.Start(t, mcpservetest.Config{Mode: mode})
		resp := post(t, h, caller.ListenerLocal, mcpservetest.Body(1, "tools/list", nil), mcpservetest.Headers("Mcp-Protocol-Version", "2024-01-01"))
		if resp.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d", mode, resp.Status)
		}
	}
}
