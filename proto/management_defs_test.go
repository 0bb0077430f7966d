package proto

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// specTool is what gateway.md §10.4 and backend.md §10.2 fix for one tool:
// title, hints in the notation of §10.3 and the signature, "?" marking
// optional parameters.
type specTool struct {
	tool      ManagementTool
	title     string
	hints     string
	signature string
}

// specTools lists the 30 tools in the order of gateway.md §10.4.
var specTools = []specTool{
	{MgmtListServers, "List servers", "RO", "cursor?, limit?"},
	{MgmtGetServer, "Get server", "RO", "server_id"},
	{MgmtCreateServer, "Create server", "none", "name, description?"},
	{MgmtDeleteServer, "Delete server", "di", "server_id"},
	{MgmtListTools, "List tools of a server", "RO", "server_id, cursor?, limit?"},
	{MgmtGetTool, "Get tool", "RO", "tool_id, version?"},
	{MgmtCreateTool, "Create a Go tool", "none", "server_id, name, code, hosts?, timeout_ms?, memory_mb?"},
	{MgmtUpdateTool, "Update a tool", "di", "tool_id, name?, code?, hosts?, timeout_ms?, memory_mb?, enabled?"},
	{MgmtDeleteTool, "Delete a tool", "di", "tool_id"},
	{MgmtTestCode, "Test a tool", "do", "tool_id, arguments?, version?"},
	{MgmtStartServer, "Start a server", "i", "server_id"},
	{MgmtStopServer, "Stop a server", "di", "server_id"},
	{MgmtValidateCode, "Check Go tool code", "RO", "code"},
	{MgmtListPackages, "List importable Go packages", "RO", ""},
	{MgmtRequestPublish, "Request approval", "none", "tool_id, notes?"},
	{MgmtRequestPackage, "Request a Go package", "none", "tool_id, package, justification"},
	{MgmtRequestNetworkAccess, "Request network access", "none", "tool_id, host, port?, justification"},
	{MgmtGetToolStatus, "Get approval status", "RO", "tool_id"},
	{MgmtListToolVersions, "List tool versions", "RO", "tool_id, cursor?, limit?"},
	{MgmtRollbackTool, "Roll back a tool", "d", "tool_id, version"},
	{MgmtCreateServerSecret, "Declare a secret", "none", "server_id, key, description?"},
	{MgmtListServerSecrets, "List secrets", "RO", "server_id, cursor?, limit?"},
	{MgmtListPendingRequests, "List pending requests", "RO", "cursor?, limit?"},
	{MgmtGetToolLogs, "Get execution logs", "RO", "tool_id, cursor?, limit?"},
	{
		MgmtAddExternalSource, "Add an external MCP server", "none",
		"server_id, name, url, auth_type?, auth_secret_name?, auth_header_name?, transport_type?",
	},
	{MgmtListExternalSources, "List external MCP servers", "RO", "server_id, cursor?, limit?"},
	{MgmtDiscoverExternalTools, "Discover external tools", "io", "source_id"},
	{MgmtImportExternalTools, "Import external tools", "i", "source_id, tool_names"},
	{MgmtFindTools, "Find approved tools", "RO", "query, server?, limit?"},
	{MgmtRunTool, "Run an approved tool", "do", "name, arguments?"},
}

// wantHints expands the notation of gateway.md §10.3.
func wantHints(t *testing.T, h string) ToolAnnotations {
	t.Helper()
	switch h {
	case "RO":
		return ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true}
	case "none":
		return ToolAnnotations{}
	}
	if strings.Trim(h, "dio") != "" {
		t.Fatalf("bad hint notation %q", h)
	}
	return ToolAnnotations{
		DestructiveHint: strings.Contains(h, "d"),
		IdempotentHint:  strings.Contains(h, "i"),
		OpenWorldHint:   strings.Contains(h, "o"),
	}
}

// inputSchema is the part of an input schema the tests read.
type inputSchema struct {
	Type                 string                     `json:"type"`
	Properties           map[string]json.RawMessage `json:"properties"`
	Required             []string                   `json:"required"`
	AdditionalProperties *bool                      `json:"additionalProperties"`
}

// propSchema is the part of a property schema the tests read.
type propSchema struct {
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Enum        []string `json:"enum"`
	Default     any      `json:"default"`
	MinLength   *int     `json:"minLength"`
	MaxLength   *int     `json:"maxLength"`
	Pattern     string   `json:"pattern"`
	Not         *struct {
		Pattern string `json:"pattern"`
	} `json:"not"`
	Minimum  *int `json:"minimum"`
	Maximum  *int `json:"maximum"`
	MinItems *int `json:"minItems"`
	MaxItems *int `json:"maxItems"`
	Items    *struct {
		Type      string `json:"type"`
		MinLength *int   `json:"minLength"`
		MaxLength *int   `json:"maxLength"`
	} `json:"items"`
}

