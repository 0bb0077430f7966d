package manage_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/manage"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

func TestBE72_RemoteEditingGate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setPolicy(t, map[string]any{"remote_email_allowlist": map[string]any{"mode": "everyone", "values": []string{}}})
	serverID := e.newServer(t)
	args := map[string]any{"server_id": serverID, "name": "forecast", "code": helloCode}

	before := e.sandbox.total()
	got := wantFail(t, e.call(t, "mcpbox_create_tool", remote("ann@example.com"), args), proto.CodeRemoteEditingDisabled)
	want := "mcpbox_create_tool is restricted to local clients. An admin can allow it in the MCPbox UI under " +
		"Settings > Security > Remote tool editing."
	if got.Message != want {
		t.Fatalf("message %q, want %q", got.Message, want)
	}
	if e.sandbox.total() != before {
		t.Fatal("a refused call reached the sandbox")
	}
	// Every editing operation is gated, whatever its arguments.
	for _, op := range []string{"mcpbox_create_server", "mcpbox_delete_server", "mcpbox_update_tool", "mcpbox_delete_tool"} {
		wantFail(t, e.call(t, op, remote("ann@example.com"), map[string]any{"bogus": 1}), proto.CodeRemoteEditingDisabled)
	}

	r := e.ok(t, "mcpbox_create_tool", local, args)
	if r["review_status"] != "draft" || r["version"].(float64) != 1 || r["exposed_name"] != "weather__forecast" ||
		r["next_steps"] == "" {
		t.Fatalf("local create: %v", r)
	}

	list := e.ok(t, "mcpbox_list_servers", remote("ann@example.com"), nil)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "weather" {
		t.Fatalf("remote list: %v", list)
	}

	e.setPolicy(t, map[string]any{"remote_tool_editing": "enabled"})
	args["name"] = "forecast_two"
	r = e.ok(t, "mcpbox_create_tool", remote("ann@example.com"), args)
	if r["name"] != "forecast_two" {
		t.Fatalf("remote create with editing enabled: %v", r)
	}
}

func TestBE73_CallerNotAllowedOnEveryOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setPolicy(t, map[string]any{
		"remote_tool_editing":    "enabled",
		"remote_email_allowlist": map[string]any{"mode": "emails", "values": []string{"ann@example.com"}},
	})
	for _, op := range proto.ManagementTools() {
		if op.ServedByGateway() {
			continue
		}
		a := e.call(t, string(op), remote("bob@example.com"), map[string]any{})
		if a.status == http.StatusNotFound {
			continue // not served yet; covered by TestUnservedOperationsAreUnknown
		}
		got := wantFail(t, a, proto.CodeCallerNotAllowed)
		want := "Your account bob@example.com may not use MCPbox remotely; ask the admin to add it in the MCPbox UI " +
			"under Remote access > Who may connect."
		if got.Message != want {
			t.Fatalf("%s: message %q", op, got.Message)
		}
		// A remote caller without an email is never allowed.
		wantFail(t, e.call(t, string(op), proto.Caller{Kind: proto.CallerRemote, Sub: "x"}, nil), proto.CodeCallerNotAllowed)
	}
	e.ok(t, "mcpbox_list_servers", remote("ann@example.com"), nil)
	e.ok(t, "mcpbox_list_servers", remote("ANN@example.com"), nil)
}

func TestAllowlistMatching(t *testing.T) {
	t.Parallel()
	cases := []struct {
		list  policy.EmailAllowlist
		email string
		want  bool
	}{
		{policy.EmailAllowlist{Mode: "everyone", Values: []string{}}, "a@b.io", true},
		{policy.EmailAllowlist{Mode: "everyone", Values: []string{}}, "", false},
		{policy.EmailAllowlist{Mode: "emails", Values: []string{"a@b.io"}}, "A@B.io", true},
		{policy.EmailAllowlist{Mode: "emails", Values: []string{"a@b.io"}}, "c@b.io", false},
		{policy.EmailAllowlist{Mode: "emails", Values: []string{}}, "a@b.io", false},
		{policy.EmailAllowlist{Mode: "email_domain", Values: []string{"b.io"}}, "x@b.io", true},
		{policy.EmailAllowlist{Mode: "email_domain", Values: []string{"b.io"}}, "x@sub.b.io", false},
		{policy.EmailAllowlist{Mode: "email_domain", Values: []string{"b.io"}}, "x@evil@b.io", true},
		{policy.EmailAllowlist{Mode: "email_domain", Values: []string{"b.io"}}, "b.io", false},
	}
	for _, c := range cases {
		if got := manage.Allowed(c.list, c.email); got != c.want {
			t.Errorf("Allowed(%v, %q) = %v, want %v", c.list, c.email, got, c.want)
		}
	}
}

