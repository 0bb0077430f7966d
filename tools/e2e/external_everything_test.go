package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// The go-sdk's conformance everything-server
// (github.com/modelcontextprotocol/go-sdk/conformance/everything-server, a
// tool of tools/go.mod that make build puts in bin/) as an external source
// of MCPbox: the server the MCP conformance suite's server scenarios are
// written for. The admin adds it, discovers its tools and imports the ones
// that return a result without asking the client anything; an admin import
// approves at once (backend.md §8.2). Each tool's result reaches a client
// of the gateway exactly as the everything-server returns it to a direct
// client (gateway.md §8.6), and the conformance suite's tool-result
// scenarios pass through MCPbox.

// everythingSource is the source's name, so its tools import as ev_<tool>.
const everythingSource = "ev"

// everythingServer is the MCPbox server the source belongs to.
const everythingServer = "everything"

// everythingTools are the imported tools: every tool of the everything-server
// whose result needs no server-to-client request (sampling, elicitation,
// roots, input_required rounds), stream resumption, list mutation or
// x-mcp-header mirroring.
var everythingTools = []string{
	"test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource",
	"test_multiple_content_types", "test_tool_with_logging", "test_tool_with_progress",
	"test_error_handling", "json_schema_2020_12_tool",
}

// everythingRun are the conformance suite's scenarios about tool results
// and tool definitions, run through MCPbox against the everything-server,
// with the tool each one calls ("" for a listing).
var everythingRun = map[string]string{
	"tools-call-simple-text":       "test_simple_text",
	"tools-call-image":             "test_image_content",
	"tools-call-audio":             "test_audio_content",
	"tools-call-embedded-resource": "test_embedded_resource",
	"tools-call-mixed-content":     "test_multiple_content_types",
	"tools-call-error":             "test_error_handling",
	"json-schema-2020-12":          "",
}

// Why the suite's other scenarios that call an everything-server tool do
// not pass through MCPbox.
const (
	// The sandbox's /v1/mcp/call answers with the upstream's result alone
	// (sandbox.md §4.6): notifications the upstream sends during the call
	// stay at the sandbox, and the gateway sends its own progress every
	// MCPBOX_GATEWAY_PROGRESS_INTERVAL (gateway.md §5.6).
	notRelayed = "notifications sent during an external call are not relayed (sandbox.md §4.6, gateway.md §5.6)"
	// The sandbox's MCP client declares no client capabilities (sandbox.md
	// §13.1) and the gateway sends no server-to-client requests (§5.1).
	noClientRequests = "an external server's requests to the client are not relayed (sandbox.md §13.1, gateway.md §5.1)"
)

// everythingExcluded are the suite's other tool-call scenarios, with the
// reason; together with everythingRun they are exactly the scenarios that
// interop_conformance_test.go excludes from the gateway's own run because
// they call fixed tool names or need server-to-client requests.
var everythingExcluded = map[string]string{
	"tools-call-with-logging":      notRelayed,
	"tools-call-with-progress":     notRelayed,
	"tools-call-sampling":          noClientRequests,
	"tools-call-elicitation":       noClientRequests,
	"elicitation-sep1034-defaults": noClientRequests,
	"elicitation-sep1330-enums":    noClientRequests,
	"server-sse-polling":           "the gateway's streams are not resumable (gateway.md §5.1)",
}