func decodeInputSchema(t *testing.T, d ManagementToolDef) inputSchema {
	t.Helper()
	var s inputSchema
	if err := json.Unmarshal(d.InputSchema, &s); err != nil {
		t.Fatalf("%s: input schema is not JSON: %v\n%s", d.Name, err, d.InputSchema)
	}
	return s
}

func decodeProp(t *testing.T, d ManagementToolDef, name string) propSchema {
	t.Helper()
	raw, ok := decodeInputSchema(t, d).Properties[name]
	if !ok {
		t.Fatalf("%s has no property %s", d.Name, name)
	}
	var p propSchema
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("%s.%s: %v", d.Name, name, err)
	}
	return p
}

// TestManagementToolDefsTitlesAndHints checks the titles and the four hints
// of every tool against gateway.md §10.4 (the definition half of GW-81).
func TestManagementToolDefsTitlesAndHints(t *testing.T) {
	t.Parallel()
	defs := ManagementToolDefs()
	var names []ManagementTool
	for _, d := range defs {
		names = append(names, d.Name)
	}
	if diff := cmp.Diff(ManagementTools(), names); diff != "" {
		t.Fatalf("definition order differs from ManagementTools (-want +got):\n%s", diff)
	}
	if len(specTools) != len(defs) {
		t.Fatalf("%d spec rows for %d definitions", len(specTools), len(defs))
	}
	for i, want := range specTools {
		d := defs[i]
		if d.Name != want.tool {
			t.Errorf("definition %d is %s, want %s", i, d.Name, want.tool)
			continue
		}
		if d.Title != want.title {
			t.Errorf("%s: title %q, want %q", d.Name, d.Title, want.title)
		}
		if diff := cmp.Diff(wantHints(t, want.hints), d.Annotations); diff != "" {
			t.Errorf("%s: hints %s mismatch (-want +got):\n%s", d.Name, want.hints, diff)
		}
		if d.Description == "" || strings.TrimSpace(d.Description) != d.Description {
			t.Errorf("%s: empty or untrimmed description %q", d.Name, d.Description)
		}
		if got := want.tool.Def(); !cmp.Equal(got, d) {
			t.Errorf("%s: Def() differs from ManagementToolDefs()", d.Name)
		}
	}
	// All four hints are always on the wire, false ones included.
	b, err := json.Marshal(MgmtCreateServer.Def().Annotations)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"readOnlyHint":false,"destructiveHint":false,"idempotentHint":false,"openWorldHint":false}`; string(b) != want {
		t.Errorf("annotations JSON %s, want %s", b, want)
	}
}

// TestManagementToolDefsParams checks that every schema is a closed object
// whose properties and required list are the signature of backend.md §10.2
// (gateway.md §10.4 for the two gateway tools), with the types of gateway.md
// §10.3 and a description on every property.
func TestManagementToolDefsParams(t *testing.T) {
	t.Parallel()
	for _, want := range specTools {
		d := want.tool.Def()
		s := decodeInputSchema(t, d)
		if s.Type != "object" || s.AdditionalProperties == nil || *s.AdditionalProperties || s.Properties == nil || s.Required == nil {
			t.Errorf("%s: schema is not a closed object with properties and required: %s", d.Name, d.InputSchema)
		}
		var wantProps, wantRequired []string
		for p := range strings.SplitSeq(want.signature, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			name, optional := strings.CutSuffix(p, "?")
			wantProps = append(wantProps, name)
			if !optional {
				wantRequired = append(wantRequired, name)
			}
		}
		var gotProps []string
		for name := range s.Properties {
			gotProps = append(gotProps, name)
		}
		slices.Sort(gotProps)
		slices.Sort(wantProps)
		if diff := cmp.Diff(wantProps, gotProps, cmpEmpty); diff != "" {
			t.Errorf("%s: properties mismatch (-want +got):\n%s", d.Name, diff)
		}
		if diff := cmp.Diff(wantRequired, s.Required, cmpEmpty); diff != "" {
			t.Errorf("%s: required mismatch (-want +got):\n%s", d.Name, diff)
		}
		for _, name := range gotProps {
			p := decodeProp(t, d, name)
			if p.Description == "" {
				t.Errorf("%s.%s has no description", d.Name, name)
			}
			if want := paramType(name); p.Type != want {
				t.Errorf("%s.%s has type %q, want %q", d.Name, name, p.Type, want)
			}
			if p.Type == "array" && (p.Items == nil || p.Items.Type != "string") {
				t.Errorf("%s.%s is not an array of strings", d.Name, name)
			}
		}
	}
}

// cmpEmpty makes nil and empty slices equal.
var cmpEmpty = cmp.Transformer("empty", func(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
})

// paramType is the type rule of gateway.md §10.3.
func paramType(name string) string {
	switch {
	case strings.HasSuffix(name, "_id"):
		return "string"
	case name == "limit" || name == "version" || name == "timeout_ms" || name == "memory_mb" || name == "port":
		return "integer"
	case name == "enabled":
		return "boolean"
	case name == "arguments":
		return "object"
	case name == "hosts" || name == "tool_names":
		return "array"
	}
	return "string"
}

// TestManagementToolDefsLimits checks that every limit of backend.md §2 and
// §10.2 (and gateway.md §10.4 for the gateway tools) is in the schemas.
func TestManagementToolDefsLimits(t *testing.T) {
	t.Parallel()
	type limits struct {
		minLen, maxLen, minimum, maximum, minItems, maxItems int
		pattern, not                                         string
		deflt                                                any
		enum                                                 []string
	}
	name := `^[a-z][a-z0-9]*(_[a-z0-9]+)*$`
	cases := []struct {
		tool  ManagementTool
		param string
		want  limits
	}{
		{MgmtCreateServer, "name", limits{minLen: 1, maxLen: 24, pattern: name, not: "^mcpbox"}},
		{MgmtCreateServer, "description", limits{maxLen: 2000}},
		{MgmtFindTools, "server", limits{minLen: 1, maxLen: 24, pattern: name, not: "^mcpbox"}},
		{MgmtCreateTool, "name", limits{minLen: 1, maxLen: 38, pattern: name}},
		{MgmtUpdateTool, "name", limits{minLen: 1, maxLen: 38, pattern: name}},
		{MgmtCreateTool, "code", limits{minLen: 1, maxLen: 102400}},
		{MgmtUpdateTool, "code", limits{minLen: 1, maxLen: 102400}},
		{MgmtValidateCode, "code", limits{minLen: 1, maxLen: 102400}},
		{MgmtCreateTool, "hosts", limits{maxItems: 32}},
		{MgmtCreateTool, "timeout_ms", limits{minimum: 1000, maximum: 300000, deflt: 30000.0}},
		{MgmtCreateTool, "memory_mb", limits{minimum: 32, maximum: 1024, deflt: 128.0}},
		{MgmtUpdateTool, "timeout_ms", limits{minimum: 1000, maximum: 300000}},
		{MgmtUpdateTool, "memory_mb", limits{minimum: 32, maximum: 1024}},
		{MgmtCreateServerSecret, "key", limits{minLen: 1, maxLen: 64, pattern: `^[A-Z][A-Z0-9_]*$`}},
		{MgmtCreateServerSecret, "description", limits{maxLen: 2000}},
		{MgmtAddExternalSource, "auth_secret_name", limits{minLen: 1, maxLen: 64, pattern: `^[A-Z][A-Z0-9_]*$`}},
		{MgmtAddExternalSource, "name", limits{minLen: 1, maxLen: 64}},
		{MgmtAddExternalSource, "url", limits{minLen: 1, maxLen: 2000, pattern: `^[Hh][Tt][Tt][Pp][Ss]?://`}},
		{MgmtAddExternalSource, "auth_header_name", limits{minLen: 1, maxLen: 128, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"}},
		{MgmtAddExternalSource, "auth_type", limits{deflt: "none", enum: []string{"none", "bearer", "header"}}},
		{MgmtAddExternalSource, "transport_type", limits{deflt: "streamable_http", enum: []string{"streamable_http"}}},
		{MgmtListServers, "limit", limits{minimum: 1, maximum: 200, deflt: 50.0}},
		{MgmtGetToolLogs, "limit", limits{minimum: 1, maximum: 200, deflt: 50.0}},
		{MgmtFindTools, "limit", limits{minimum: 1, maximum: 50, deflt: 10.0}},
		{MgmtFindTools, "query", limits{maxLen: 200}},
		{MgmtRequestPackage, "justification", limits{minLen: 10, maxLen: 2000}},
		{MgmtRequestNetworkAccess, "justification", limits{minLen: 10, maxLen: 2000}},
		{MgmtRequestNetworkAccess, "port", limits{minimum: 1, maximum: 65535}},
		{MgmtRequestNetworkAccess, "host", limits{minLen: 1, maxLen: 260}},
		{MgmtRequestPackage, "package", limits{minLen: 1, maxLen: 128, pattern: `^[a-z0-9]+(/[a-z0-9]+)*$`}},
		{MgmtRequestPublish, "notes", limits{maxLen: 2000}},
		{MgmtGetTool, "version", limits{minimum: 1}},
		{MgmtTestCode, "version", limits{minimum: 1}},
		{MgmtRollbackTool, "version", limits{minimum: 1}},
		{MgmtTestCode, "arguments", limits{deflt: map[string]any{}}},
		{MgmtImportExternalTools, "tool_names", limits{minItems: 1, maxItems: 1000}},
		{MgmtRunTool, "name", limits{
			minLen: 1, maxLen: 64, pattern: `^[a-z][a-z0-9]*(_[a-z0-9]+)*__[a-z][a-z0-9]*(_[a-z0-9]+)*$`, not: "^mcpbox",
		}},
		{MgmtRunTool, "arguments", limits{deflt: map[string]any{}}},
	}
	deref := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	for _, c := range cases {
		p := decodeProp(t, c.tool.Def(), c.param)
		got := limits{
			minLen: deref(p.MinLength), maxLen: deref(p.MaxLength), minimum: deref(p.Minimum), maximum: deref(p.Maximum),
			minItems: deref(p.MinItems), maxItems: deref(p.MaxItems), pattern: p.Pattern, deflt: p.Default, enum: p.Enum,
		}
		if p.Not != nil {
			got.not = p.Not.Pattern
		}
		if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(limits{})); diff != "" {
			t.Errorf("%s.%s limits mismatch (-want +got):\n%s", c.tool, c.param, diff)
		}
	}
	// Every id is a plain string (no format keyword is relied on) and every
	// host entry of a list is bounded like a single host.
	for _, d := range ManagementToolDefs() {
		for name := range decodeInputSchema(t, d).Properties {
			p := decodeProp(t, d, name)
			if strings.HasSuffix(name, "_id") && (p.Pattern != "" || p.MinLength != nil || !strings.Contains(p.Description, "UUID")) {
				t.Errorf("%s.%s: ids are plain strings described as UUIDs", d.Name, name)
			}
			if name == "hosts" && (p.Items.MinLength == nil || *p.Items.MinLength != 1 || deref(p.Items.MaxLength) != 260) {
				t.Errorf("%s.hosts items are not 1–260 characters", d.Name)
			}
		}
	}
}

