package proto

// Descriptions of the management tools, written for LLMs (gateway.md
// §10.4): what the tool does, what it returns and what to do next. The
// results they describe are those of backend.md §10.2.

const (
	descListServers = "List the MCPbox servers, which group tools: id, name, description, status (stopped when new, " +
		"running once started), tool_count and live_tool_count. Paginated: pass the previous page's next_cursor " +
		"as cursor; limit is 1 to 200 (default 50)."

	descGetServer = "Get one server: its fields, its tools (id, name, review_status, enabled, live; the first 200, " +
		"with tools_next_cursor when there are more) and its pending network and package requests."

	descCreateServer = "Create a new, empty server in status stopped. Its name is lowercase letters and digits, " +
		"words joined by single underscores, at most 24 characters, and may not start with 'mcpbox'. Add tools " +
		"with mcpbox_create_tool, then start it with mcpbox_start_server."

	descDeleteServer = "Delete a server with its tools, versions, secrets, external sources and requests. Its " +
		"tools stop being callable at once. This cannot be undone."

	descListTools = "List the tools of a server: id, name, exposed_name (<server>__<tool>, the name clients call), " +
		"kind (go or external), enabled, review_status, latest_version, approved_version and live. Paginated " +
		"with cursor and limit (1 to 200, default 50)."

	descGetTool = "Get a tool and one of its versions (default the latest): code, manifest (hosts, packages, " +
		"secrets, timeout_ms, memory_mb), description, input and output schemas, and which hosts and packages " +
		"are approved. code is null for external tools, which show their pinned definition instead."

	// descCreateTool is the text block of gateway.md §10.4, tool 7, exactly.
	descCreateTool = `Create a draft Go tool in a server. A tool is one file:
  package tool
  import ("context"; "mcpbox")
  type Input struct {
      City string ` + "`" + `json:"city" jsonschema:"City name"` + "`" + `
      Days int    ` + "`" + `json:"days,omitempty" jsonschema:"Days ahead, 1-7"` + "`" + `
  }
  // Main's doc comment is the tool description (required).
  func Main(ctx context.Context, in Input) (any, error)
json tags name the arguments, jsonschema tags describe them; omitempty or a pointer makes a field optional.
Return a string (text) or any JSON value (structured result); return an error to fail.
HTTP only via mcpbox.HTTP (GetJSON(ctx, url, &out, nil), Get, Post, PostJSON, Do) to the hosts you list;
secrets via mcpbox.Secret("NAME"); fmt.Println output is captured. Go 1.22 level as the sandbox runs it: no
min, max or clear builtins, no range over an int or a func (write for i := 0; i < n; i++). Import only the
packages listed by mcpbox_list_packages. New tools are drafts: check code with mcpbox_validate_code, request
the hosts, packages and secrets it needs, then call mcpbox_request_publish; an admin approves in the MCPbox UI.`

	// descUpdateTool repeats the Go contract of tool 7 in two lines and
	// states the re-approval rule (gateway.md §10.4, tool 8).
	descUpdateTool = `Update a tool: pass tool_id and at least one of name, code, hosts, timeout_ms, memory_mb, enabled.
Code is one file: package tool; import ("context"; "mcpbox"); an Input struct (json tags name arguments, jsonschema tags describe them); a doc-commented func Main(ctx context.Context, in Input) (any, error).
Go 1.22 level: no min, max or clear builtins, no range over an int or a func; HTTP only via mcpbox.HTTP to listed hosts, secrets via mcpbox.Secret("NAME").
A change of code, hosts, timeout_ms or memory_mb stores a new version that needs admin approval again (at once only under the admin's auto-approve mode or when it equals the approved version); the last approved version keeps serving until then. A rename or enabled creates no version; values equal to the current ones change nothing (changed: false).`

	descDeleteTool = "Delete a tool with all its versions; it stops being callable at once. This cannot be undone."

	descTestCode = "Run a version of a tool (default the latest) once in the sandbox with the given arguments, " +
		"under its own timeout and manifest. The approved version runs with its full capabilities; any other " +
		"version with reduced ones: public-looking hosts only (private-looking ones are listed in withheld_hosts) " +
		"and no secret values (withheld_secrets). A failed run is still a successful answer with success: false, " +
		"the error and its line, and the captured stdout. External tools cannot be tested this way."

	descStartServer = "Start a server: its approved, enabled tools become callable. Idempotent (changed: false " +
		"when it already runs). A server without approved tools starts too; next_steps says how tools get approved."

	descStopServer = "Stop a server: its tools stop being callable at once; their approval states are untouched. " +
		"Idempotent (changed: false when it is already stopped)."

	descValidateCode = "Check Go tool code without saving or running it: parses it, checks its imports and Main's " +
		"signature and compiles it in a sandbox worker. Invalid code is a successful answer with valid: false and " +
		"errors with line and column; otherwise you get the derived description, input and output schemas, the " +
		"imported packages by approval state and the secrets the code reads."

	descListPackages = "List the Go packages tools may import: default (always allowed), approved (by an admin) and " +
		"approvable (request one with mcpbox_request_package). Package approvals are global, for every server."

	descRequestPublish = "Submit a draft or rejected tool's latest version for admin review, with optional notes " +
		"for the reviewer. The result lists the hosts and packages still missing; an admin approves in the MCPbox " +
		"UI. Once it is approved, your client may need mcpbox_run_tool or a reconnect to see the tool."

	descRequestPackage = "Ask an admin to allow a Go package (an import path such as encoding/xml) that the tool " +
		"needs, with a justification of 10 to 2000 characters. Approvals are global; mcpbox_list_packages shows " +
		"what is allowed already."

	descRequestNetworkAccess = "Ask an admin to let a tool reach a host, with a justification of 10 to 2000 " +
		"characters. Give the port in host ('api.example.com:443') or in port, or neither for any port. When the " +
		"tool's latest version does not list the host yet, a new version adding it is stored first; that is an " +
		"edit, refused to remote connections while the admin has turned off remote tool editing."

	descGetToolStatus = "Get a tool's approval status: review_status, latest and approved version, whether it is " +
		"live, its server's status, the rejection reason, its network and package requests and what is still " +
		"missing (hosts, packages, secrets without a value), with next_steps."

	descListToolVersions = "List a tool's versions (version, hash, status, change_summary, change_source, " +
		"created_at) with latest_version and approved_version. Imported external tools have a version 1 too. " +
		"Paginated with cursor and limit (1 to 200, default 50)."

	descRollbackTool = "Roll a tool back: stores a new version (latest + 1) with the content of an earlier version. " +
		"Like any change it needs admin approval again (unless its content equals the approved version's); the " +
		"last approved version keeps serving until then."

	descCreateServerSecret = "Declare a secret that a server's tools read with mcpbox.Secret(\"KEY\"): this " +
		"creates a placeholder without a value. Only an admin sets the value, in the MCPbox UI; values never pass " +
		"through MCP."

	descListServerSecrets = "List a server's declared secrets, sorted by key: key, description and has_value. " +
		"Values are never shown. Paginated with cursor and limit (1 to 200, default 50)."

	descListPendingRequests = "List what waits for an admin, newest first across kinds (tool reviews, network, " +
		"packages, external sources), with counts per kind. Paginated with cursor and limit (1 to 200, default 50)."

	descGetToolLogs = "Get a tool's execution records, newest first and already redacted: via, success, error, " +
		"duration_ms, arguments, result, stdout, version and time; test runs included. A remote connection sees " +
		"only its own records. Paginated with cursor and limit (1 to 200, default 50)."

	descAddExternalSource = "Add an external MCP server (streamable HTTP) to a server, so its tools can be " +
		"discovered and imported. Credentials come from a server secret (auth_type bearer or header); OAuth " +
		"sources are set up by an admin. A source added here waits for admin approval before it can be discovered."

	descListExternalSources = "List a server's external MCP servers: id, name, url, auth_type, transport_type, " +
		"status, discovered_at and discovered_tool_count. Paginated with cursor and limit (1 to 200, default 50)."

	descDiscoverExternalTools = "Connect to an approved external MCP server through the sandbox, list all its tools " +
		"and cache them: name, description, input schema and whether each is already imported. Import them with " +
		"mcpbox_import_external_tools."

	descImportExternalTools = "Import tools of the last discovery of an external source as draft tools (version 1, " +
		"pinned by their definition hash). Names not discovered or already taken are skipped and listed. Then " +
		"request approval with mcpbox_request_publish."

	descFindTools = "Search the approved tools you can call now by words of their name and description, optionally " +
		"in one server; an empty query lists them all. Returns each tool's name, description, server, input and " +
		"output schema and annotations. Call them by name if your tool list shows them; otherwise use mcpbox_run_tool."

	// descRunTool is the quoted description of gateway.md §10.4, tool 30.
	descRunTool = "Run any approved MCPbox tool by its name (`<server>__<tool>`), including tools approved after " +
		"your client loaded its tool list. Find names and input schemas with `mcpbox_find_tools`. Results are " +
		"exactly what calling the tool directly returns."
)