// GW-73, GW-75, SB-80 with the go-sdk's conformance everything-server (kept
// in sessions, -stateless=false) as the external server and the admin's
// import; see the comment at the top of the file.
//
//nolint:paralleltest // owns the e2e ports while it runs
func TestGW73_GW75_SB80_EverythingServerThroughMCPbox(t *testing.T) {
	checkEverythingCoverage(t)
	addr := startEverything(t)
	upstream := "http://" + addr + "/mcp"
	st := startStackWith(t, t.TempDir(), "MCPBOX_DATABASE_URL="+dbtest.EmptyURL(t), "MCPBOX_SANDBOX_E2E_LOOPBACK="+addr)
	a := newAdmin(t, readDevEnv(t, st.data)["MCPBOX_SETUP_CODE"])
	x := &extEnv{admin: a, client: connectGo(t, e2eLocalMCPURL, nil), server: everythingServer, toolIDs: map[string]string{}}
	var created struct {
		ID string `json:"id"`
	}
	a.must(t, http.MethodPost, "/api/v1/servers", map[string]any{"name": everythingServer}, &created)
	x.serverID = created.ID
	direct := dialGo(t, upstream, nil)

	// The admin adds the source (active at once), approves its address for
	// the server and discovers the tools a direct client lists.
	var src extSourceJSON
	a.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/external-sources",
		map[string]any{"name": everythingSource, "url": upstream}, &src)
	if src.Status != string(proto.SourceActive) {
		t.Fatalf("admin-added source: status %s, want active", src.Status)
	}
	x.sourceID = src.ID
	x.grantHost(t, addr)
	var d extDiscovery
	a.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/discover", nil, &d)
	upTools := map[string]*mcp.Tool{}
	for tool, err := range direct.cs.Tools(t.Context(), nil) {
		if err != nil {
			t.Fatalf("tools/list of the everything-server: %v", err)
		}
		upTools[tool.Name] = tool
	}
	var discovered []string
	for _, tl := range d.Tools {
		discovered = append(discovered, tl.Name)
		if up := upTools[tl.Name]; up == nil || tl.Description != up.Description || !sameValue(t, tl.InputSchema, up.InputSchema) {
			t.Errorf("discovered %s as %s; a direct client lists %s", tl.Name, jsonOf(t, tl), jsonOf(t, up))
		}
	}
	if slices.Sort(discovered); !slices.Equal(discovered, slices.Sorted(maps.Keys(upTools))) {
		t.Errorf("discovered %v, a direct client lists %v", discovered, slices.Sorted(maps.Keys(upTools)))
	}

	// backend.md §8.2: an admin import approves at once; starting the server
	// publishes the tools.
	var imp struct {
		Imported []struct {
			ToolID       string `json:"tool_id"`
			Name         string `json:"name"`
			ExposedName  string `json:"exposed_name"`
			ReviewStatus string `json:"review_status"`
		} `json:"imported"`
		Skipped []json.RawMessage `json:"skipped"`
	}
	a.must(t, http.MethodPost, "/api/v1/external-sources/"+x.sourceID+"/import", map[string]any{"tool_names": everythingTools}, &imp)
	if len(imp.Imported) != len(everythingTools) || len(imp.Skipped) != 0 {
		t.Fatalf("admin import of %d tools: %s", len(everythingTools), jsonOf(t, imp))
	}
	prefix := everythingServer + "__" + everythingSource + "_"
	for i, im := range imp.Imported {
		if im.ExposedName != prefix+everythingTools[i] || im.ReviewStatus != string(proto.ReviewApproved) {
			t.Errorf("imported %+v, want %s approved", im, prefix+everythingTools[i])
		}
		x.toolIDs[everythingTools[i]] = im.ToolID
	}
	a.must(t, http.MethodPost, "/api/v1/servers/"+x.serverID+"/start", nil, nil)

	t.Run("GW75_ListedAsDiscovered", func(t *testing.T) {
		listed := x.waitListed(t, "the imported tools", func(m map[string]*mcp.Tool) bool { return len(m) == len(everythingTools) })
		for _, n := range everythingTools {
			got, up := listed[prefix+n], upTools[n]
			if got == nil || got.Description != up.Description || !sameValue(t, got.InputSchema, up.InputSchema) {
				t.Errorf("%s listed as %s; the everything-server lists %s", n, jsonOf(t, got), jsonOf(t, up))
			}
		}
	})
	t.Run("GW73_SB80_ResultsAsADirectClientGetsThem", func(t *testing.T) {
		for _, n := range everythingTools {
			args := map[string]any{}
			if n == "json_schema_2020_12_tool" {
				args["email"] = "ev@example.com" // valid: no contactMethod, so the schema's else requires email
			}
			want, err := direct.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: n, Arguments: args})
			if err != nil {
				t.Fatalf("direct tools/call %s: %v", n, err)
			}
			checkSameResult(t, n, x.call(t, prefix+n, args), want, x.toolIDs[n], 1)
		}
	})
	t.Run("ConformanceScenariosThroughMCPbox", func(t *testing.T) {
		shim := renamingProxy(t, e2eLocalMCPURL, prefix)
		for _, name := range slices.Sorted(maps.Keys(everythingRun)) {
			t.Run(name, func(t *testing.T) {
				tool := everythingRun[name]
				before := len(a.executions(t, x.toolIDs[tool]))
				runConformanceScenario(t, shim, name)
				if tool == "" {
					return
				}
				// The scenario's call ran the imported tool (a call of a
				// name MCPbox does not have would pass tools-call-error
				// and tools-call-simple-text without reaching it).
				waitFor(t, "the execution record of "+tool, func() (bool, string) {
					n := len(a.executions(t, x.toolIDs[tool]))
					return n == before+1, fmt.Sprintf("%d records, %d before the scenario", n, before)
				})
			})
		}
	})
}

