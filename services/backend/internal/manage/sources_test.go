package manage_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

// setDiscovery makes the fake answer /v1/mcp/discover with fn.
func (f *fakeSandbox) setDiscovery(fn func(proto.DiscoverRequest) proto.DiscoverResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.discovery = fn
}

// discovers counts the discover requests.
func (f *fakeSandbox) discovers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[proto.PathSandboxDiscover]
}

// upstream answers every discovery with tools of these names.
func upstream(names ...string) func(proto.DiscoverRequest) proto.DiscoverResponse {
	return func(proto.DiscoverRequest) proto.DiscoverResponse {
		out := proto.DiscoverResponse{OK: true, Tools: []proto.DiscoveredTool{}}
		for _, n := range names {
			out.Tools = append(out.Tools, proto.DiscoveredTool{
				Name: n, Description: "Does " + n + ".", InputSchema: json.RawMessage(`{"type":"object"}`),
			})
		}
		return out
	}
}

// addSource adds the source GitHub MCP as the local LLM and returns its id.
func (e *env) addSource(t *testing.T, serverID string) string {
	t.Helper()
	return e.ok(t, "mcpbox_add_external_source", local, map[string]any{
		"server_id": serverID, "name": "GitHub MCP", "url": "https://mcp.github.example/mcp",
	})["source_id"].(string)
}

// approveSource approves a source as an admin would.
func (e *env) approveSource(t *testing.T, id string) {
	t.Helper()
	dbtestExec(t, e, `UPDATE external_mcp_sources SET status = 'active', approved_by = 'admin:admin', approved_at = now()
		WHERE id = $1`, id)
}

func TestBE82_LLMAddedSourceWaitsForApproval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sandbox.setDiscovery(upstream("list-repos"))
	serverID := e.newServer(t)
	r := e.ok(t, "mcpbox_add_external_source", local, map[string]any{
		"server_id": serverID, "name": "GitHub MCP", "url": "https://mcp.github.example/mcp", "transport_type": "streamable_http",
	})
	if r["status"] != "pending_review" || r["next_steps"] != "An admin must approve this source before it can be discovered." {
		t.Fatalf("add: %v", r)
	}
	id := r["source_id"].(string)
	var createdBy string
	dbtestQuery(t, e, "SELECT created_by FROM external_mcp_sources WHERE id = $1", &createdBy, id)
	if createdBy != "llm:local" {
		t.Fatalf("created_by %q", createdBy)
	}
	got := wantFail(t, e.call(t, "mcpbox_discover_external_tools", local, map[string]any{"source_id": id}), proto.CodeInvalidState)
	if got.Message != "Source 'GitHub MCP' is pending_review; an admin must approve it first." {
		t.Fatalf("message %q", got.Message)
	}
	if e.sandbox.discovers() != 0 {
		t.Fatal("a discovery before approval reached the sandbox")
	}
	wantFail(t, e.call(t, "mcpbox_import_external_tools", local, map[string]any{"source_id": id, "tool_names": []string{"list-repos"}}),
		proto.CodeInvalidState)

	list := e.ok(t, "mcpbox_list_external_sources", local, map[string]any{"server_id": serverID})
	item := list["items"].([]any)[0].(map[string]any)
	if item["id"] != id || item["status"] != "pending_review" || item["transport_type"] != "streamable_http" || item["auth_type"] != "none" ||
		item["discovered_at"] != nil || item["discovered_tool_count"].(float64) != 0 {
		t.Fatalf("list: %v", list)
	}
	pending := e.ok(t, "mcpbox_list_pending_requests", local, nil)
	items := pending["items"].([]any)
	if pending["counts"].(map[string]any)["sources"].(float64) != 1 || len(items) != 1 ||
		items[0].(map[string]any)["kind"] != "source" || items[0].(map[string]any)["detail"] != "GitHub MCP (https://mcp.github.example/mcp)" {
		t.Fatalf("pending requests: %v", pending)
	}

	e.approveSource(t, id)
	d := e.ok(t, "mcpbox_discover_external_tools", local, map[string]any{"source_id": id})
	tools := d["tools"].([]any)
	if len(tools) != 1 || tools[0].(map[string]any)["name"] != "list-repos" || tools[0].(map[string]any)["already_imported"] != false ||
		tools[0].(map[string]any)["import_name"] != "github_mcp_list_repos" || !strings.Contains(d["next_steps"].(string), "mcpbox_import_external_tools") ||
		e.sandbox.discovers() != 1 {
		t.Fatalf("discovery after approval: %v", d)
	}
}