// TestManagementToolDefsPatternsCompile checks that every pattern is a
// valid regular expression that accepts and refuses what the name rules
// do.
func TestManagementToolDefsPatternsCompile(t *testing.T) {
	t.Parallel()
	for _, d := range ManagementToolDefs() {
		for name := range decodeInputSchema(t, d).Properties {
			p := decodeProp(t, d, name)
			for _, pat := range []string{p.Pattern, notPattern(p)} {
				if pat == "" {
					continue
				}
				if _, err := regexp.Compile(pat); err != nil {
					t.Errorf("%s.%s: pattern %q: %v", d.Name, name, pat, err)
				}
			}
		}
	}
	server := decodeProp(t, MgmtCreateServer.Def(), "name")
	re, notRe := regexp.MustCompile(server.Pattern), regexp.MustCompile(server.Not.Pattern)
	for _, c := range []struct {
		name string
		ok   bool
	}{{"weather", true}, {"my_api2", true}, {"mcpbox_x", false}, {"mcpboxes", false}, {"Weather", false}, {"a__b", false}, {"_a", false}} {
		if got := re.MatchString(c.name) && !notRe.MatchString(c.name); got != c.ok {
			t.Errorf("server name %q accepted = %v, want %v", c.name, got, c.ok)
		}
		if got := ValidateServerName(c.name) == nil; got != c.ok {
			t.Errorf("ValidateServerName(%q) ok = %v, want %v (schema and rule disagree)", c.name, got, c.ok)
		}
	}
}