// checkEverythingCoverage checks that everythingRun and everythingExcluded
// split the scenarios the gateway's own conformance run leaves out for
// fixed tool names or server requests.
func checkEverythingCoverage(t *testing.T) {
	t.Helper()
	var want []string
	for name, why := range conformanceExcluded {
		if strings.HasPrefix(why, fixedToolName) || why == serverRequests {
			want = append(want, name)
		}
	}
	got := slices.Concat(slices.Collect(maps.Keys(everythingRun)), slices.Collect(maps.Keys(everythingExcluded)))
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("everything-server scenarios %v, want the gateway run's fixed-name and server-request exclusions %v", got, want)
	}
}

// startEverything runs bin/everything-server on a free loopback port and
// returns its host:port once it answers.
func startEverything(t *testing.T) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	logs := &lifecycletest.Logs{}
	cmd := command(t, "everything-server", nil, "-http", addr, "-stateless=false")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("everything-server:\n%s", logs)
		}
	})
	waitFor(t, "everything-server on "+addr, func() (bool, string) {
		c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		_ = c.Close()
		return true, ""
	})
	return addr
}

// renamingProxy serves a reverse proxy to target on loopback and returns
// its URL (same path as target). It puts prefix before the tool name of
// every tools/call request and takes it off the tool names of every
// tools/list answer, and changes nothing else: the conformance scenarios
// call the everything-server's own names, which MCPbox serves as
// <server>__<source>_<tool> (gateway.md §7.3, backend.md §13.2).
func renamingProxy(t *testing.T, target, prefix string) string {
	t.Helper()
	to, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	type listing struct{}
	rp := &httputil.ReverseProxy{
		FlushInterval: -1,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.Host = to.Scheme, to.Host, to.Host
			if r.Out.Body == nil || r.Out.Method != http.MethodPost {
				return
			}
			body, err := io.ReadAll(r.Out.Body)
			if err != nil {
				t.Errorf("renaming proxy: %v", err)
			}
			var msg struct {
				Method string                     `json:"method"`
				Params map[string]json.RawMessage `json:"params"`
			}
			if json.Unmarshal(body, &msg) == nil {
				switch msg.Method {
				case "tools/call":
					body = renameCall(t, body, msg.Params, prefix)
				case "tools/list":
					r.Out = r.Out.WithContext(context.WithValue(r.Out.Context(), listing{}, true))
				}
			}
			r.Out.Body, r.Out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			r.Out.Header.Del("Content-Length")
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Context().Value(listing{}) == nil {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err //nolint:wrapcheck // the proxy logs it
			}
			_ = resp.Body.Close()
			body = bytes.ReplaceAll(body, []byte(`"name":"`+prefix), []byte(`"name":"`))
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			resp.Header.Del("Content-Length")
			return nil
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL + to.Path
}

// renameCall is body, a tools/call request, with prefix before its tool
// name and every other byte of its params as sent.
func renameCall(t *testing.T, body []byte, params map[string]json.RawMessage, prefix string) []byte {
	t.Helper()
	var name string
	if err := json.Unmarshal(params["name"], &name); err != nil {
		return body
	}
	params["name"], _ = json.Marshal(prefix + name)
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return body
	}
	msg["params"], _ = json.Marshal(params)
	out, err := json.Marshal(msg)
	if err != nil {
		t.Errorf("renaming proxy: %v", err)
		return body
	}
	return out
}