func TestBE74_ArgumentsValidatedNeverInternal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serverID := e.newServer(t)
	got := wantFail(t, e.call(t, "mcpbox_create_tool", local, map[string]any{
		"server_id": serverID, "name": "forecast", "python_code": "print(1)",
	}), proto.CodeValidationFailed)
	if got.Field != "python_code" || got.Message != "python_code: unknown argument; tool code goes in 'code'." {
		t.Fatalf("python_code: %+v", got)
	}
	got = wantFail(t, e.call(t, "mcpbox_create_tool", local, map[string]any{
		"server_id": 42, "name": "forecast", "code": helloCode,
	}), proto.CodeValidationFailed)
	if got.Field != "server_id" || got.Message != "server_id: must be a UUID." {
		t.Fatalf("integer server_id: %+v", got)
	}
	for _, args := range []map[string]any{
		{"server_id": "not-a-uuid"}, {"server_id": true}, {"server_id": map[string]any{}}, {},
	} {
		a := e.call(t, "mcpbox_get_server", local, args)
		if g := wantFail(t, a, proto.CodeValidationFailed); g.Field != "server_id" {
			t.Fatalf("%v: %+v", args, g)
		}
	}
	got = wantFail(t, e.call(t, "mcpbox_list_servers", local, map[string]any{"limit": 500}), proto.CodeValidationFailed)
	if got.Field != "limit" {
		t.Fatalf("limit: %+v", got)
	}
	got = wantFail(t, e.call(t, "mcpbox_list_servers", local, map[string]any{"page": 2}), proto.CodeValidationFailed)
	if got.Field != "page" {
		t.Fatalf("page: %+v", got)
	}
	a := e.post(t, "mcpbox_list_servers", `{"arguments": [1], "caller": {"kind": "local"}}`)
	if g := wantFail(t, a, proto.CodeValidationFailed); g.Field != "arguments" {
		t.Fatalf("array arguments: %+v", g)
	}
}

func TestBE75_UnknownNameIs404(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.call(t, "mcpbox_x", local, nil)
	if a.status != http.StatusNotFound || a.errb.Error.Code != proto.CodeUnknownTool ||
		a.errb.Error.Message != "Unknown tool: mcpbox_x" {
		t.Fatalf("%d %s", a.status, a.raw)
	}
}

func TestBE76_GatewayToolsAreUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, op := range []string{"mcpbox_run_tool", "mcpbox_find_tools"} {
		a := e.call(t, op, local, map[string]any{"name": "x"})
		if a.status != http.StatusNotFound || a.errb.Error.Code != proto.CodeUnknownTool ||
			a.errb.Error.Message != "Unknown tool: "+op {
			t.Fatalf("%s: %d %s", op, a.status, a.raw)
		}
	}
}

func TestBE24_CreateServerNameTaken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.newServer(t)
	got := wantFail(t, e.call(t, "mcpbox_create_server", local, map[string]any{"name": "weather"}), proto.CodeNameTaken)
	if got.Message != "A server named 'weather' already exists; use it or choose another name." || got.Field != "name" {
		t.Fatalf("%+v", got)
	}
	got = wantFail(t, e.call(t, "mcpbox_create_server", local, map[string]any{"name": "mcpbox_x"}), proto.CodeValidationFailed)
	if got.Field != "name" || !strings.HasPrefix(got.Message, "name: ") {
		t.Fatalf("reserved: %+v", got)
	}
}

func TestBodyIsDecodedStrictly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, body := range []string{
		`{`, `{"arguments": {}, "caller": {"kind": "local"}} {}`, `{"arguments": {}, "caller": {"kind": "local"}, "x": 1}`,
		`{"arguments": {"a": 1, "a": 2}, "caller": {"kind": "local"}}`,
	} {
		a := e.post(t, "mcpbox_list_servers", body)
		if a.status != http.StatusBadRequest || a.errb.Error.Code != proto.CodeInvalidJSON {
			t.Fatalf("%s: %d %s", body, a.status, a.raw)
		}
	}
	a := e.post(t, "mcpbox_list_servers", `{"arguments": {}, "caller": {"kind": "admin"}}`)
	if g := wantFail(t, a, proto.CodeValidationFailed); g.Field != "caller.kind" {
		t.Fatalf("admin caller: %+v", g)
	}
}

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.newServer(t)
	e.newTool(t, id)

	g := e.ok(t, "mcpbox_get_server", local, map[string]any{"server_id": id})
	if g["name"] != "weather" || len(g["tools"].([]any)) != 1 || g["status"] != "stopped" {
		t.Fatalf("get: %v", g)
	}
	a := e.call(t, "mcpbox_start_server", local, map[string]any{"server_id": id})
	if !a.resp.OK || a.result["changed"] != true || a.result["status"] != "running" || a.resp.CatalogRevision == 0 ||
		!strings.Contains(a.result["next_steps"].(string), "no approved") {
		t.Fatalf("start: %s", a.raw)
	}
	if r := e.ok(t, "mcpbox_start_server", local, map[string]any{"server_id": id}); r["changed"] != false {
		t.Fatalf("second start: %v", r)
	}
	if r := e.ok(t, "mcpbox_stop_server", local, map[string]any{"server_id": id}); r["status"] != "stopped" {
		t.Fatalf("stop: %v", r)
	}
	r := e.ok(t, "mcpbox_delete_server", local, map[string]any{"server_id": id})
	if r["deleted"] != true || r["removed_tools"].(float64) != 1 {
		t.Fatalf("delete: %v", r)
	}
	got := wantFail(t, e.call(t, "mcpbox_get_server", local, map[string]any{"server_id": id}), proto.CodeNotFound)
	if got.Message != "Server "+id+" not found. Use mcpbox_list_servers to see existing servers." {
		t.Fatalf("not found: %+v", got)
	}
	var actor string
	dbtestQuery(t, e, `SELECT actor FROM activity_log WHERE action = 'server.delete'`, &actor)
	if actor != "llm:local" {
		t.Fatalf("actor %q", actor)
	}
}

func TestToolOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serverID := e.newServer(t)
	toolID := e.newTool(t, serverID)

	got := wantFail(t, e.call(t, "mcpbox_create_tool", local, map[string]any{
		"server_id": serverID, "name": "forecast", "code": helloCode,
	}), proto.CodeNameTaken)
	if got.Message != "Tool 'forecast' already exists in server 'weather'; update it with mcpbox_update_tool or choose another name." {
		t.Fatalf("taken: %+v", got)
	}
	list := e.ok(t, "mcpbox_list_tools", local, map[string]any{"server_id": serverID})
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["exposed_name"] != "weather__forecast" {
		t.Fatalf("list: %v", list)
	}
	g := e.ok(t, "mcpbox_get_tool", local, map[string]any{"tool_id": toolID})
	if v := g["version_detail"].(map[string]any); v["code"] != helloCode || v["version"].(float64) != 1 {
		t.Fatalf("get: %v", g)
	}
	wantFail(t, e.call(t, "mcpbox_get_tool", local, map[string]any{"tool_id": toolID, "version": 7}), proto.CodeNotFound)

	u := e.ok(t, "mcpbox_update_tool", local, map[string]any{"tool_id": toolID, "timeout_ms": 5000})
	if u["changed"] != true || u["version"].(float64) != 2 {
		t.Fatalf("update: %v", u)
	}
	got = wantFail(t, e.call(t, "mcpbox_update_tool", local, map[string]any{"tool_id": toolID}), proto.CodeValidationFailed)
	if got.Message != "No fields to update: pass at least one of name, code, hosts, timeout_ms, memory_mb, enabled." {
		t.Fatalf("no fields: %+v", got)
	}
	d := e.ok(t, "mcpbox_delete_tool", local, map[string]any{"tool_id": toolID})
	if d["deleted"] != true {
		t.Fatalf("delete: %v", d)
	}
	got = wantFail(t, e.call(t, "mcpbox_get_tool", local, map[string]any{"tool_id": toolID}), proto.CodeNotFound)
	if got.Message != "Tool "+toolID+" not found. Use mcpbox_list_tools to see existing tools." {
		t.Fatalf("not found: %+v", got)
	}
}

func TestBE80_EnableOfAdminDisabledToolIsForbidden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serverID := e.newServer(t)
	toolID := e.newTool(t, serverID)
	dbtestExec(t, e, `UPDATE tools SET enabled = false, disabled_by = 'admin' WHERE id = $1`, toolID)
	got := wantFail(t, e.call(t, "mcpbox_update_tool", local, map[string]any{"tool_id": toolID, "enabled": true}),
		proto.CodeForbidden)
	if got.Message != "Tool 'weather__forecast' was disabled by an admin; only an admin can enable it." {
		t.Fatalf("%+v", got)
	}
	// A tool the LLM disabled, the LLM may enable again.
	dbtestExec(t, e, `UPDATE tools SET enabled = true, disabled_by = NULL WHERE id = $1`, toolID)
	e.ok(t, "mcpbox_update_tool", local, map[string]any{"tool_id": toolID, "enabled": false})
	var by string
	dbtestQuery(t, e, `SELECT disabled_by FROM tools WHERE id = $1`, &by, toolID)
	if by != "llm" {
		t.Fatalf("disabled_by %q", by)
	}
	if r := e.ok(t, "mcpbox_update_tool", local, map[string]any{"tool_id": toolID, "enabled": true}); r["changed"] != true {
		t.Fatalf("re-enable: %v", r)
	}
}