func notPattern(p propSchema) string {
	if p.Not == nil {
		return ""
	}
	return p.Not.Pattern
}

// TestGW87_CreateAndUpdateToolDescriptions checks that both descriptions
// teach the Go tool contract and the language-level limits.
func TestGW87_CreateAndUpdateToolDescriptions(t *testing.T) {
	t.Parallel()
	importMcpbox := regexp.MustCompile(`import[^\n]*"mcpbox"`)
	for _, tool := range []ManagementTool{MgmtCreateTool, MgmtUpdateTool} {
		desc := tool.Def().Description
		for _, want := range []string{
			"package tool",
			"func Main(ctx context.Context, in Input) (any, error)",
			"jsonschema",
			"min, max or clear builtins",
			"mcpbox.HTTP",
			`mcpbox.Secret("NAME")`,
		} {
			if !strings.Contains(desc, want) {
				t.Errorf("%s description lacks %q", tool, want)
			}
		}
		if !importMcpbox.MatchString(desc) {
			t.Errorf("%s description lacks an import of \"mcpbox\"", tool)
		}
	}
	update := MgmtUpdateTool.Def().Description
	for _, want := range []string{"needs admin approval again", "the last approved version keeps serving"} {
		if !strings.Contains(update, want) {
			t.Errorf("update description lacks the re-approval rule %q", want)
		}
	}
	rollback := MgmtRollbackTool.Def().Description
	if !strings.Contains(rollback, "approval again") || !strings.Contains(rollback, "last approved version keeps serving") {
		t.Errorf("rollback description does not say the approved version keeps serving: %q", rollback)
	}
}

