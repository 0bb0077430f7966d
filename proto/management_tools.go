package proto

// ManagementTool is the name of one of the 30 management tools
// (contracts.md §9, gateway.md §10.4). Routing is by exact match against
// these names, never by the "mcpbox" prefix. The definitions (titles,
// descriptions, schemas, annotations) are in management_defs.go
// (ManagementTool.Def, ManagementToolDefs).
type ManagementTool string

// The 30 management tools, in the order of gateway.md §10.4.
//
//nolint:gosec // G101 reads "secret" in tool names as hard-coded credentials.
const (
	MgmtListServers           ManagementTool = "mcpbox_list_servers"
	MgmtGetServer             ManagementTool = "mcpbox_get_server"
	MgmtCreateServer          ManagementTool = "mcpbox_create_server"
	MgmtDeleteServer          ManagementTool = "mcpbox_delete_server"
	MgmtListTools             ManagementTool = "mcpbox_list_tools"
	MgmtGetTool               ManagementTool = "mcpbox_get_tool"
	MgmtCreateTool            ManagementTool = "mcpbox_create_tool"
	MgmtUpdateTool            ManagementTool = "mcpbox_update_tool"
	MgmtDeleteTool            ManagementTool = "mcpbox_delete_tool"
	MgmtTestCode              ManagementTool = "mcpbox_test_code"
	MgmtStartServer           ManagementTool = "mcpbox_start_server"
	MgmtStopServer            ManagementTool = "mcpbox_stop_server"
	MgmtValidateCode          ManagementTool = "mcpbox_validate_code"
	MgmtListPackages          ManagementTool = "mcpbox_list_packages"
	MgmtRequestPublish        ManagementTool = "mcpbox_request_publish"
	MgmtRequestPackage        ManagementTool = "mcpbox_request_package"
	MgmtRequestNetworkAccess  ManagementTool = "mcpbox_request_network_access"
	MgmtGetToolStatus         ManagementTool = "mcpbox_get_tool_status"
	MgmtListToolVersions      ManagementTool = "mcpbox_list_tool_versions"
	MgmtRollbackTool          ManagementTool = "mcpbox_rollback_tool"
	MgmtCreateServerSecret    ManagementTool = "mcpbox_create_server_secret"
	MgmtListServerSecrets     ManagementTool = "mcpbox_list_server_secrets"
	MgmtListPendingRequests   ManagementTool = "mcpbox_list_pending_requests"
	MgmtGetToolLogs           ManagementTool = "mcpbox_get_tool_logs"
	MgmtAddExternalSource     ManagementTool = "mcpbox_add_external_source"
	MgmtListExternalSources   ManagementTool = "mcpbox_list_external_sources"
	MgmtDiscoverExternalTools ManagementTool = "mcpbox_discover_external_tools"
	MgmtImportExternalTools   ManagementTool = "mcpbox_import_external_tools"
	MgmtFindTools             ManagementTool = "mcpbox_find_tools"
	MgmtRunTool               ManagementTool = "mcpbox_run_tool"
)

// ManagementTools returns the 30 management tools in the order of gateway.md
// §10.4 (a new slice on every call).
func ManagementTools() []ManagementTool {
	return []ManagementTool{
		MgmtListServers, MgmtGetServer, MgmtCreateServer, MgmtDeleteServer,
		MgmtListTools, MgmtGetTool, MgmtCreateTool, MgmtUpdateTool, MgmtDeleteTool,
		MgmtTestCode, MgmtStartServer, MgmtStopServer, MgmtValidateCode, MgmtListPackages,
		MgmtRequestPublish, MgmtRequestPackage, MgmtRequestNetworkAccess, MgmtGetToolStatus,
		MgmtListToolVersions, MgmtRollbackTool, MgmtCreateServerSecret, MgmtListServerSecrets,
		MgmtListPendingRequests, MgmtGetToolLogs, MgmtAddExternalSource, MgmtListExternalSources,
		MgmtDiscoverExternalTools, MgmtImportExternalTools, MgmtFindTools, MgmtRunTool,
	}
}

// ParseManagementTool returns the management tool with exactly this name.
func ParseManagementTool(name string) (ManagementTool, bool) {
	t := ManagementTool(name)
	if t.Valid() {
		return t, true
	}
	return "", false
}

// Valid reports whether t is one of the 30 names.
func (t ManagementTool) Valid() bool {
	switch t {
	case MgmtListServers, MgmtGetServer, MgmtCreateServer, MgmtDeleteServer,
		MgmtListTools, MgmtGetTool, MgmtCreateTool, MgmtUpdateTool, MgmtDeleteTool,
		MgmtTestCode, MgmtStartServer, MgmtStopServer, MgmtValidateCode, MgmtListPackages,
		MgmtRequestPublish, MgmtRequestPackage, MgmtRequestNetworkAccess, MgmtGetToolStatus,
		MgmtListToolVersions, MgmtRollbackTool, MgmtCreateServerSecret, MgmtListServerSecrets,
		MgmtListPendingRequests, MgmtGetToolLogs, MgmtAddExternalSource, MgmtListExternalSources,
		MgmtDiscoverExternalTools, MgmtImportExternalTools, MgmtFindTools, MgmtRunTool:
		return true
	}
	return false
}

// Editing reports whether t is one of the eight editing tools, refused to
// remote callers while remote_tool_editing is disabled (gateway.md §6.4,
// backend.md §10.1).
func (t ManagementTool) Editing() bool {
	switch t {
	case MgmtCreateServer, MgmtDeleteServer, MgmtCreateTool, MgmtUpdateTool, MgmtDeleteTool,
		MgmtRollbackTool, MgmtAddExternalSource, MgmtImportExternalTools:
		return true
	}
	return false
}

// Gated reports whether t is refused to remote callers while
// remote_tool_editing is disabled: the editing tools and mcpbox_test_code,
// which can run code no admin has reviewed. (The backend also refuses
// mcpbox_request_network_access when it would create a version; that
// depends on the arguments and is not covered here.)
func (t ManagementTool) Gated() bool {
	return t.Editing() || t == MgmtTestCode
}

// ServedByGateway reports whether the gateway answers t from its catalog
// (mcpbox_find_tools, mcpbox_run_tool); the other 28 are forwarded to POST
// /internal/v1/manage/{tool}.
func (t ManagementTool) ServedByGateway() bool {
	return t == MgmtFindTools || t == MgmtRunTool
}
