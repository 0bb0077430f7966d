package catalog_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

func TestBE68_PlanCarriesOnlyTheManifestSecrets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather", "running")
	f.secret(t, srv, "API_KEY", ptr("key-value-0123456789"))
	f.secret(t, srv, "UNUSED", ptr("other-value-0123456789"))
	f.secret(t, srv, "EMPTY", nil)
	f.approveHost(t, srv, "api.weather.example", 0)
	f.approveHost(t, srv, "api.other.example", 8443)

	m := manifest([]string{"api.weather.example:443", "api.other.example:8443"}, []string{"encoding/xml"}, []string{"API_KEY"})
	tool := f.goTool(t, srv, "forecast", code("forecast"), m)
	f.approve(t, tool, 1)

	p := f.plan(t, tool, 1)
	if want := map[string]string{"API_KEY": "key-value-0123456789"}; !maps.Equal(p.Secrets, want) {
		t.Errorf("secrets = %v, want %v", p.Secrets, want)
	}
	hash, err := canon.HashGo(code("forecast"), m)
	if err != nil {
		t.Fatal(err)
	}
	if p.ToolID != tool.String() || p.ServerID != srv.String() || p.ServerName != "weather" ||
		p.Name != "weather__forecast" || p.Kind != proto.ToolKindGo || p.Version != 1 || p.Hash != hash ||
		p.Code != code("forecast") || p.External != nil || !p.Redact || p.ExpiresAt != nil {
		t.Errorf("plan = %+v", p)
	}
	if !slices.Equal(p.Manifest.Hosts, m.Hosts) || !slices.Equal(p.Manifest.Secrets, m.Secrets) {
		t.Errorf("manifest = %+v, want %+v", p.Manifest, m)
	}
	if p.AllowedHosts.Any || !slices.Equal(p.AllowedHosts.Hosts, m.Hosts) {
		t.Errorf("allowed_hosts = %+v, want the manifest's %v", p.AllowedHosts, m.Hosts)
	}
	if !slices.Equal(p.ExtraPackages, []string{"encoding/xml"}) {
		t.Errorf("extra_packages = %v", p.ExtraPackages)
	}
	if p.Limits != (proto.Limits{TimeoutMS: proto.DefaultTimeoutMS, MemoryMB: proto.DefaultMemoryMB}) {
		t.Errorf("limits = %+v", p.Limits)
	}
	if string(p.InputSchema) == "null" || string(p.OutputSchema) != "null" {
		t.Errorf("schemas = %s / %s", p.InputSchema, p.OutputSchema)
	}

	// Redaction follows the policy.
	f.setPolicy(t, "redact_secrets_in_output", "disabled")
	if p := f.plan(t, tool, 1); p.Redact {
		t.Error("redact = true under redact_secrets_in_output disabled")
	}

	// A manifest secret whose placeholder has no value, and one that does
	// not exist at all.
	for _, secret := range []string{"EMPTY", "NOT_CREATED"} {
		name := strings.ToLower(secret)
		other := f.goTool(t, srv, name, code(name), manifest(nil, nil, []string{"API_KEY", secret}))
		f.approve(t, other, 1)
		e := wantError(t, f.get(t, planPath(other, 1)), http.StatusConflict, proto.CodeSecretMissing)
		want := "Secret '" + secret + "' of server 'weather' has no value. " +
			"An admin must set it in the MCPbox UI (Servers > weather > Secrets)."
		if e.Message != want {
			t.Errorf("message = %q, want %q", e.Message, want)
		}
		if strings.Contains(e.Message, "key-value") {
			t.Error("the refusal leaks a secret value")
		}
	}
}

