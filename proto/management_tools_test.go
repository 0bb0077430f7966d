package proto

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// contractNames is the list of contracts.md §9, in its order.
const contractNames = `mcpbox_list_servers, mcpbox_get_server, mcpbox_create_server,
mcpbox_delete_server, mcpbox_list_tools, mcpbox_get_tool, mcpbox_create_tool, mcpbox_update_tool,
mcpbox_delete_tool, mcpbox_test_code, mcpbox_start_server, mcpbox_stop_server, mcpbox_validate_code,
mcpbox_list_packages, mcpbox_request_publish, mcpbox_request_package, mcpbox_request_network_access,
mcpbox_get_tool_status, mcpbox_list_tool_versions, mcpbox_rollback_tool, mcpbox_create_server_secret,
mcpbox_list_server_secrets, mcpbox_list_pending_requests, mcpbox_get_tool_logs, mcpbox_add_external_source,
mcpbox_list_external_sources, mcpbox_discover_external_tools, mcpbox_import_external_tools, mcpbox_find_tools,
mcpbox_run_tool`

func TestManagementTools(t *testing.T) {
	t.Parallel()
	var want []ManagementTool
	for _, n := range strings.Split(contractNames, ",") {
		want = append(want, ManagementTool(strings.TrimSpace(n)))
	}
	got := ManagementTools()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ManagementTools mismatch (-want +got):\n%s", diff)
	}
	if len(got) != 30 {
		t.Errorf("%d management tools, want 30", len(got))
	}
	seen := map[ManagementTool]bool{}
	var editing, gated, gateway []ManagementTool
	for _, tool := range got {
		if seen[tool] {
			t.Errorf("%s listed twice", tool)
		}
		seen[tool] = true
		if !tool.Valid() {
			t.Errorf("%s: Valid() = false", tool)
		}
		if p, ok := ParseManagementTool(string(tool)); !ok || p != tool {
			t.Errorf("ParseManagementTool(%s) = %s, %v", tool, p, ok)
		}
		// A management name is never a valid exposed name, so the two
		// namespaces cannot collide.
		if ValidateExposedName(string(tool)) == nil {
			t.Errorf("%s is a valid exposed name", tool)
		}
		if tool.Editing() {
			editing = append(editing, tool)
		}
		if tool.Gated() {
			gated = append(gated, tool)
		}
		if tool.ServedByGateway() {
			gateway = append(gateway, tool)
		}
	}
	wantEditing := []ManagementTool{
		"mcpbox_create_server", "mcpbox_delete_server", "mcpbox_create_tool", "mcpbox_update_tool",
		"mcpbox_delete_tool", "mcpbox_rollback_tool", "mcpbox_add_external_source", "mcpbox_import_external_tools",
	}
	if diff := cmp.Diff(wantEditing, editing); diff != "" {
		t.Errorf("editing tools mismatch (-want +got):\n%s", diff)
	}
	wantGated := []ManagementTool{
		"mcpbox_create_server", "mcpbox_delete_server", "mcpbox_create_tool", "mcpbox_update_tool",
		"mcpbox_delete_tool", "mcpbox_test_code", "mcpbox_rollback_tool", "mcpbox_add_external_source",
		"mcpbox_import_external_tools",
	}
	if diff := cmp.Diff(wantGated, gated); diff != "" {
		t.Errorf("gated tools mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ManagementTool{"mcpbox_find_tools", "mcpbox_run_tool"}, gateway); diff != "" {
		t.Errorf("gateway-served tools mismatch (-want +got):\n%s", diff)
	}
}

func TestParseManagementToolExact(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"mcpbox_x", "MCPBOX_LIST_SERVERS", "mcpbox_list_servers ", "mcpbox", "", "weather__forecast"} {
		if tool, ok := ParseManagementTool(name); ok {
			t.Errorf("ParseManagementTool(%q) = %s, true; want false", name, tool)
		}
	}
	if ManagementTools()[0] = "changed"; ManagementTools()[0] != MgmtListServers {
		t.Error("ManagementTools returns shared state")
	}
}
