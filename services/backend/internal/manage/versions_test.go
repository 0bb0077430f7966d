package manage_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

const otherCode = "package tool\n\n// Main says hi.\nfunc Main() string { return \"hi\" }\n"

// strs reads a JSON array of strings.
func strs(t *testing.T, v any) []string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("not an array: %v", v)
	}
	out := make([]string, len(arr))
	for i, x := range arr {
		out[i] = x.(string)
	}
	return out
}

func TestValidateCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serverID := e.newServer(t)
	toolID := e.newTool(t, serverID)
	e.ok(t, "mcpbox_request_package", local, map[string]any{
		"tool_id": toolID, "package": "encoding/xml", "justification": "parses the XML feed",
	})
	e.sandbox.setAnalysis(func(code string) proto.AnalyzeResponse {
		a := okAnswer()
		if strings.Contains(code, "func Main(") && !strings.Contains(code, "{ return") {
			a.OK = false
			a.Diagnostics = []proto.Diagnostic{{
				Severity: proto.SeverityError, Type: proto.ErrTypeSyntaxError, Message: "expected '{'", Line: 4, Column: 20,
			}}
			return a
		}
		a.Imports = []proto.Import{
			{Path: "strings", Tier: proto.TierDefault, Allowed: true},
			{Path: "encoding/xml", Tier: proto.TierOptIn, Allowed: false},
		}
		a.Secrets = []string{"API_KEY"}
		return a
	})

	code := "package tool\n\nimport (\n\t\"encoding/xml\"\n\t\"strings\"\n)\n\n// Main says hello.\n" +
		"func Main() string { return strings.ToUpper(xml.Header) }\n"
	r := e.ok(t, "mcpbox_validate_code", local, map[string]any{"code": code})
	if r["valid"] != true || len(r["errors"].([]any)) != 0 || r["description"] != "Says hello." || r["next_steps"] == "" {
		t.Fatalf("valid code: %v", r)
	}
	pk := r["packages"].(map[string]any)
	if got := strs(t, pk["default"]); !slices.Equal(got, []string{"strings"}) {
		t.Fatalf("default %v", got)
	}
	if got := strs(t, pk["pending"]); !slices.Equal(got, []string{"encoding/xml"}) {
		t.Fatalf("pending %v", got)
	}
	if len(pk["approved"].([]any)) != 0 || len(pk["forbidden"].([]any)) != 0 {
		t.Fatalf("packages %v", pk)
	}
	if got := strs(t, r["secrets"]); !slices.Equal(got, []string{"API_KEY"}) {
		t.Fatalf("secrets %v", got)
	}

	// The admin approves the package: it moves to approved.
	dbtestExec(t, e, `UPDATE package_requests SET status = 'approved', reviewed_by = 'admin:test', reviewed_at = now()`)
	r = e.ok(t, "mcpbox_validate_code", local, map[string]any{"code": code})
	if got := strs(t, r["packages"].(map[string]any)["approved"]); !slices.Equal(got, []string{"encoding/xml"}) {
		t.Fatalf("approved %v", r["packages"])
	}

	// A syntax error is an answer, not a tool error.
	bad := "package tool\n\n// Main is broken.\nfunc Main() string\n"
	r = e.ok(t, "mcpbox_validate_code", local, map[string]any{"code": bad})
	errs := r["errors"].([]any)
	if r["valid"] != false || len(errs) != 1 {
		t.Fatalf("syntax error: %v", r)
	}
	f := errs[0].(map[string]any)
	if f["line"].(float64) != 4 || f["column"].(float64) != 20 || f["message"] != "expected '{'" {
		t.Fatalf("finding %v", f)
	}

	// Forbidden imports are listed, and nothing was saved anywhere.
	r = e.ok(t, "mcpbox_validate_code", local, map[string]any{
		"code": "package tool\n\nimport \"os/exec\"\n\n// Main runs.\nfunc Main() string { return exec.ErrDot.Error() }\n",
	})
	if got := strs(t, r["packages"].(map[string]any)["forbidden"]); !slices.Equal(got, []string{"os/exec"}) {
		t.Fatalf("forbidden %v", r["packages"])
	}
	var versions int
	dbtestQuery(t, e, `SELECT count(*) FROM tool_versions`, &versions)
	if versions != 1 {
		t.Fatalf("%d versions after validating", versions)
	}

	if g := wantFail(t, e.call(t, "mcpbox_validate_code", local, map[string]any{}), proto.CodeValidationFailed); g.Field != "code" {
		t.Fatalf("%+v", g)
	}
	if g := wantFail(t, e.call(t, "mcpbox_validate_code", local, map[string]any{"python_code": "x"}),
		proto.CodeValidationFailed); g.Field != "python_code" {
		t.Fatalf("%+v", g)
	}
}

func TestListToolVersionsAndRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setPolicy(t, everyone())
	serverID := e.newServer(t)
	toolID := e.newTool(t, serverID)
	e.ok(t, "mcpbox_update_tool", local, map[string]any{"tool_id": toolID, "code": otherCode})

	l := e.ok(t, "mcpbox_list_tool_versions", local, map[string]any{"tool_id": toolID, "limit": 1})
	items := l["items"].([]any)
	if l["latest_version"].(float64) != 2 || l["approved_version"] != nil || len(items) != 1 || l["next_cursor"] == nil {
		t.Fatalf("page 1: %v", l)
	}
	first := items[0].(map[string]any)
	if first["version"].(float64) != 2 || first["hash"] == "" || first["change_source"] != "llm" {
		t.Fatalf("item %v", first)
	}
	if _, err := time.Parse(time.RFC3339Nano, first["created_at"].(string)); err != nil {
		t.Fatal(err)
	}
	l = e.ok(t, "mcpbox_list_tool_versions", local, map[string]any{
		"tool_id": toolID, "limit": 1, "cursor": l["next_cursor"],
	})
	if items := l["items"].([]any); len(items) != 1 || items[0].(map[string]any)["version"].(float64) != 1 || l["next_cursor"] != nil {
		t.Fatalf("page 2: %v", l)
	}
	if g := wantFail(t, e.call(t, "mcpbox_list_tool_versions", local, map[string]any{"tool_id": toolID, "cursor": "nope"}),
		proto.CodeValidationFailed); g.Field != "cursor" {
		t.Fatalf("%+v", g)
	}
	missing := "7d0c8a52-8f6c-4d84-9a51-2d8fca3c7a11"
	got := wantFail(t, e.call(t, "mcpbox_list_tool_versions", local, map[string]any{"tool_id": missing}), proto.CodeNotFound)
	if got.Message != "Tool "+missing+" not found. Use mcpbox_list_tools to see existing tools." {
		t.Fatalf("%+v", got)
	}

	// rollback_tool is an editing operation: refused to a remote caller
	// while remote tool editing is off, and nothing changes.
	args := map[string]any{"tool_id": toolID, "version": 1}
	got = wantFail(t, e.call(t, "mcpbox_rollback_tool", remote("ann@example.com"), args), proto.CodeRemoteEditingDisabled)
	if !strings.HasPrefix(got.Message, "mcpbox_rollback_tool is restricted to local clients.") {
		t.Fatalf("%+v", got)
	}
	var n int
	dbtestQuery(t, e, `SELECT count(*) FROM tool_versions`, &n)
	if n != 2 {
		t.Fatalf("%d versions after a refused rollback", n)
	}

	r := e.ok(t, "mcpbox_rollback_tool", local, args)
	if r["version"].(float64) != 3 || r["review_status"] != "draft" || r["hash"] == "" || r["next_steps"] == "" {
		t.Fatalf("rollback: %v", r)
	}
	var summary, source string
	dbtestQuery(t, e, `SELECT change_summary FROM tool_versions WHERE version = 3`, &summary)
	dbtestQuery(t, e, `SELECT change_source FROM tool_versions WHERE version = 3`, &source)
	if summary != "Rolled back to version 1" || source != "rollback" {
		t.Fatalf("version 3: %q %q", summary, source)
	}
	var v1, v3 string
	dbtestQuery(t, e, `SELECT hash FROM tool_versions WHERE version = 1`, &v1)
	dbtestQuery(t, e, `SELECT hash FROM tool_versions WHERE version = 3`, &v3)
	if v1 != v3 || r["hash"] != v3 {
		t.Fatalf("hashes %s %s %v", v1, v3, r["hash"])
	}

	for _, tc := range []struct {
		version int
		code    string
		message string
	}{
		{3, proto.CodeInvalidState, "Version 3 is the latest version; nothing to roll back."},
		{1, proto.CodeInvalidState, "Version 1 has the same content as the latest version."},
		{9, proto.CodeNotFound, "Version 9 of tool 'weather__forecast' not found (latest is 3)."},
	} {
		got := wantFail(t, e.call(t, "mcpbox_rollback_tool", local, map[string]any{"tool_id": toolID, "version": tc.version}), tc.code)
		if got.Message != tc.message {
			t.Fatalf("version %d: %+v", tc.version, got)
		}
	}
	if g := wantFail(t, e.call(t, "mcpbox_rollback_tool", local, map[string]any{"tool_id": toolID}),
		proto.CodeValidationFailed); g.Field != "version" {
		t.Fatalf("%+v", g)
	}

	// With remote editing enabled, a remote caller may roll back.
	e.setPolicy(t, map[string]any{"remote_tool_editing": "enabled"})
	r = e.ok(t, "mcpbox_rollback_tool", remote("ann@example.com"), map[string]any{"tool_id": toolID, "version": 2})
	if r["version"].(float64) != 4 {
		t.Fatalf("remote rollback: %v", r)
	}
	var by string
	dbtestQuery(t, e, `SELECT created_by FROM tool_versions WHERE version = 4`, &by)
	if by != "llm:ann@example.com" {
		t.Fatalf("created_by %q", by)
	}
}

func TestGetToolStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serverID := e.newServer(t)
	e.sandbox.setAnalysis(func(string) proto.AnalyzeResponse {
		a := okAnswer()
		a.Secrets = []string{"API_KEY"}
		return a
	})
	toolID := e.newTool(t, serverID)
	e.ok(t, "mcpbox_create_server_secret", local, map[string]any{"server_id": serverID, "key": "API_KEY"})
	e.ok(t, "mcpbox_request_network_access", local, map[string]any{
		"tool_id": toolID, "host": "api.weather.example", "justification": "fetches the forecast",
	})
	e.ok(t, "mcpbox_request_package", local, map[string]any{
		"tool_id": toolID, "package": "encoding/xml", "justification": "parses the XML feed",
	})
	e.ok(t, "mcpbox_request_publish", local, map[string]any{"tool_id": toolID, "notes": "ready for review"})

	r := e.ok(t, "mcpbox_get_tool_status", local, map[string]any{"tool_id": toolID})
	if r["tool_id"] != toolID || r["exposed_name"] != "weather__forecast" || r["review_status"] != "pending_review" ||
		r["latest_version"].(float64) != 2 || r["approved_version"] != nil || r["live"] != false || r["enabled"] != true ||
		r["server_status"] != "stopped" || r["publish_notes"] != "ready for review" || r["rejection_reason"] != nil ||
		r["next_steps"] == "" {
		t.Fatalf("status: %v", r)
	}
	net := r["network_requests"].([]any)
	if len(net) != 1 || net[0].(map[string]any)["host"] != "api.weather.example" || net[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("network %v", net)
	}
	pkg := r["package_requests"].([]any)
	if len(pkg) != 1 || pkg[0].(map[string]any)["package"] != "encoding/xml" || pkg[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("packages %v", pkg)
	}
	m := r["missing"].(map[string]any)
	if got := strs(t, m["hosts"]); !slices.Equal(got, []string{"api.weather.example"}) {
		t.Fatalf("missing hosts %v", got)
	}
	if got := strs(t, m["secrets_without_value"]); !slices.Equal(got, []string{"API_KEY"}) {
		t.Fatalf("missing secrets %v", got)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	wantFail(t, e.call(t, "mcpbox_get_tool_status", local, map[string]any{"tool_id": "7d0c8a52-8f6c-4d84-9a51-2d8fca3c7a11"}),
		proto.CodeNotFound)
}

func TestListPendingRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serverID := e.newServer(t)
	toolID := e.newTool(t, serverID)
	e.ok(t, "mcpbox_request_package", local, map[string]any{
		"tool_id": toolID, "package": "encoding/xml", "justification": "parses the XML feed",
	})
	e.ok(t, "mcpbox_request_network_access", local, map[string]any{
		"tool_id": toolID, "host": "api.weather.example", "justification": "fetches the forecast",
	})
	e.ok(t, "mcpbox_request_publish", local, map[string]any{"tool_id": toolID, "notes": "please review"})
	// Fix the order: the package request oldest, the tool newest.
	dbtestExec(t, e, `UPDATE package_requests SET created_at = now() - interval '3 minutes'`)
	dbtestExec(t, e, `UPDATE network_requests SET created_at = now() - interval '2 minutes'`)
	dbtestExec(t, e, `UPDATE tools SET review_requested_at = now() - interval '1 minute'`)

	var kinds []string
	var details []string
	cursor := any(nil)
	for range 4 {
		args := map[string]any{"limit": 1}
		if cursor != nil {
			args["cursor"] = cursor
		}
		r := e.ok(t, "mcpbox_list_pending_requests", local, args)
		c := r["counts"].(map[string]any)
		if c["tools"].(float64) != 1 || c["network"].(float64) != 1 || c["packages"].(float64) != 1 || c["sources"].(float64) != 0 {
			t.Fatalf("counts %v", c)
		}
		for _, it := range r["items"].([]any) {
			m := it.(map[string]any)
			if m["tool_id"] != toolID || m["exposed_name"] != "weather__forecast" || m["server_name"] != "weather" {
				t.Fatalf("item %v", m)
			}
			kinds = append(kinds, m["kind"].(string))
			details = append(details, m["detail"].(string))
		}
		cursor = r["next_cursor"]
		if cursor == nil {
			break
		}
	}
	if !slices.Equal(kinds, []string{"tool", "network", "package"}) ||
		!slices.Equal(details, []string{"version 2", "api.weather.example", "encoding/xml"}) {
		t.Fatalf("kinds %v details %v", kinds, details)
	}
	if g := wantFail(t, e.call(t, "mcpbox_list_pending_requests", local, map[string]any{"cursor": "x"}),
		proto.CodeValidationFailed); g.Field != "cursor" {
		t.Fatalf("%+v", g)
	}
	if g := wantFail(t, e.call(t, "mcpbox_list_pending_requests", local, map[string]any{"limit": 0}),
		proto.CodeValidationFailed); g.Field != "limit" {
		t.Fatalf("%+v", g)
	}
}