func TestBE83_LLMImportCreatesDraftsAndSkips(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := strings.Repeat("a", 60)
	e.sandbox.setDiscovery(upstream("list-repos", long))
	serverID := e.newServer(t)
	id := e.addSource(t, serverID)
	e.approveSource(t, id)
	got := wantFail(t, e.call(t, "mcpbox_import_external_tools", local, map[string]any{"source_id": id, "tool_names": []string{"list-repos"}}),
		proto.CodeInvalidState)
	if got.Message != "No discovered tools; run mcpbox_discover_external_tools first." {
		t.Fatalf("message %q", got.Message)
	}
	e.ok(t, "mcpbox_discover_external_tools", local, map[string]any{"source_id": id})

	a := e.call(t, "mcpbox_import_external_tools", local, map[string]any{"source_id": id, "tool_names": []string{"list-repos", long, "missing", "list-repos"}})
	if !a.resp.OK || a.resp.CatalogRevision == 0 {
		t.Fatalf("import: %s", a.raw)
	}
	imported := a.result["imported"].([]any)
	skipped := a.result["skipped"].([]any)
	if len(imported) != 2 || len(skipped) != 1 || skipped[0].(map[string]any)["name"] != "missing" || skipped[0].(map[string]any)["reason"] != "not_found" {
		t.Fatalf("import: %s", a.raw)
	}
	first, second := imported[0].(map[string]any), imported[1].(map[string]any)
	if first["name"] != "github_mcp_list_repos" || first["exposed_name"] != "weather__github_mcp_list_repos" {
		t.Fatalf("first import: %v", first)
	}
	if name := second["name"].(string); len(name) != proto.MaxToolNameLen || !strings.HasPrefix(name, "github_mcp_"+strings.Repeat("a", 20)+"_") ||
		proto.ValidateToolName(name) != nil {
		t.Fatalf("a 60-char upstream name became %q", name)
	}
	var status, kind, source, manifest string
	var version int
	dbtestQuery(t, e, "SELECT review_status FROM tools WHERE id = $1", &status, first["tool_id"])
	dbtestQuery(t, e, "SELECT kind FROM tools WHERE id = $1", &kind, first["tool_id"])
	dbtestQuery(t, e, "SELECT latest_version FROM tools WHERE id = $1", &version, first["tool_id"])
	dbtestQuery(t, e, "SELECT change_source FROM tool_versions WHERE tool_id = $1", &source, first["tool_id"])
	dbtestQuery(t, e, "SELECT manifest::text FROM tool_versions WHERE tool_id = $1", &manifest, first["tool_id"])
	if status != "draft" || kind != "external" || version != 1 || source != "llm" ||
		manifest != `{"hosts": ["mcp.github.example"], "secrets": [], "packages": [], "memory_mb": 0, "timeout_ms": 30000}` {
		t.Fatalf("imported tool: %s %s v%d %s %s", status, kind, version, source, manifest)
	}
	var requests int
	dbtestQuery(t, e, `SELECT count(*)::int FROM network_requests WHERE tool_id = $1 AND host = 'mcp.github.example'
		AND status = 'pending' AND requested_by = 'llm:local'`, &requests, first["tool_id"])
	if requests != 1 {
		t.Fatalf("%d automatic requests for the source host, want 1", requests)
	}

	again := e.ok(t, "mcpbox_import_external_tools", local, map[string]any{"source_id": id, "tool_names": []string{"list-repos"}})
	if sk := again["skipped"].([]any); len(again["imported"].([]any)) != 0 || len(sk) != 1 || sk[0].(map[string]any)["reason"] != "name_taken" ||
		!strings.Contains(again["next_steps"].(string), "name_taken") {
		t.Fatalf("re-import: %v", again)
	}
	d := e.ok(t, "mcpbox_discover_external_tools", local, map[string]any{"source_id": id})
	if d["tools"].([]any)[0].(map[string]any)["already_imported"] != true || len(d["changed_tools"].([]any)) != 0 {
		t.Fatalf("discovery after import: %v", d)
	}

	for _, args := range []map[string]any{
		{"source_id": id, "tool_names": []string{}},
		{"source_id": id},
		{"source_id": id, "tool_names": "list-repos"},
		{"source_id": id, "tool_names": []string{""}},
	} {
		wantFail(t, e.call(t, "mcpbox_import_external_tools", local, args), proto.CodeValidationFailed)
	}
}

func TestExternalSourceOperationRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setPolicy(t, everyone())
	serverID := e.newServer(t)
	add := func(extra map[string]any) answer {
		args := map[string]any{"server_id": serverID, "name": "vendor", "url": "https://mcp.vendor.example/mcp"}
		for k, v := range extra {
			args[k] = v
		}
		return e.call(t, "mcpbox_add_external_source", local, args)
	}
	got := wantFail(t, add(map[string]any{"auth_type": "oauth"}), proto.CodeValidationFailed)
	if got.Message != "auth_type: OAuth sources are added by an admin in the UI." || got.Field != "auth_type" {
		t.Fatalf("oauth: %+v", got)
	}
	got = wantFail(t, add(map[string]any{"auth_type": "bearer", "auth_secret_name": "API_KEY"}), proto.CodeValidationFailed)
	if got.Field != "auth_secret_name" || !strings.Contains(got.Message, "mcpbox_create_server_secret") {
		t.Fatalf("unknown secret: %+v", got)
	}
	for field, extra := range map[string]map[string]any{
		"transport_type": {"transport_type": "sse"},
		"url":            {"url": "file:///etc/passwd"},
		"bogus":          {"bogus": true},
	} {
		if got := wantFail(t, add(extra), proto.CodeValidationFailed); got.Field != field {
			t.Fatalf("%v: field %q", extra, got.Field)
		}
	}
	e.ok(t, "mcpbox_create_server_secret", local, map[string]any{"server_id": serverID, "key": "API_KEY"})
	r := add(map[string]any{"auth_type": "header", "auth_secret_name": "API_KEY", "auth_header_name": "X-API-Key"})
	if !r.resp.OK || r.result["status"] != "pending_review" {
		t.Fatalf("header source: %s", r.raw)
	}
	got = wantFail(t, add(nil), proto.CodeNameTaken)
	if got.Message != "Server 'weather' already has an external source named 'vendor'; use it (mcpbox_list_external_sources) or choose another name." {
		t.Fatalf("name_taken: %q", got.Message)
	}
	unknown := uuid.NewString()
	got = wantFail(t, e.call(t, "mcpbox_add_external_source", local, map[string]any{"server_id": unknown, "name": "x", "url": "https://x.io"}),
		proto.CodeNotFound)
	if got.Message != "Server "+unknown+" not found. Use mcpbox_list_servers to see existing servers." {
		t.Fatalf("unknown server: %q", got.Message)
	}
	got = wantFail(t, e.call(t, "mcpbox_discover_external_tools", local, map[string]any{"source_id": unknown}), proto.CodeNotFound)
	if got.Message != "Source "+unknown+" not found. Use mcpbox_list_external_sources to see existing sources." || got.Field != "source_id" {
		t.Fatalf("unknown source: %+v", got)
	}
	wantFail(t, e.call(t, "mcpbox_import_external_tools", local, map[string]any{"source_id": unknown, "tool_names": []string{"x"}}), proto.CodeNotFound)
	got = wantFail(t, e.call(t, "mcpbox_discover_external_tools", local, map[string]any{"source_id": 7}), proto.CodeValidationFailed)
	if got.Message != "source_id: must be a UUID." {
		t.Fatalf("integer source_id: %q", got.Message)
	}
	wantFail(t, e.call(t, "mcpbox_list_external_sources", local, map[string]any{"server_id": unknown}), proto.CodeNotFound)

	// Adding and importing are editing operations; listing and discovering
	// are not.
	id := r.result["source_id"].(string)
	for _, op := range []string{"mcpbox_add_external_source", "mcpbox_import_external_tools"} {
		wantFail(t, e.call(t, op, remote("ann@example.com"), map[string]any{"source_id": id}), proto.CodeRemoteEditingDisabled)
	}
	e.ok(t, "mcpbox_list_external_sources", remote("ann@example.com"), map[string]any{"server_id": serverID, "limit": 1})
	wantFail(t, e.call(t, "mcpbox_discover_external_tools", remote("ann@example.com"), map[string]any{"source_id": id}), proto.CodeInvalidState)

	// An upstream failure: discovery_failed, the source in error with the
	// redacted reason, which the list shows.
	e.approveSource(t, id)
	dbtestExec(t, e, `UPDATE server_secrets SET value_enc = NULL WHERE name = 'API_KEY'`)
	got = wantFail(t, e.call(t, "mcpbox_discover_external_tools", local, map[string]any{"source_id": id}), proto.CodeSecretMissing)
	if !strings.HasPrefix(got.Message, "Secret 'API_KEY' of server 'weather' has no value.") {
		t.Fatalf("secret_missing: %q", got.Message)
	}
	dbtestExec(t, e, `UPDATE external_mcp_sources SET auth_type = 'none', auth_secret_name = NULL, auth_header_name = NULL WHERE id = $1`, id)
	e.sandbox.setDiscovery(func(proto.DiscoverRequest) proto.DiscoverResponse {
		return proto.DiscoverResponse{OK: false, Error: &proto.UpstreamError{Type: "ConnectError", Message: "connection refused"}}
	})
	got = wantFail(t, e.call(t, "mcpbox_discover_external_tools", local, map[string]any{"source_id": id}), proto.CodeDiscoveryFailed)
	if got.Message != "Discovery failed: ConnectError: connection refused" {
		t.Fatalf("discovery_failed: %q", got.Message)
	}
	item := e.ok(t, "mcpbox_list_external_sources", local, map[string]any{"server_id": serverID})["items"].([]any)[0].(map[string]any)
	if item["status"] != "error" || item["last_error"] != "ConnectError: connection refused" {
		t.Fatalf("source after the failure: %v", item)
	}
}
