package manage

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/mcpbox/mcpbox/proto"
)

// The management tool definitions live in proto, which does not depend on
// jsonschema-go; these tests check them with the library the gateway
// validates arguments with (gateway.md §8.2, §10.1).

const (
	sampleID  = "0b7e1f5c-3c1a-4a8e-9f3e-2d6c5b4a3f21"
	validCode = "package tool\n\nimport \"context\"\n\n// Main says hello.\nfunc Main(ctx context.Context, in struct{}) (any, error) { return \"hi\", nil }\n"
)

// resolve compiles the input schema of a management tool.
func resolve(t *testing.T, tool proto.ManagementTool) *jsonschema.Resolved {
	t.Helper()
	var s jsonschema.Schema
	if err := json.Unmarshal(tool.Def().InputSchema, &s); err != nil {
		t.Fatalf("%s: input schema does not unmarshal: %v", tool, err)
	}
	rs, err := s.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true})
	if err != nil {
		t.Fatalf("%s: input schema does not compile: %v", tool, err)
	}
	return rs
}

// validate checks JSON arguments as the gateway does: decoded to any.
func validate(t *testing.T, tool proto.ManagementTool, args string) error {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		t.Fatalf("bad test arguments %s: %v", args, err)
	}
	return resolve(t, tool).Validate(v)
}

// validSamples are accepted arguments for every tool, each using every
// parameter at least once across the two samples of a tool where useful.
var validSamples = map[proto.ManagementTool][]string{
	proto.MgmtListServers:  {`{}`, `{"cursor": "abc", "limit": 200}`},
	proto.MgmtGetServer:    {`{"server_id": "` + sampleID + `"}`},
	proto.MgmtCreateServer: {`{"name": "weather"}`, `{"name": "a23456789012345678901234", "description": "Forecasts."}`},
	proto.MgmtDeleteServer: {`{"server_id": "` + sampleID + `"}`},
	proto.MgmtListTools:    {`{"server_id": "` + sampleID + `", "limit": 1}`},
	proto.MgmtGetTool:      {`{"tool_id": "` + sampleID + `"}`, `{"tool_id": "` + sampleID + `", "version": 3}`},
	proto.MgmtCreateTool: {
		`{"server_id": "` + sampleID + `", "name": "forecast", "code": ` + jsonString(validCode) + `}`,
		`{"server_id": "` + sampleID + `", "name": "forecast", "code": "package tool", "hosts": ["api.example.com", "[::1]:8080"],
		  "timeout_ms": 300000, "memory_mb": 32}`,
	},
	proto.MgmtUpdateTool: {
		`{"tool_id": "` + sampleID + `", "enabled": false}`,
		`{"tool_id": "` + sampleID + `", "name": "f2", "code": "package tool", "hosts": [], "timeout_ms": 1000, "memory_mb": 1024}`,
	},
	proto.MgmtDeleteTool:           {`{"tool_id": "` + sampleID + `"}`},
	proto.MgmtTestCode:             {`{"tool_id": "` + sampleID + `"}`, `{"tool_id": "` + sampleID + `", "arguments": {"city": "Oslo"}, "version": 1}`},
	proto.MgmtStartServer:          {`{"server_id": "` + sampleID + `"}`},
	proto.MgmtStopServer:           {`{"server_id": "` + sampleID + `"}`},
	proto.MgmtValidateCode:         {`{"code": ` + jsonString(validCode) + `}`},
	proto.MgmtListPackages:         {`{}`},
	proto.MgmtRequestPublish:       {`{"tool_id": "` + sampleID + `"}`, `{"tool_id": "` + sampleID + `", "notes": ""}`},
	proto.MgmtRequestPackage:       {`{"tool_id": "` + sampleID + `", "package": "encoding/xml", "justification": "Parses the XML feed."}`},
	proto.MgmtRequestNetworkAccess: {`{"tool_id": "` + sampleID + `", "host": "api.example.com", "port": 443, "justification": "Fetches forecasts."}`},
	proto.MgmtGetToolStatus:        {`{"tool_id": "` + sampleID + `"}`},
	proto.MgmtListToolVersions:     {`{"tool_id": "` + sampleID + `", "cursor": "x"}`},
	proto.MgmtRollbackTool:         {`{"tool_id": "` + sampleID + `", "version": 2}`},
	proto.MgmtCreateServerSecret:   {`{"server_id": "` + sampleID + `", "key": "API_KEY", "description": "The weather API key."}`},
	proto.MgmtListServerSecrets:    {`{"server_id": "` + sampleID + `"}`},
	proto.MgmtListPendingRequests:  {`{"limit": 50}`},
	proto.MgmtGetToolLogs:          {`{"tool_id": "` + sampleID + `"}`},
	proto.MgmtAddExternalSource: {
		`{"server_id": "` + sampleID + `", "name": "GitHub MCP", "url": "https://mcp.example.com/mcp"}`,
		`{"server_id": "` + sampleID + `", "name": "x", "url": "HTTP://10.0.0.1:9000/mcp", "auth_type": "header",
		  "auth_secret_name": "TOKEN", "auth_header_name": "X-API-Key", "transport_type": "streamable_http"}`,
	},
	proto.MgmtListExternalSources:   {`{"server_id": "` + sampleID + `"}`},
	proto.MgmtDiscoverExternalTools: {`{"source_id": "` + sampleID + `"}`},
	proto.MgmtImportExternalTools:   {`{"source_id": "` + sampleID + `", "tool_names": ["search-issues", "Get Repo"]}`},
	proto.MgmtFindTools:             {`{"query": ""}`, `{"query": "weather forecast", "server": "weather", "limit": 50}`},
	proto.MgmtRunTool:               {`{"name": "weather__forecast"}`, `{"name": "weather__forecast", "arguments": {"days": 3}}`},
}

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestManagementSchemasCompileAndAcceptValidArguments compiles every
// schema (defaults validated against their own schema) and checks that
// valid arguments pass, so the gateway never refuses what the backend
// serves.
func TestManagementSchemasCompileAndAcceptValidArguments(t *testing.T) {
	t.Parallel()
	for _, tool := range proto.ManagementTools() {
		samples, ok := validSamples[tool]
		if !ok {
			t.Errorf("%s has no valid sample", tool)
			continue
		}
		for _, args := range samples {
			if err := validate(t, tool, args); err != nil {
				t.Errorf("%s refused valid arguments %s: %v", tool, args, err)
			}
		}
	}
}

