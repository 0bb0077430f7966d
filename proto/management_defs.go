package proto

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
)

// ToolAnnotations are the four MCP annotation hints of a management tool
// (gateway.md §10.3). Every definition sets all four explicitly, so the
// JSON carries false values too (MCP's defaults for destructiveHint and
// openWorldHint are true).
type ToolAnnotations struct {
	ReadOnlyHint    bool `json:"readOnlyHint"`
	DestructiveHint bool `json:"destructiveHint"`
	IdempotentHint  bool `json:"idempotentHint"`
	OpenWorldHint   bool `json:"openWorldHint"`
}

// ManagementToolDef is the definition of a management tool as served in
// tools/list (gateway.md §10.3, §10.4): the JSON names are MCP's. The
// gateway converts it to its SDK's tool type; the backend validates
// arguments against InputSchema again. Management tools declare no output
// schema (gateway.md §10.2).
type ManagementToolDef struct {
	Name        ManagementTool  `json:"name"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema"`
	Annotations ToolAnnotations `json:"annotations"`
}

// RemoteEditingNote ends the description of a gated tool on the remote
// listener's servers while remote_tool_editing is disabled (gateway.md
// §6.4).
const RemoteEditingNote = "Not available on this connection: the admin has disabled remote tool editing."

// RemoteEditingRefusal is the isError text of a remote call to the gated
// tool t while remote_tool_editing is disabled (gateway.md §6.4).
func (t ManagementTool) RemoteEditingRefusal() string {
	return string(t) + " is not available on remote connections: the MCPbox admin has turned off remote tool " +
		"editing (Settings → Security). Use a local connection, or ask the admin to enable it."
}

// ManagementToolDefs returns the definitions of the 30 management tools in
// the order of gateway.md §10.4. The slice and the schemas are copies, so
// callers may keep or change them.
func ManagementToolDefs() []ManagementToolDef {
	defs := slices.Clone(managementToolDefs())
	for i := range defs {
		defs[i].InputSchema = bytes.Clone(defs[i].InputSchema)
	}
	return defs
}

// Def returns the definition of t (its schema a copy), or the zero
// definition when t is not one of the 30 names.
func (t ManagementTool) Def() ManagementToolDef {
	for _, d := range managementToolDefs() {
		if d.Name == t {
			d.InputSchema = bytes.Clone(d.InputSchema)
			return d
		}
	}
	return ManagementToolDef{}
}

// RemoteDef returns the definition of t as the remote listener serves it:
// a gated tool's description ends with RemoteEditingNote, after a blank
// line, while remote editing is disabled (gated tools stay listed,
// gateway.md §6.4). Other tools, and every tool while editing is enabled,
// are served as Def returns them.
func (t ManagementTool) RemoteDef(editingEnabled bool) ManagementToolDef {
	d := t.Def()
	if t.Gated() && !editingEnabled {
		d.Description += "\n\n" + RemoteEditingNote
	}
	return d
}

// managementToolDefs builds the table once, on first use: every process
// that imports proto (each sandbox worker too) would otherwise pay for
// marshalling 30 schemas at init.
var managementToolDefs = sync.OnceValue(buildManagementToolDefs) //nolint:gochecknoglobals // read-only table, built on first use

// hint selects annotation hints in the notation of gateway.md §10.3.
type hint uint8

const (
	// readOnly is "RO": readOnlyHint and idempotentHint.
	readOnly hint = 1 << iota
	// destructive, idempotent and openWorld are the letters d, i and o.
	destructive
	idempotent
	openWorld
	// noHints is "none": all four false.
	noHints hint = 0
)

// annotations expands h to the four hints.
func (h hint) annotations() ToolAnnotations {
	if h&readOnly != 0 {
		return ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true}
	}
	return ToolAnnotations{
		DestructiveHint: h&destructive != 0,
		IdempotentHint:  h&idempotent != 0,
		OpenWorldHint:   h&openWorld != 0,
	}
}

// def builds one definition.
func def(name ManagementTool, title string, h hint, description string, schema json.RawMessage) ManagementToolDef {
	return ManagementToolDef{Name: name, Title: title, Description: description, InputSchema: schema, Annotations: h.annotations()}
}