func TestBE69_PlanOfNonApprovedVersionIsNotExecutable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather", "running")
	m := manifest(nil, nil, nil)
	tool := f.goTool(t, srv, "forecast", code("v1"), m)
	f.approve(t, tool, 1)
	f.addGoVersion(t, tool, 2, code("v2"), m, "draft")
	f.addGoVersion(t, tool, 3, code("v3"), m, "rejected")
	for _, v := range []int{2, 3, 4} {
		e := wantError(t, f.get(t, planPath(tool, v)), http.StatusConflict, proto.CodeNotExecutable)
		if !strings.Contains(e.Message, "(approved: 1)") {
			t.Errorf("version %d: message %q does not name the approved version", v, e.Message)
		}
	}
	for _, status := range []string{"draft", "pending_review", "rejected"} {
		other := f.goTool(t, srv, "t_"+status, code(status), m)
		f.setReview(t, other, status)
		e := wantError(t, f.get(t, planPath(other, 1)), http.StatusConflict, proto.CodeNotExecutable)
		if !strings.Contains(e.Message, "has no approved version (review status: "+status+")") {
			t.Errorf("%s: message %q", status, e.Message)
		}
	}
}

// BE-66 (plan half) and §16 item 7: plans exist only for enabled tools of
// running servers with a usable source.
func TestPlanRefusedForToolsThatAreNotLive(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather", "running")
	m := manifest(nil, nil, nil)
	tool := f.goTool(t, srv, "forecast", code("v1"), m)
	f.approve(t, tool, 1)
	f.plan(t, tool, 1)

	dbtest.Exec(t, f.url, "UPDATE servers SET status = 'stopped' WHERE id = $1", srv)
	e := wantError(t, f.get(t, planPath(tool, 1)), http.StatusConflict, proto.CodeNotExecutable)
	if want := "Server 'weather' is stopped; start it with mcpbox_start_server."; e.Message != want {
		t.Errorf("message = %q, want %q", e.Message, want)
	}
	dbtest.Exec(t, f.url, "UPDATE servers SET status = 'running' WHERE id = $1", srv)
	f.disable(t, tool)
	e = wantError(t, f.get(t, planPath(tool, 1)), http.StatusConflict, proto.CodeNotExecutable)
	if !strings.Contains(e.Message, "'weather__forecast' is disabled") {
		t.Errorf("message = %q", e.Message)
	}

	ext := manifest([]string{"mcp.example.com"}, nil, nil)
	ext.MemoryMB = 0
	src := f.source(t, srv, "GitHub", "https://mcp.example.com/mcp", "none", nil, "disabled")
	x, _ := f.externalTool(t, srv, src, "github_list", "list", ext)
	f.approve(t, x, 1)
	e = wantError(t, f.get(t, planPath(x, 1)), http.StatusConflict, proto.CodeNotExecutable)
	if !strings.Contains(e.Message, "External source 'GitHub' of server 'weather' is disabled") {
		t.Errorf("message = %q", e.Message)
	}
}

func TestPlanUnknownToolAndBadVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := uuid.New()
	e := wantError(t, f.get(t, planPath(id, 1)), http.StatusNotFound, proto.CodeNotFound)
	if want := "Tool " + id.String() + " not found."; e.Message != want {
		t.Errorf("message = %q, want %q", e.Message, want)
	}
	wantError(t, f.get(t, "/internal/v1/tools/weather__forecast/plan?version=1"), http.StatusNotFound, proto.CodeNotFound)
	for _, q := range []string{
		"", "?version=", "?version=0", "?version=-1", "?version=01", "?version=1.0",
		"?version=x", "?version=1&version=2", "?version=99999999999",
	} {
		e := wantError(t, f.get(t, "/internal/v1/tools/"+id.String()+"/plan"+q), http.StatusBadRequest, proto.CodeValidationFailed)
		if e.Field != "version" {
			t.Errorf("%q: field = %q, want version", q, e.Field)
		}
	}
}