// TestCreateToolDescriptionIsTheSpecText compares tool 7's description
// with the text block of gateway.md §10.4, copied to testdata.
func TestCreateToolDescriptionIsTheSpecText(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/mcpbox_create_tool_description.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(string(b), "\n")
	if diff := cmp.Diff(want, MgmtCreateTool.Def().Description); diff != "" {
		t.Errorf("mcpbox_create_tool description differs from gateway.md §10.4 (-want +got):\n%s", diff)
	}
}

// TestRunToolDescriptionIsTheSpecText checks tool 30's quoted description.
func TestRunToolDescriptionIsTheSpecText(t *testing.T) {
	t.Parallel()
	want := "Run any approved MCPbox tool by its name (`<server>__<tool>`), including tools approved after your " +
		"client loaded its tool list. Find names and input schemas with `mcpbox_find_tools`. Results are exactly " +
		"what calling the tool directly returns."
	if got := MgmtRunTool.Def().Description; got != want {
		t.Errorf("mcpbox_run_tool description:\n got %q\nwant %q", got, want)
	}
	if b := MgmtRunTool.Def().InputSchema; strings.Contains(string(b), `\u003c`) {
		t.Errorf("schema JSON escapes HTML characters: %s", b)
	}
}

// TestRemoteEditingTexts checks the note and the refusal of gateway.md
// §6.4 and that only gated tools get the note, only while editing is off.
func TestRemoteEditingTexts(t *testing.T) {
	t.Parallel()
	if want := "Not available on this connection: the admin has disabled remote tool editing."; RemoteEditingNote != want {
		t.Errorf("RemoteEditingNote = %q", RemoteEditingNote)
	}
	want := "mcpbox_create_tool is not available on remote connections: the MCPbox admin has turned off remote tool " +
		"editing (Settings → Security). Use a local connection, or ask the admin to enable it."
	if got := MgmtCreateTool.RemoteEditingRefusal(); got != want {
		t.Errorf("refusal:\n got %q\nwant %q", got, want)
	}
	for _, tool := range ManagementTools() {
		local := tool.Def()
		if got := tool.RemoteDef(true); !cmp.Equal(got, local) {
			t.Errorf("%s: RemoteDef(enabled) differs from Def", tool)
		}
		off := tool.RemoteDef(false)
		if !tool.Gated() {
			if !cmp.Equal(off, local) {
				t.Errorf("%s is not gated but RemoteDef(disabled) differs from Def", tool)
			}
			continue
		}
		if off.Description != local.Description+"\n\n"+RemoteEditingNote {
			t.Errorf("%s: RemoteDef(disabled) description does not end with the note: %q", tool, off.Description)
		}
		if off.Title != local.Title || !cmp.Equal(off.Annotations, local.Annotations) {
			t.Errorf("%s: RemoteDef(disabled) changed more than the description", tool)
		}
	}
}

// TestManagementToolDefsAreCopies checks that callers cannot change the
// shared table.
func TestManagementToolDefsAreCopies(t *testing.T) {
	t.Parallel()
	d := MgmtListServers.Def()
	want := string(d.InputSchema)
	d.InputSchema[0] = 'X'
	defs := ManagementToolDefs()
	defs[0].InputSchema[0] = 'Y'
	defs[0].Title = "changed"
	if got := MgmtListServers.Def(); string(got.InputSchema) != want || got.Title != "List servers" {
		t.Errorf("the table changed through a returned definition: %s %q", got.InputSchema, got.Title)
	}
	if got := ManagementTool("mcpbox_nope").Def(); !cmp.Equal(got, ManagementToolDef{}) {
		t.Errorf("Def of an unknown name = %+v, want the zero definition", got)
	}
}