// buildManagementToolDefs is the table of gateway.md §10.4: titles and
// hints as listed there, parameters as backend.md §10.2 declares them.
func buildManagementToolDefs() []ManagementToolDef {
	serverID := reqParam("server_id", idProp("server"))
	toolID := reqParam("tool_id", idProp("tool"))
	sourceID := reqParam("source_id", idProp("external source"))
	return []ManagementToolDef{
		def(MgmtListServers, "List servers", readOnly, descListServers, listInput()),
		def(MgmtGetServer, "Get server", readOnly, descGetServer, mgmtInput(serverID)),
		def(MgmtCreateServer, "Create server", noHints, descCreateServer, mgmtInput(
			reqParam("name", serverNameProp("The new server's name; it prefixes its tools' names (<server>__<tool>).")),
			optParam("description", textProp("What the server's tools are for.")),
		)),
		def(MgmtDeleteServer, "Delete server", destructive|idempotent, descDeleteServer, mgmtInput(serverID)),
		def(MgmtListTools, "List tools of a server", readOnly, descListTools, listInput(serverID)),
		def(MgmtGetTool, "Get tool", readOnly, descGetTool, mgmtInput(
			toolID,
			optParam("version", versionProp("The version to show, at least 1; omit it for the latest.")),
		)),
		def(MgmtCreateTool, "Create a Go tool", noHints, descCreateTool, mgmtInput(
			serverID,
			reqParam("name", toolNameProp("The tool's name within its server.")),
			reqParam("code", codeProp("The Go source of the tool: one file, package tool, as described above.")),
			optParam("hosts", hostsProp()),
			optParam("timeout_ms", timeoutProp(true)),
			optParam("memory_mb", memoryProp(true)),
		)),
		def(MgmtUpdateTool, "Update a tool", destructive|idempotent, descUpdateTool, mgmtInput(
			toolID,
			optParam("name", toolNameProp("A new name for the tool (creates no version).")),
			optParam("code", codeProp("The complete new Go source of the tool.")),
			optParam("hosts", hostsProp()),
			optParam("timeout_ms", timeoutProp(false)),
			optParam("memory_mb", memoryProp(false)),
			optParam("enabled", schemaProp{Type: "boolean", Description: "Enable or disable the tool " +
				"(creates no version). A tool an admin disabled can only be enabled by an admin."}),
		)),
		def(MgmtDeleteTool, "Delete a tool", destructive|idempotent, descDeleteTool, mgmtInput(toolID)),
		def(MgmtTestCode, "Test a tool", destructive|openWorld, descTestCode, mgmtInput(
			toolID,
			optParam("arguments", argumentsProp("The tool's arguments, as its input schema describes them (default {}).")),
			optParam("version", versionProp("The version to run, at least 1; omit it for the latest.")),
		)),
		def(MgmtStartServer, "Start a server", idempotent, descStartServer, mgmtInput(serverID)),
		def(MgmtStopServer, "Stop a server", destructive|idempotent, descStopServer, mgmtInput(serverID)),
		def(MgmtValidateCode, "Check Go tool code", readOnly, descValidateCode, mgmtInput(
			reqParam("code", codeProp("The Go source to check: one file, package tool.")),
		)),
		def(MgmtListPackages, "List importable Go packages", readOnly, descListPackages, mgmtInput()),
		def(MgmtRequestPublish, "Request approval", noHints, descRequestPublish, mgmtInput(
			toolID,
			optParam("notes", textProp("Notes for the reviewing admin: what the tool does and why it needs its hosts, packages and secrets.")),
		)),
		def(MgmtRequestPackage, "Request a Go package", noHints, descRequestPackage, mgmtInput(
			toolID,
			reqParam("package", packageProp()),
			reqParam("justification", justificationProp()),
		)),
		def(MgmtRequestNetworkAccess, "Request network access", noHints, descRequestNetworkAccess, mgmtInput(
			toolID,
			reqParam("host", hostProp("The host: a DNS name or IP literal (IPv6 in brackets), optionally with ':port', e.g. api.example.com.")),
			optParam("port", intProp("The port, 1 to 65535, when host has none; omit it for any port.", 1, 65535)),
			reqParam("justification", justificationProp()),
		)),
		def(MgmtGetToolStatus, "Get approval status", readOnly, descGetToolStatus, mgmtInput(toolID)),
		def(MgmtListToolVersions, "List tool versions", readOnly, descListToolVersions, listInput(toolID)),
		def(MgmtRollbackTool, "Roll back a tool", destructive, descRollbackTool, mgmtInput(
			toolID,
			reqParam("version", versionProp("The earlier version whose content the new version copies, at least 1.")),
		)),
		def(MgmtCreateServerSecret, "Declare a secret", noHints, descCreateServerSecret, mgmtInput(
			serverID,
			reqParam("key", secretNameProp("The secret's name, as the code reads it with mcpbox.Secret(\"KEY\").")),
			optParam("description", textProp("What the secret is, so the admin knows which value to set.")),
		)),
		def(MgmtListServerSecrets, "List secrets", readOnly, descListServerSecrets, listInput(serverID)),
		def(MgmtListPendingRequests, "List pending requests", readOnly, descListPendingRequests, listInput()),
		def(MgmtGetToolLogs, "Get execution logs", readOnly, descGetToolLogs, listInput(toolID)),
		def(MgmtAddExternalSource, "Add an external MCP server", noHints, descAddExternalSource, addExternalSourceInput(serverID)),
		def(MgmtListExternalSources, "List external MCP servers", readOnly, descListExternalSources, listInput(serverID)),
		def(MgmtDiscoverExternalTools, "Discover external tools", idempotent|openWorld, descDiscoverExternalTools,
			mgmtInput(sourceID)),
		def(MgmtImportExternalTools, "Import external tools", idempotent, descImportExternalTools, mgmtInput(
			sourceID,
			reqParam("tool_names", toolNamesProp()),
		)),
		def(MgmtFindTools, "Find approved tools", readOnly, descFindTools, mgmtInput(
			reqParam("query", strProp("Words to look for in tool names and descriptions, at most 200 characters; "+
				"an empty query lists every approved tool.", 0, MaxFindQueryLen)),
			optParam("server", serverNameProp("Only tools of this server (its name).")),
			optParam("limit", intProp("Most tools to return, 1 to 50 (default 10).", 1, MaxFindLimit).withDefault(DefaultFindLimit)),
		)),
		def(MgmtRunTool, "Run an approved tool", destructive|openWorld, descRunTool, mgmtInput(
			reqParam("name", exposedNameProp()),
			optParam("arguments", argumentsProp("The tool's arguments, as its input schema describes them (default {}).")),
		)),
	}
}