// BE-46 (plan half): under allow_all_public a go tool's plan carries
// allowed_hosts null; an external tool keeps its source's host.
func TestBE46_AllowAllPublicGivesGoToolsAnyPublicHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather", "running")
	f.approveHost(t, srv, "api.weather.example", 0)
	f.approveHost(t, srv, "mcp.example.com", 0)
	tool := f.goTool(t, srv, "forecast", code("v1"), manifest([]string{"api.weather.example"}, nil, nil))
	f.approve(t, tool, 1)
	ext := manifest([]string{"mcp.example.com"}, nil, nil)
	ext.MemoryMB = 0
	src := f.source(t, srv, "GitHub", "https://mcp.example.com/mcp", "none", nil, "active")
	x, _ := f.externalTool(t, srv, src, "github_list", "list", ext)
	f.approve(t, x, 1)

	raw := func(id uuid.UUID) json.RawMessage {
		w := f.get(t, planPath(id, 1))
		var body map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != http.StatusOK {
			t.Fatalf("plan: %d %s", w.Code, w.Body)
		}
		return body["allowed_hosts"]
	}
	if got := string(raw(tool)); got != `["api.weather.example"]` {
		t.Errorf("approved_hosts_only: allowed_hosts = %s", got)
	}
	f.setPolicy(t, "network_access_policy", "allow_all_public")
	if got := string(raw(tool)); got != "null" {
		t.Errorf("allow_all_public: go tool allowed_hosts = %s, want null", got)
	}
	if got := string(raw(x)); got != `["mcp.example.com"]` {
		t.Errorf("allow_all_public: external tool allowed_hosts = %s, want its source host", got)
	}
}

// Only hosts that the server's approved requests cover reach the sandbox
// (§6.3): a port-specific approval does not cover another port.
func TestPlanAllowedHostsAreTheCoveredManifestHosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "weather", "running")
	f.approveHost(t, srv, "a.example.com", 0)
	f.approveHost(t, srv, "b.example.com", 443)
	f.approveHost(t, srv, "[fd00::1]", 8443)
	m := manifest([]string{"a.example.com:8080", "b.example.com:443", "b.example.com:444", "[fd00::1]:8443", "c.example.com"}, nil, nil)
	tool := f.goTool(t, srv, "forecast", code("v1"), m)
	f.approve(t, tool, 1)
	p := f.plan(t, tool, 1)
	want := []string{"[fd00::1]:8443", "a.example.com:8080", "b.example.com:443"}
	if !slices.Equal(p.AllowedHosts.Hosts, want) || p.AllowedHosts.Any {
		t.Errorf("allowed_hosts = %+v, want %v", p.AllowedHosts, want)
	}
}

func TestPlanOfExternalToolResolvesAuthHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.server(t, "code", "running")
	f.secret(t, srv, "GH_TOKEN", ptr("ghp_0123456789abcdef"))
	f.approveHost(t, srv, "mcp.example.com", 0)
	ext := manifest([]string{"mcp.example.com"}, nil, []string{"GH_TOKEN"})
	ext.MemoryMB = 0

	bearer := f.source(t, srv, "GitHub", "https://mcp.example.com/mcp", "bearer", ptr("GH_TOKEN"), "active")
	x, def := f.externalTool(t, srv, bearer, "github_list_repos", "list-repos", ext)
	f.approve(t, x, 1)
	p := f.plan(t, x, 1)
	hash, err := canon.HashExternal(def, ext)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != proto.ToolKindExternal || p.Hash != hash || p.Code != "" || p.External == nil {
		t.Fatalf("plan = %+v", p)
	}
	if p.External.SourceID != bearer.String() || p.External.URL != "https://mcp.example.com/mcp" ||
		p.External.Transport != proto.TransportStreamableHTTP || p.External.Tool != "list-repos" ||
		p.External.Definition.Name != "list-repos" || p.External.Definition.Description != def.Description {
		t.Errorf("external = %+v", p.External)
	}
	if want := map[string]string{"Authorization": "Bearer ghp_0123456789abcdef"}; !maps.Equal(p.External.Headers, want) {
		t.Errorf("headers = %v, want %v", p.External.Headers, want)
	}
	if p.Limits != (proto.Limits{TimeoutMS: proto.DefaultTimeoutMS, MemoryMB: 0}) {
		t.Errorf("limits = %+v", p.Limits)
	}
	// The hash the sandbox recomputes from the plan's definition and
	// manifest equals the pinned one.
	if h, err := canon.HashExternal(p.External.Definition, p.Manifest); err != nil || h != p.Hash {
		t.Errorf("recomputed hash %s (%v), want %s", h, err, p.Hash)
	}

	var header uuid.UUID
	dbtest.QueryRow(t, f.url, `INSERT INTO external_mcp_sources (server_id, name, url, auth_type, auth_secret_name,
		auth_header_name, status) VALUES ($1, 'Custom', 'https://mcp.example.com/custom', 'header', 'GH_TOKEN',
		'X-Api-Key', 'active') RETURNING id`, []any{&header}, srv)
	y, _ := f.externalTool(t, srv, header, "custom_list", "list", ext)
	f.approve(t, y, 1)
	if p := f.plan(t, y, 1); !maps.Equal(p.External.Headers, map[string]string{"X-Api-Key": "ghp_0123456789abcdef"}) {
		t.Errorf("header auth: headers = %v", p.External.Headers)
	}

	oauth := f.source(t, srv, "OAuth", "https://mcp.example.com/oauth", "oauth", nil, "active")
	noSecret := manifest([]string{"mcp.example.com"}, nil, nil)
	noSecret.MemoryMB = 0
	z, _ := f.externalTool(t, srv, oauth, "oauth_list", "list", noSecret)
	f.approve(t, z, 1)
	wantError(t, f.get(t, planPath(z, 1)), http.StatusNotImplemented, proto.CodeNotImplemented)
}

// §6.4: a version whose stored content no longer matches its pinned hash
// is corruption: 500 internal and an error activity row.
func TestPlanHashMismatchIsCorruption(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, tamper string }{
		{"approved hash changed", `UPDATE tools SET approved_hash = 'sha256:' || repeat('0', 64) WHERE id = $1`},
		{"code changed", `ALTER TABLE tool_versions DISABLE TRIGGER tool_versions_forbid_update;
			UPDATE tool_versions SET code = code || '// injected' || chr(10) WHERE tool_id = '%s';
			ALTER TABLE tool_versions ENABLE TRIGGER tool_versions_forbid_update`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			srv := f.server(t, "weather", "running")
			tool := f.goTool(t, srv, "forecast", code("v1"), manifest(nil, nil, nil))
			f.approve(t, tool, 1)
			f.plan(t, tool, 1)
			if strings.Contains(tc.tamper, "%s") {
				dbtest.Exec(t, f.url, strings.Replace(tc.tamper, "%s", tool.String(), 1))
			} else {
				dbtest.Exec(t, f.url, tc.tamper, tool)
			}
			e := wantError(t, f.get(t, planPath(tool, 1)), http.StatusInternalServerError, proto.CodeInternal)
			if e.Message != "Internal error (request "+testRequestID+")." {
				t.Errorf("message = %q", e.Message)
			}
			var n int
			var action, level, message, requestID string
			var toolID, serverID uuid.UUID
			dbtest.QueryRow(t, f.url, `SELECT count(*) OVER (), action, level, message, request_id, tool_id, server_id
				FROM activity_log WHERE category = 'error'`,
				[]any{&n, &action, &level, &message, &requestID, &toolID, &serverID})
			if n != 1 || action != "tool.hash_mismatch" || level != "error" || requestID != testRequestID ||
				toolID != tool || serverID != srv || !strings.Contains(message, "weather__forecast") {
				t.Errorf("activity row: n=%d action=%s level=%s request=%s tool=%s server=%s message=%q",
					n, action, level, requestID, toolID, serverID, message)
			}
		})
	}
}
