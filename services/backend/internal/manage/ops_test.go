package manage_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

// everyone lets every remote caller with an email in.
func everyone() map[string]any {
	return map[string]any{"remote_email_allowlist": map[string]any{"mode": "everyone", "values": []string{}}}
}

func TestBE73_RemoteCallerSeesOnlyOwnLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setPolicy(t, everyone())
	serverID := e.newServer(t)
	toolID := e.newTool(t, serverID)
	callers := []proto.Caller{
		remote("ann@example.com"), remote("bob@example.com"), local,
		{Kind: proto.CallerRemote, Email: "ann@example.com", Sub: "another-ann"},
	}
	var records []proto.ExecutionRecord
	for i, c := range callers {
		records = append(records, proto.ExecutionRecord{
			ID: uuid.NewString(), ToolID: toolID, ServerID: serverID, ToolVersion: 1, ExposedName: "weather__forecast",
			Via: proto.ViaDirect, Caller: c, Success: true, InputArgs: json.RawMessage(`{"who":` + string(rune('0'+i)) + `}`),
			DurationMS: 5, StartedAt: time.Now().Add(-time.Minute),
		})
	}
	res, err := e.exec.Ingest(t.Context(), records)
	if err != nil || res.Accepted != len(records) {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	ids := func(r map[string]any) []string {
		var out []string
		for _, it := range r["items"].([]any) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		return out
	}
	ann := ids(e.ok(t, "mcpbox_get_tool_logs", remote("ann@example.com"), map[string]any{"tool_id": toolID}))
	if len(ann) != 1 || ann[0] != records[0].ID {
		t.Fatalf("ann sees %v, want only %s", ann, records[0].ID)
	}
	bob := ids(e.ok(t, "mcpbox_get_tool_logs", remote("bob@example.com"), map[string]any{"tool_id": toolID}))
	if len(bob) != 1 || bob[0] != records[1].ID {
		t.Fatalf("bob sees %v", bob)
	}
	if all := ids(e.ok(t, "mcpbox_get_tool_logs", local, map[string]any{"tool_id": toolID})); len(all) != len(records) {
		t.Fatalf("local sees %v", all)
	}
}

func TestBE93_TestCodeIsGated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setPolicy(t, everyone())
	serverID := e.newServer(t)
	toolID := e.newTool(t, serverID)
	args := map[string]any{"tool_id": toolID, "arguments": map[string]any{}}

	before := e.sandbox.total()
	got := wantFail(t, e.call(t, "mcpbox_test_code", remote("ann@example.com"), args), proto.CodeRemoteEditingDisabled)
	if !strings.HasPrefix(got.Message, "mcpbox_test_code is restricted to local clients.") {
		t.Fatalf("%+v", got)
	}
	if e.sandbox.total() != before {
		t.Fatal("the sandbox received a refused test run")
	}

	r := e.ok(t, "mcpbox_test_code", local, args)
	if r["success"] != true || r["result"] != "hello" || r["stdout"] != "ran\n" || r["version"].(float64) != 1 {
		t.Fatalf("local run: %v", r)
	}
	if e.sandbox.executes() != 1 {
		t.Fatalf("executes %d", e.sandbox.executes())
	}

	e.setPolicy(t, map[string]any{"remote_tool_editing": "enabled"})
	if r := e.ok(t, "mcpbox_test_code", remote("ann@example.com"), args); r["success"] != true {
		t.Fatalf("remote run: %v", r)
	}
	if e.sandbox.executes() != 2 {
		t.Fatalf("executes %d", e.sandbox.executes())
	}
	var n int
	dbtestQuery(t, e, `SELECT count(*) FROM execution_records WHERE is_test AND caller_email = 'ann@example.com'`, &n)
	if n != 1 {
		t.Fatalf("%d stored test runs of ann", n)
	}
}

func TestBE81_NetworkAccessAddsHostVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setPolicy(t, everyone())
	serverID := e.newServer(t)
	toolID := e.newTool(t, serverID)
	args := map[string]any{"tool_id": toolID, "host": "api.weather.example", "justification": "fetches the forecast"}

	// Adding the host is an edit: refused to a remote caller.
	wantFail(t, e.call(t, "mcpbox_request_network_access", remote("ann@example.com"), args), proto.CodeRemoteEditingDisabled)

	r := e.ok(t, "mcpbox_request_network_access", local, args)
	if r["request_status"] != "pending" || r["version"].(float64) != 2 || r["host"] != "api.weather.example" {
		t.Fatalf("request: %v", r)
	}
	g := e.ok(t, "mcpbox_get_tool", local, map[string]any{"tool_id": toolID})
	v := g["version_detail"].(map[string]any)
	hosts := v["manifest"].(map[string]any)["hosts"].([]any)
	if len(hosts) != 1 || hosts[0] != "api.weather.example" {
		t.Fatalf("manifest hosts %v", hosts)
	}
	// Asking again: the host is in the manifest, the pending request only
	// gets the new justification; no version, so a remote caller may.
	r = e.ok(t, "mcpbox_request_network_access", remote("ann@example.com"), args)
	if r["version"].(float64) != 2 {
		t.Fatalf("again: %v", r)
	}
	args["justification"] = "short"
	if g := wantFail(t, e.call(t, "mcpbox_request_network_access", local, args), proto.CodeValidationFailed); g.Field != "justification" {
		t.Fatalf("%+v", g)
	}
}

func TestRequestPublishAndPackages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serverID := e.newServer(t)
	toolID := e.newTool(t, serverID)

	r := e.ok(t, "mcpbox_request_publish", local, map[string]any{"tool_id": toolID, "notes": "ready"})
	if r["review_status"] != "pending_review" || r["version"].(float64) != 1 || r["next_steps"] == "" {
		t.Fatalf("publish: %v", r)
	}
	got := wantFail(t, e.call(t, "mcpbox_request_publish", local, map[string]any{"tool_id": toolID}), proto.CodeInvalidState)
	if got.Message != "Tool 'weather__forecast' is pending_review; request_publish needs draft or rejected." {
		t.Fatalf("%+v", got)
	}

	p := e.ok(t, "mcpbox_list_packages", local, nil)
	if len(p["default"].([]any)) == 0 || len(p["approved"].([]any)) != 0 || len(p["approvable"].([]any)) == 0 {
		t.Fatalf("packages: %v", p)
	}
	req := e.ok(t, "mcpbox_request_package", local, map[string]any{
		"tool_id": toolID, "package": "encoding/xml", "justification": "parses the XML feed",
	})
	if req["request_status"] != "pending" || req["package"] != "encoding/xml" {
		t.Fatalf("request package: %v", req)
	}
	wantFail(t, e.call(t, "mcpbox_request_package", local, map[string]any{
		"tool_id": toolID, "package": "os/exec", "justification": "runs commands please",
	}), proto.CodePackageForbidden)
	wantFail(t, e.call(t, "mcpbox_request_package", local, map[string]any{
		"tool_id": toolID, "package": "strings", "justification": "already allowed anyway",
	}), proto.CodeAlreadyCovered)
}

func TestServerSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serverID := e.newServer(t)
	r := e.ok(t, "mcpbox_create_server_secret", local, map[string]any{"server_id": serverID, "key": "API_KEY"})
	if r["has_value"] != false || r["next_steps"] != "An admin must set the value in the MCPbox UI before the tool can use it." {
		t.Fatalf("create: %v", r)
	}
	got := wantFail(t, e.call(t, "mcpbox_create_server_secret", local, map[string]any{"server_id": serverID, "key": "API_KEY"}),
		proto.CodeAlreadyExists)
	if got.Message != "Secret 'API_KEY' already exists for server 'weather'." {
		t.Fatalf("%+v", got)
	}
	if g := wantFail(t, e.call(t, "mcpbox_create_server_secret", local, map[string]any{"server_id": serverID, "key": "bad key"}),
		proto.CodeValidationFailed); g.Field != "key" {
		t.Fatalf("%+v", g)
	}
	l := e.ok(t, "mcpbox_list_server_secrets", local, map[string]any{"server_id": serverID})
	items := l["items"].([]any)
	if l["server_name"] != "weather" || len(items) != 1 || items[0].(map[string]any)["key"] != "API_KEY" {
		t.Fatalf("list: %v", l)
	}
	if _, ok := items[0].(map[string]any)["value"]; ok {
		t.Fatal("a value left the backend")
	}
}
