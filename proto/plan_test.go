package proto

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func goPlan() Plan {
	return Plan{
		ToolID: "7c1e6a52-3f0b-4e7d-9a8c-5b2d1e0f4a63", ServerID: "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
		ServerName: "weather", Name: "weather__forecast", Kind: ToolKindGo, Version: 3,
		Hash: "sha256:b5e89b10ea86a30bf574029b4b72d229bdbdac5e9e50f30e06cefc49f4b6df42",
		Code: "package tool\n",
		Manifest: Manifest{
			Hosts: []string{"api.example.com:443"}, Packages: []string{}, Secrets: []string{"API_KEY"},
			TimeoutMS: 30000, MemoryMB: 128,
		},
		InputSchema:   json.RawMessage(`{"type":"object"}`),
		OutputSchema:  json.RawMessage(`null`),
		AllowedHosts:  OnlyHosts("api.example.com:443"),
		ExtraPackages: []string{},
		Secrets:       map[string]string{"API_KEY": "s3cr3t-value"},
		Limits:        Limits{TimeoutMS: 30000, MemoryMB: 128},
		Redact:        true,
	}
}

// TestPlanExecuteRequest: the plan's execution fields are copied under the
// same names; hash becomes pinned_hash (contracts.md §3).
func TestPlanExecuteRequest(t *testing.T) {
	t.Parallel()
	p := goPlan()
	got := p.ExecuteRequest("req-1", nil)
	value := "s3cr3t-value"
	redact := true
	want := ExecuteRequest{
		RequestID: "req-1", ToolID: p.ToolID, Version: 3, ExposedName: "weather__forecast",
		Code: "package tool\n", Manifest: p.Manifest, PinnedHash: p.Hash,
		Arguments: json.RawMessage(`{}`), InputSchema: p.InputSchema,
		AllowedHosts: OnlyHosts("api.example.com:443"), ExtraPackages: []string{},
		Secrets: map[string]*string{"API_KEY": &value}, Limits: p.Limits, Redact: &redact,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ExecuteRequest mismatch (-want +got):\n%s", diff)
	}
	// The request owns its lists.
	got.Manifest.Hosts[0] = "changed"
	got.AllowedHosts.Hosts[0] = "changed"
	if p.Manifest.Hosts[0] != "api.example.com:443" || p.AllowedHosts.Hosts[0] != "api.example.com:443" {
		t.Error("ExecuteRequest shares slices with the plan")
	}
	args := json.RawMessage(`{"city":"Oslo"}`)
	if got := p.ExecuteRequest("", args); string(got.Arguments) != string(args) {
		t.Errorf("arguments = %s, want %s", got.Arguments, args)
	}
	p.Redact = false
	if p.ExecuteRequest("", nil).RedactOutput() {
		t.Error("plan redact false gave a redacting request")
	}
	if _, ok := p.MCPCallRequest("", nil); ok {
		t.Error("MCPCallRequest of a go plan succeeded")
	}
}

// TestPlanMCPCallRequest: the external fields go to the top level and
// limits.timeout_ms becomes timeout_ms (contracts.md §3).
func TestPlanMCPCallRequest(t *testing.T) {
	t.Parallel()
	def := ExternalDefinition{
		Annotations: json.RawMessage(`{"readOnlyHint":true}`), Description: "List repositories.",
		InputSchema: json.RawMessage(`{"type":"object"}`), Name: "list-repos",
		SourceID: "0b5e2a8e-7d4c-4f8e-9a51-2f1f0c3d9e47",
	}
	p := Plan{
		ToolID: "t", ServerID: "s", ServerName: "github", Name: "github__list_repos", Kind: ToolKindExternal,
		Version: 1, Hash: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
		External: &PlanExternal{
			SourceID: def.SourceID, URL: "https://mcp.example.com/mcp", Transport: TransportStreamableHTTP,
			Tool: "list-repos", Definition: def, Headers: map[string]string{"Authorization": "Bearer x"},
		},
		Manifest:     Manifest{Hosts: []string{"mcp.example.com"}, Packages: []string{}, Secrets: []string{"TOKEN"}, TimeoutMS: 60000},
		AllowedHosts: OnlyHosts("mcp.example.com"),
		Limits:       Limits{TimeoutMS: 60000},
		Redact:       true,
	}
	got, ok := p.MCPCallRequest("req-2", json.RawMessage(`{"org":"x"}`))
	if !ok {
		t.Fatal("MCPCallRequest of an external plan failed")
	}
	want := MCPCallRequest{
		RequestID: "req-2", ToolID: "t", Version: 1, ExposedName: "github__list_repos",
		URL: "https://mcp.example.com/mcp", Transport: TransportStreamableHTTP,
		Headers: map[string]string{"Authorization": "Bearer x"}, AllowedHosts: OnlyHosts("mcp.example.com"),
		Tool: "list-repos", Arguments: json.RawMessage(`{"org":"x"}`), TimeoutMS: 60000,
		Definition: def, Manifest: p.Manifest, PinnedHash: p.Hash,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MCPCallRequest mismatch (-want +got):\n%s", diff)
	}
}

// TestPlanAllowedHostsNull: a plan under allow_all_public carries null, and
// the request keeps it.
func TestPlanAllowedHostsNull(t *testing.T) {
	t.Parallel()
	p := goPlan()
	p.AllowedHosts = AnyPublicHost()
	b, err := json.Marshal(p.ExecuteRequest("", nil))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	if got, ok := fields["allowed_hosts"]; !ok || string(got) != "null" {
		t.Errorf("allowed_hosts = %s (present %v), want null", got, ok)
	}
}