// TestManagementSchemasRefuseOutOfRangeArguments checks that the schemas
// refuse missing, unknown, mistyped and out-of-range arguments, and that
// the library's message names the field and the rule (the schema half of
// GW-84; the gateway turns the message into the isError text).
func TestManagementSchemasRefuseOutOfRangeArguments(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return jsonString(strings.Repeat("a", n)) }
	tooManyHosts := `[` + strings.TrimSuffix(strings.Repeat(`"h.example.com",`, 33), ",") + `]`
	cases := []struct {
		tool proto.ManagementTool
		args string
		// want are substrings of the validation error: the field and the
		// rule.
		want []string
	}{
		// GW-84
		{proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "forecast"}`, []string{"required", `"code"`}},
		{proto.MgmtListServers, `{"limit": 500}`, []string{"limit", "maximum", "500", "200"}},

		{proto.MgmtListServers, `{"limit": 0}`, []string{"limit", "minimum"}},
		{proto.MgmtListServers, `{"limit": 2.5}`, []string{"limit", "integer"}},
		{proto.MgmtListServers, `{"page": 2}`, []string{"additional properties", "page"}},
		{
			proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "forecast", "code": "x", "python_code": "x"}`,
			[]string{"additional properties", "python_code"},
		},
		{proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "forecast", "code": ""}`, []string{"code", "minLength"}},
		{
			proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "forecast", "code": ` + long(102401) + `}`,
			[]string{"code", "maxLength"},
		},
		{proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": ` + long(39) + `, "code": "x"}`, []string{"name", "maxLength"}},
		{proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "Forecast", "code": "x"}`, []string{"name", "pattern"}},
		{
			proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "f", "code": "x", "timeout_ms": 999}`,
			[]string{"timeout_ms", "minimum"},
		},
		{
			proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "f", "code": "x", "memory_mb": 2048}`,
			[]string{"memory_mb", "maximum"},
		},
		{
			proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "f", "code": "x", "hosts": ` + tooManyHosts + `}`,
			[]string{"hosts", "maxItems"},
		},
		{
			proto.MgmtCreateTool, `{"server_id": "` + sampleID + `", "name": "f", "code": "x", "hosts": "api.example.com"}`,
			[]string{"hosts", "type"},
		},
		{proto.MgmtCreateTool, `{"server_id": 7, "name": "f", "code": "x"}`, []string{"server_id", "type"}},
		{proto.MgmtCreateServer, `{"name": "mcpbox_tools"}`, []string{"name", "not"}},
		{proto.MgmtCreateServer, `{"name": "a234567890123456789012345"}`, []string{"name", "maxLength"}},
		{proto.MgmtCreateServer, `{"name": "my__api"}`, []string{"name", "pattern"}},
		{proto.MgmtCreateServer, `{"name": "weather", "description": ` + long(2001) + `}`, []string{"description", "maxLength"}},
		{proto.MgmtUpdateTool, `{"tool_id": "` + sampleID + `", "enabled": "yes"}`, []string{"enabled", "type"}},
		{proto.MgmtTestCode, `{"tool_id": "` + sampleID + `", "arguments": [1]}`, []string{"arguments", "type"}},
		{proto.MgmtTestCode, `{"tool_id": "` + sampleID + `", "version": 0}`, []string{"version", "minimum"}},
		{proto.MgmtRollbackTool, `{"tool_id": "` + sampleID + `"}`, []string{"required", `"version"`}},
		{proto.MgmtRequestPublish, `{"tool_id": "` + sampleID + `", "notes": ` + long(2001) + `}`, []string{"notes", "maxLength"}},
		{
			proto.MgmtRequestPackage, `{"tool_id": "` + sampleID + `", "package": "encoding/xml", "justification": "short"}`,
			[]string{"justification", "minLength"},
		},
		{
			proto.MgmtRequestPackage, `{"tool_id": "` + sampleID + `", "package": "Encoding/XML", "justification": "Parses the feed."}`,
			[]string{"package", "pattern"},
		},
		{
			proto.MgmtRequestNetworkAccess, `{"tool_id": "` + sampleID + `", "host": "a.com", "port": 70000, "justification": "Fetches data."}`,
			[]string{"port", "maximum"},
		},
		{
			proto.MgmtRequestNetworkAccess, `{"tool_id": "` + sampleID + `", "host": "a.com", "justification": ` + long(2001) + `}`,
			[]string{"justification", "maxLength"},
		},
		{proto.MgmtCreateServerSecret, `{"server_id": "` + sampleID + `", "key": "api_key"}`, []string{"key", "pattern"}},
		{
			proto.MgmtCreateServerSecret, `{"server_id": "` + sampleID + `", "key": "` + strings.Repeat("K", 65) + `"}`,
			[]string{"key", "maxLength"},
		},
		{proto.MgmtAddExternalSource, `{"server_id": "` + sampleID + `", "name": "x", "url": "ftp://x"}`, []string{"url", "pattern"}},
		{
			proto.MgmtAddExternalSource, `{"server_id": "` + sampleID + `", "name": "x", "url": "https://x", "auth_type": "oauth"}`,
			[]string{"auth_type", "enum"},
		},
		{
			proto.MgmtAddExternalSource, `{"server_id": "` + sampleID + `", "name": "x", "url": "https://x", "transport_type": "sse"}`,
			[]string{"transport_type", "enum"},
		},
		{
			proto.MgmtAddExternalSource, `{"server_id": "` + sampleID + `", "name": "x", "url": "https://x", "auth_header_name": "X Key"}`,
			[]string{"auth_header_name", "pattern"},
		},
		{
			proto.MgmtAddExternalSource, `{"server_id": "` + sampleID + `", "name": ` + long(65) + `, "url": "https://x"}`,
			[]string{"name", "maxLength"},
		},
		{proto.MgmtImportExternalTools, `{"source_id": "` + sampleID + `", "tool_names": []}`, []string{"tool_names", "minItems"}},
		{proto.MgmtImportExternalTools, `{"source_id": "` + sampleID + `", "tool_names": [""]}`, []string{"tool_names", "minLength"}},
		{proto.MgmtFindTools, `{}`, []string{"required", `"query"`}},
		{proto.MgmtFindTools, `{"query": ` + long(201) + `}`, []string{"query", "maxLength"}},
		{proto.MgmtFindTools, `{"query": "", "limit": 51}`, []string{"limit", "maximum"}},
		{proto.MgmtRunTool, `{"name": "mcpbox_list_servers"}`, []string{"name", "pattern"}},
		{proto.MgmtRunTool, `{"name": "weather"}`, []string{"name", "pattern"}},
		{proto.MgmtRunTool, `{"name": "` + strings.Repeat("a", 30) + "__" + strings.Repeat("b", 33) + `"}`, []string{"name", "maxLength"}},
		{proto.MgmtRunTool, `{"arguments": {}}`, []string{"required", `"name"`}},
		{proto.MgmtListPackages, `{"x": 1}`, []string{"additional properties", "x"}},
	}
	for _, c := range cases {
		err := validate(t, c.tool, c.args)
		if err == nil {
			t.Errorf("%s accepted %.120s", c.tool, c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %.120s: error %q does not mention %q", c.tool, c.args, err, w)
			}
		}
	}
}
