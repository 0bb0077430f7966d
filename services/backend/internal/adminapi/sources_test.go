package adminapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

// fakeDiscovery is a sandbox that answers POST /v1/mcp/discover with the
// answer the test set and records every request.
type fakeDiscovery struct {
	mu     sync.Mutex
	reqs   []proto.DiscoverRequest
	answer proto.DiscoverResponse
	srv    *httptest.Server
}

func newFakeDiscovery(t *testing.T, tools ...proto.DiscoveredTool) *fakeDiscovery {
	t.Helper()
	f := &fakeDiscovery{}
	f.setTools(tools...)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != proto.PathSandboxDiscover || r.Header.Get(proto.HeaderServiceToken) != sandboxToken {
			http.NotFound(w, r)
			return
		}
		var req proto.DiscoverRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		answer := f.answer
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// setTools makes discoveries succeed with these tools.
func (f *fakeDiscovery) setTools(tools ...proto.DiscoveredTool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tools == nil {
		tools = []proto.DiscoveredTool{}
	}
	f.answer = proto.DiscoverResponse{OK: true, ProtocolVersion: "2025-06-18", ServerInfo: proto.ServerInfo{Name: "up", Version: "1"}, Tools: tools}
}

// fail makes discoveries fail upstream with e.
func (f *fakeDiscovery) fail(e proto.UpstreamError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = proto.DiscoverResponse{OK: false, Tools: []proto.DiscoveredTool{}, Error: &e}
}

func (f *fakeDiscovery) requests() []proto.DiscoverRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// upstreamTool is a tool of the fake upstream MCP server.
func upstreamTool(name, description string) proto.DiscoveredTool {
	return proto.DiscoveredTool{
		Name: name, Title: "ignored", Description: description,
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"owner":{"type":"string"}}}`),
		OutputSchema: json.RawMessage(`{"type":"object"}`), Annotations: json.RawMessage(`{"readOnlyHint":true}`),
	}
}

// sourcesBackend is a replica with a fake discovery sandbox, the admin
// account, a Bearer header and the server github.
func sourcesBackend(t *testing.T, tools ...proto.DiscoveredTool) (*backend, *fakeDiscovery, []string, string) {
	t.Helper()
	f := newFakeDiscovery(t, tools...)
	b := newBackend(t, withSandbox(f.srv.URL))
	b.setup(t)
	auth := bearer(b.login(t))
	return b, f, auth, b.newServer(t, auth, "github", "")
}

func sourcePath(id string, action ...string) string {
	return strings.Join(append([]string{"/api/v1/external-sources/" + id}, action...), "/")
}

// newSource creates a source through the API and returns its body.
func (b *backend) newSource(t *testing.T, auth []string, serverID string, body map[string]any) map[string]any {
	t.Helper()
	r := b.call(t, http.MethodPost, "/api/v1/servers/"+serverID+"/external-sources", body, auth...)
	if r.status != http.StatusCreated {
		t.Fatalf("create source: %d %s", r.status, r.raw)
	}
	return r.body
}

// audits counts the audit rows with this action.
func (b *backend) audits(t *testing.T, action string) int {
	t.Helper()
	return b.countRows(t, "SELECT count(*)::int FROM activity_log WHERE category = 'audit' AND action = $1", action)
}

// allAudits counts every audit row.
func (b *backend) allAudits(t *testing.T) int {
	t.Helper()
	return b.countRows(t, "SELECT count(*)::int FROM activity_log WHERE category = 'audit'")
}

// snapshot is the catalog the gateway would get.
func (b *backend) snapshot(t *testing.T) proto.Catalog {
	t.Helper()
	keys, err := seal.New(1, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.New(b.store, secrets.New(b.store, keys), policy.New(b.store)).Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func catalogTool(c proto.Catalog, name string) (proto.CatalogTool, bool) {
	for _, t := range c.Tools {
		if t.Name == name {
			return t, true
		}
	}
	return proto.CatalogTool{}, false
}

func okStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("want %d, got %d %s", status, r.status, r.raw)
	}
}

func items(t *testing.T, r response) []map[string]any {
	t.Helper()
	okStatus(t, r, http.StatusOK)
	return listItems(t, r)
}

func TestSourceCreateValidatesAndAudits(t *testing.T) {
	t.Parallel()
	b, f, auth, sid := sourcesBackend(t)
	base := "/api/v1/servers/" + sid + "/external-sources"
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "gh", "url": "ftp://mcp.github.example/"}, "url"},
		{map[string]any{"name": "gh", "url": "https://u:p@mcp.github.example/"}, "url"},
		{map[string]any{"name": "gh", "url": "https://mcp.github.example", "auth_type": "bearer"}, "auth_secret_name"},
		{map[string]any{"name": "gh", "url": "https://mcp.github.example", "auth_type": "bearer", "auth_secret_name": "NOPE"}, "auth_secret_name"},
		{map[string]any{"name": "gh", "url": "https://mcp.github.example", "transport": "sse"}, "transport"},
		{map[string]any{"name": "gh", "url": "https://mcp.github.example", "auth_type": "basic"}, "auth_type"},
		{map[string]any{"name": "", "url": "https://mcp.github.example"}, "name"},
		{map[string]any{"url": "https://mcp.github.example"}, "name"},
		{map[string]any{"name": "gh", "url": "https://mcp.github.example", "bogus": 1}, "bogus"},
	} {
		r := b.call(t, http.MethodPost, base, tc.body, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
		if r.err.Field != tc.field || !strings.HasPrefix(r.err.Message, tc.field+": ") {
			t.Fatalf("%v: field %q message %q, want field %s", tc.body, r.err.Field, r.err.Message, tc.field)
		}
	}
	wantError(t, b.call(t, http.MethodPost, "/api/v1/servers/"+uuid.NewString()+"/external-sources",
		map[string]any{"name": "gh", "url": "https://mcp.github.example"}, auth...), http.StatusNotFound, proto.CodeNotFound)
	// BE-85: refused mutations write nothing, audit rows included.
	if n := b.countRows(t, "SELECT count(*)::int FROM external_mcp_sources"); n != 0 || b.audits(t, "source.create") != 0 {
		t.Fatalf("refused creates wrote %d sources, %d audit rows", n, b.audits(t, "source.create"))
	}

	b.newSecret(t, auth, sid, "GH_TOKEN", "ghp_0123456789abcdef")
	src := b.newSource(t, auth, sid, map[string]any{
		"name": "GitHub MCP", "url": "https://mcp.github.example/mcp", "auth_type": "bearer", "auth_secret_name": "GH_TOKEN",
	})
	// The Source resource of §8.1: exactly its fields.
	var keys []string
	for k := range src {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{
		"approved_at", "approved_by", "auth_header_name", "auth_secret_name", "auth_type", "created_at", "created_by",
		"discovered_at", "discovered_tool_count", "id", "imported_tool_count", "last_error", "name", "oauth_authenticated",
		"oauth_client_id", "oauth_issuer", "server_id", "status", "transport", "updated_at", "url",
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("Source fields %v, want %v", keys, want)
	}
	if src["status"] != "active" || src["approved_by"] != "admin:admin" || src["approved_at"] == nil ||
		src["created_by"] != "admin:admin" || src["transport"] != "streamable_http" || src["auth_header_name"] != nil ||
		src["discovered_at"] != nil || src["oauth_authenticated"] != false || src["server_id"] != sid {
		t.Fatalf("admin-created source: %v", src)
	}
	if at := src["created_at"].(string); !strings.HasSuffix(at, "Z") || len(at) != len("2006-01-02T15:04:05.000Z") {
		t.Fatalf("created_at %q is not RFC 3339 UTC with milliseconds", at)
	}
	hdr := b.newSource(t, auth, sid, map[string]any{
		"name": "custom", "url": "https://api.example.com/mcp", "auth_type": "header", "auth_secret_name": "GH_TOKEN",
	})
	if hdr["auth_header_name"] != "Authorization" {
		t.Fatalf("header source without a header name: %v", hdr["auth_header_name"])
	}
	r := b.call(t, http.MethodPost, base, map[string]any{"name": "GitHub MCP", "url": "https://other.example.com"}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeNameTaken)
	if r.err.Field != "name" {
		t.Fatalf("name_taken field %q", r.err.Field)
	}
	got := b.call(t, http.MethodGet, sourcePath(src["id"].(string)), nil, auth...)
	okStatus(t, got, http.StatusOK)
	if raw, _ := json.Marshal(src); !jsonEqual(t, got.raw, string(raw)) {
		t.Fatalf("GET %s, created %s", got.raw, raw)
	}
	wantError(t, b.call(t, http.MethodGet, sourcePath(uuid.NewString()), nil, auth...), http.StatusNotFound, proto.CodeNotFound)
	wantError(t, b.call(t, http.MethodGet, sourcePath("nope"), nil, auth...), http.StatusNotFound, proto.CodeNotFound)
	if n := b.audits(t, "source.create"); n != 2 {
		t.Fatalf("%d source.create rows, want 2", n)
	}
	if len(f.requests()) != 0 {
		t.Fatal("creating a source called the sandbox")
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	ra, _ := json.Marshal(x)
	rb, _ := json.Marshal(y)
	return string(ra) == string(rb)
}

func TestSourceLists(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := sourcesBackend(t)
	other := b.newServer(t, auth, "other", "")
	for _, n := range []string{"charlie", "alpha", "bravo"} {
		b.newSource(t, auth, sid, map[string]any{"name": n, "url": "https://" + n + ".example.com/mcp"})
	}
	last := b.newSource(t, auth, other, map[string]any{"name": "special", "url": "https://SPECIAL.example.net/mcp"})

	first := b.call(t, http.MethodGet, "/api/v1/servers/"+sid+"/external-sources?limit=2", nil, auth...)
	page1 := items(t, first)
	next, _ := first.body["next_cursor"].(string)
	if len(page1) != 2 || page1[0]["name"] != "alpha" || page1[1]["name"] != "bravo" || next == "" {
		t.Fatalf("first page: %s", first.raw)
	}
	second := b.call(t, http.MethodGet, "/api/v1/servers/"+sid+"/external-sources?limit=2&cursor="+next, nil, auth...)
	if page2 := items(t, second); len(page2) != 1 || page2[0]["name"] != "charlie" || second.body["next_cursor"] != nil {
		t.Fatalf("second page: %s", second.raw)
	}
	wantError(t, b.call(t, http.MethodGet, "/api/v1/servers/"+sid+"/external-sources?cursor="+next+"x", nil, auth...),
		http.StatusBadRequest, proto.CodeValidationFailed)
	wantError(t, b.call(t, http.MethodGet, "/api/v1/servers/"+uuid.NewString()+"/external-sources", nil, auth...),
		http.StatusNotFound, proto.CodeNotFound)

	all := items(t, b.call(t, http.MethodGet, "/api/v1/external-sources", nil, auth...))
	if len(all) != 4 || all[0]["id"] != last["id"] || all[0]["server_name"] != "other" || all[3]["name"] != "charlie" {
		t.Fatalf("every source, newest first: %v", all)
	}
	pending := b.insertSource(t, sid, "waiting", "pending_review")
	if got := items(t, b.call(t, http.MethodGet, "/api/v1/external-sources?status=pending_review", nil, auth...)); len(got) != 1 || got[0]["id"] != pending {
		t.Fatalf("pending_review filter: %v", got)
	}
	if got := items(t, b.call(t, http.MethodGet, "/api/v1/external-sources?q=special.EXAMPLE", nil, auth...)); len(got) != 1 || got[0]["id"] != last["id"] {
		t.Fatalf("q on the URL: %v", got)
	}
	if got := items(t, b.call(t, http.MethodGet, "/api/v1/external-sources?q=GITHUB", nil, auth...)); len(got) != 4 {
		t.Fatalf("q on the server name: %v", got)
	}
	paged := b.call(t, http.MethodGet, "/api/v1/external-sources?limit=3", nil, auth...)
	rest := b.call(t, http.MethodGet, "/api/v1/external-sources?limit=3&cursor="+paged.body["next_cursor"].(string), nil, auth...)
	if len(items(t, paged))+len(items(t, rest)) != 5 || rest.body["next_cursor"] != nil {
		t.Fatalf("paging every source: %s then %s", paged.raw, rest.raw)
	}
	r := b.call(t, http.MethodGet, "/api/v1/external-sources?status=bogus", nil, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "status" {
		t.Fatalf("unknown status: %s", r.raw)
	}
}

// BE-84: a re-discovery that changes an imported tool's description
// creates a new pending version, while the approved one stays in the
// catalog. On the way: the discovery sends the secret as a bearer header
// with allowed_hosts null (host not yet granted), an admin import approves
// at once and grants the source host, and the next discovery is limited
// to that granted host.
func TestBE84_RediscoveryVersionsChangedToolWhileApprovedOneServes(t *testing.T) {
	t.Parallel()
	b, f, auth, sid := sourcesBackend(t, upstreamTool("list_repos", "Lists repositories."), upstreamTool("create-issue", "Creates an issue."))
	const token = "ghp_0123456789abcdef"
	b.newSecret(t, auth, sid, "GH_TOKEN", token)
	src := b.newSource(t, auth, sid, map[string]any{
		"name": "GitHub MCP", "url": "https://mcp.github.example/mcp", "auth_type": "bearer", "auth_secret_name": "GH_TOKEN",
	})
	id := src["id"].(string)

	r := b.call(t, http.MethodPost, sourcePath(id, "discover"), nil, auth...)
	okStatus(t, r, http.StatusOK)
	tools := r.body["tools"].([]any)
	first := tools[0].(map[string]any)
	if len(tools) != 2 || first["name"] != "list_repos" || first["import_name"] != "github_mcp_list_repos" ||
		first["already_imported"] != false || first["name_taken"] != false || first["annotations"].(map[string]any)["readOnlyHint"] != true ||
		tools[1].(map[string]any)["import_name"] != "github_mcp_create_issue" || len(r.body["changed_tools"].([]any)) != 0 {
		t.Fatalf("discovery: %s", r.raw)
	}
	s := r.body["source"].(map[string]any)
	if s["status"] != "active" || s["discovered_tool_count"].(float64) != 2 || s["discovered_at"] == nil {
		t.Fatalf("source after discovery: %v", s)
	}
	req := f.requests()[0]
	if req.URL != "https://mcp.github.example/mcp" || req.Transport != proto.TransportStreamableHTTP ||
		req.Headers["Authorization"] != "Bearer "+token || len(req.Headers) != 1 || !req.AllowedHosts.Any ||
		req.TimeoutMS != proto.DefaultDiscoverTimeoutMS || req.RequestID == "" {
		t.Fatalf("discover request: %+v", req)
	}

	r = b.call(t, http.MethodPost, sourcePath(id, "import"), map[string]any{"tool_names": []string{"list_repos", "nope"}}, auth...)
	okStatus(t, r, http.StatusOK)
	imported := r.body["imported"].([]any)
	skipped := r.body["skipped"].([]any)
	if len(imported) != 1 || len(skipped) != 1 || skipped[0].(map[string]any)["name"] != "nope" ||
		skipped[0].(map[string]any)["reason"] != "not_found" {
		t.Fatalf("import: %s", r.raw)
	}
	tool := imported[0].(map[string]any)
	toolID := tool["tool_id"].(string)
	if tool["exposed_name"] != "github__github_mcp_list_repos" || tool["review_status"] != "approved" {
		t.Fatalf("admin import: %v", tool)
	}
	got := b.call(t, http.MethodGet, "/api/v1/tools/"+toolID, nil, auth...)
	okStatus(t, got, http.StatusOK)
	v1 := latest(got.body)
	manifest, _ := json.Marshal(v1["manifest"])
	if got.body["kind"] != "external" || got.body["review_status"] != "approved" || num(got.body["approved_version"]) != 1 ||
		got.body["approved_by"] != "admin:admin" || got.body["external_source_id"] != id || got.body["external_tool_name"] != "list_repos" ||
		string(manifest) != `{"hosts":["mcp.github.example"],"memory_mb":0,"packages":[],"secrets":["GH_TOKEN"],"timeout_ms":30000}` ||
		v1["change_source"] != "admin" || v1["code"] != nil || v1["description"] != "Lists repositories." {
		t.Fatalf("imported tool: %s", got.raw)
	}
	var def proto.ExternalDefinition
	raw, _ := json.Marshal(v1["external_definition"])
	if err := json.Unmarshal(raw, &def); err != nil || def.Name != "list_repos" || def.SourceID != id {
		t.Fatalf("external definition %s: %v", raw, err)
	}
	var m proto.Manifest
	_ = json.Unmarshal(manifest, &m)
	if h, err := canon.HashExternal(def, m); err != nil || h != v1["hash"] {
		t.Fatalf("hash %v, recomputed %s (%v)", v1["hash"], h, err)
	}
	if n := b.countRows(t, `SELECT count(*)::int FROM network_requests WHERE server_id = $1 AND host = 'mcp.github.example'
		AND port IS NULL AND status = 'approved'`, sid); n != 1 {
		t.Fatalf("the admin import granted %d requests for the source host, want 1", n)
	}
	if b.audits(t, "tool.create") != 1 || b.audits(t, "tool.approve") != 1 || b.audits(t, "source.import") != 1 ||
		b.audits(t, "source.discover") != 1 {
		t.Fatal("import or discovery without its audit rows")
	}

	okStatus(t, b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/start", nil, auth...), http.StatusOK)
	live, ok := catalogTool(b.snapshot(t), "github__github_mcp_list_repos")
	if !ok || live.Version != 1 || live.Description != "Lists repositories." || !jsonEqual(t, string(live.Annotations), `{"readOnlyHint":true}`) {
		t.Fatalf("catalog entry %+v (%v)", live, ok)
	}
	plan := b.planOf(t, toolID, 1)
	if plan.External == nil || plan.External.Headers["Authorization"] != "Bearer "+token || plan.External.Tool != "list_repos" {
		t.Fatalf("plan of the imported tool: %+v", plan.External)
	}
	rev := b.catalogRev(t)

	f.setTools(upstreamTool("list_repos", "Lists the caller's repositories."), upstreamTool("create-issue", "Creates an issue."))
	r = b.call(t, http.MethodPost, sourcePath(id, "discover"), nil, auth...)
	okStatus(t, r, http.StatusOK)
	changed := r.body["changed_tools"].([]any)
	if len(changed) != 1 {
		t.Fatalf("changed tools: %s", r.raw)
	}
	c := changed[0].(map[string]any)
	if c["tool_id"] != toolID || num(c["version"]) != 2 || c["review_status"] != "pending_review" ||
		c["exposed_name"] != "github__github_mcp_list_repos" || r.body["tools"].([]any)[0].(map[string]any)["already_imported"] != true {
		t.Fatalf("changed tool: %v", c)
	}
	if req := f.requests()[1]; req.AllowedHosts.Any || !slices.Equal(req.AllowedHosts.Hosts, []string{"mcp.github.example"}) {
		t.Fatalf("discovery of a granted host: allowed_hosts %+v", req.AllowedHosts)
	}
	got = b.call(t, http.MethodGet, "/api/v1/tools/"+toolID, nil, auth...)
	if num(got.body["latest_version"]) != 2 || got.body["review_status"] != "pending_review" || num(got.body["approved_version"]) != 1 ||
		latest(got.body)["change_source"] != "discovery" || latest(got.body)["description"] != "Lists the caller's repositories." ||
		latest(got.body)["change_summary"] != "Discovery changed description" {
		t.Fatalf("tool after re-discovery: %s", got.raw)
	}
	snap := b.snapshot(t)
	live, ok = catalogTool(snap, "github__github_mcp_list_repos")
	if !ok || live.Version != 1 || live.Description != "Lists repositories." || snap.Revision <= rev {
		t.Fatalf("after re-discovery the catalog serves %+v (%v) at revision %d (was %d)", live, ok, snap.Revision, rev)
	}
	if n := b.countRows(t, `SELECT count(*)::int FROM activity_log WHERE action = 'tool.update'
		AND details->>'change_source' = 'discovery' AND tool_id = $1`, toolID); n != 1 {
		t.Fatalf("%d tool.update rows for the discovery version, want 1", n)
	}

	// The same definitions again change nothing.
	r = b.call(t, http.MethodPost, sourcePath(id, "discover"), nil, auth...)
	okStatus(t, r, http.StatusOK)
	if len(r.body["changed_tools"].([]any)) != 0 || b.countRows(t, "SELECT count(*)::int FROM tool_versions WHERE tool_id = $1", toolID) != 2 {
		t.Fatalf("an unchanged re-discovery: %s", r.raw)
	}
}

func TestSourceDiscoveryFailures(t *testing.T) {
	t.Parallel()
	b, f, auth, sid := sourcesBackend(t)
	const secret = "sk-live-0123456789"
	b.newSecret(t, auth, sid, "API_KEY", secret)
	id := b.newSource(t, auth, sid, map[string]any{
		"name": "vendor", "url": "https://mcp.vendor.example/mcp", "auth_type": "header", "auth_secret_name": "API_KEY",
		"auth_header_name": "X-API-Key",
	})["id"].(string)

	f.fail(proto.UpstreamError{Type: "HTTPError", Message: "upstream said: bad key " + secret, Status: http.StatusForbidden})
	r := b.call(t, http.MethodPost, sourcePath(id, "discover"), nil, auth...)
	wantError(t, r, http.StatusBadGateway, proto.CodeDiscoveryFailed)
	if !strings.HasPrefix(r.err.Message, "Discovery failed: HTTPError: upstream said: bad key [REDACTED:API_KEY]") ||
		!strings.Contains(r.err.Message, "HTTP 403") {
		t.Fatalf("discovery_failed message %q", r.err.Message)
	}
	if h := f.requests()[0].Headers; h["X-API-Key"] != secret || len(h) != 1 {
		t.Fatalf("custom header: %v", h)
	}
	src := b.call(t, http.MethodGet, sourcePath(id), nil, auth...).body
	last, _ := src["last_error"].(string)
	if src["status"] != "error" || !strings.Contains(last, "[REDACTED:API_KEY]") || strings.Contains(last, secret) {
		t.Fatalf("source after a failed discovery: %v", src)
	}
	if n := b.countRows(t, `SELECT count(*)::int FROM activity_log WHERE action = 'source.discover' AND level = 'warning'
		AND details->>'ok' = 'false'`); n != 1 {
		t.Fatalf("%d failed-discovery audit rows, want 1", n)
	}
	for _, where := range []string{b.logs.String(), r.raw} {
		if strings.Contains(where, secret) {
			t.Fatal("the secret value leaked")
		}
	}

	f.setTools(upstreamTool("ping", "Pings."))
	okStatus(t, b.call(t, http.MethodPost, sourcePath(id, "discover"), nil, auth...), http.StatusOK)
	if src = b.call(t, http.MethodGet, sourcePath(id), nil, auth...).body; src["status"] != "active" || src["last_error"] != nil {
		t.Fatalf("a successful discovery recovers the source: %v", src)
	}

	// A secret without value: nothing is sent.
	b.newSecret(t, auth, sid, "EMPTY_KEY", "")
	okStatus(t, b.call(t, http.MethodPatch, sourcePath(id), map[string]any{"auth_secret_name": "EMPTY_KEY"}, auth...), http.StatusOK)
	before := len(f.requests())
	r = b.call(t, http.MethodPost, sourcePath(id, "discover"), nil, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeSecretMissing)
	if !strings.Contains(r.err.Message, "Secret 'EMPTY_KEY' of server 'github' has no value") {
		t.Fatalf("secret_missing message %q", r.err.Message)
	}
	// An OAuth source without a sign-in: nothing is sent.
	oauth := b.newSource(t, auth, sid, map[string]any{"name": "oauth", "url": "https://mcp.oauth.example/mcp", "auth_type": "oauth"})
	r = b.call(t, http.MethodPost, sourcePath(oauth["id"].(string), "discover"), nil, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeInvalidState)
	if !strings.Contains(r.err.Message, "sign in with OAuth first") {
		t.Fatalf("OAuth source message %q", r.err.Message)
	}
	if len(f.requests()) != before {
		t.Fatal("a refused discovery reached the sandbox")
	}

	// The sandbox down: 503, and the source is left as it was.
	down := newBackend(t)
	down.setup(t)
	dauth := bearer(down.login(t))
	did := down.newSource(t, dauth, down.newServer(t, dauth, "github", ""), map[string]any{"name": "gh", "url": "https://mcp.github.example"})["id"].(string)
	wantError(t, down.call(t, http.MethodPost, sourcePath(did, "discover"), nil, dauth...), http.StatusServiceUnavailable, proto.CodeSandboxUnavailable)
	if src := down.call(t, http.MethodGet, sourcePath(did), nil, dauth...).body; src["status"] != "active" || src["discovered_at"] != nil ||
		src["last_error"] != nil || down.audits(t, "source.discover") != 0 {
		t.Fatalf("source after the sandbox failed: %v", src)
	}
}

func TestSourceApproveRejectAndBulk(t *testing.T) {
	t.Parallel()
	b, f, auth, sid := sourcesBackend(t, upstreamTool("ping", "Pings."))
	p1, p2, p3 := b.insertSource(t, sid, "one", "pending_review"), b.insertSource(t, sid, "two", "pending_review"),
		b.insertSource(t, sid, "three", "pending_review")

	// BE-82 (admin side): no discovery before approval, no sandbox call.
	r := b.call(t, http.MethodPost, sourcePath(p1, "discover"), nil, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeInvalidState)
	if r.err.Message != "Source 'one' is pending_review; an admin must approve it first." || len(f.requests()) != 0 {
		t.Fatalf("discovery before approval: %s (%d sandbox calls)", r.raw, len(f.requests()))
	}
	wantError(t, b.call(t, http.MethodPost, sourcePath(p1, "import"), map[string]any{"tool_names": []string{"ping"}}, auth...),
		http.StatusConflict, proto.CodeInvalidState)
	pendingSources := func() float64 {
		s := b.call(t, http.MethodGet, "/api/v1/approvals/summary", nil, auth...)
		return s.body["pending"].(map[string]any)["sources"].(float64)
	}
	if n := pendingSources(); n != 3 {
		t.Fatalf("summary: %v pending sources, want 3", n)
	}

	rev := b.catalogRev(t)
	r = b.call(t, http.MethodPost, sourcePath(p1, "approve"), nil, auth...)
	okStatus(t, r, http.StatusOK)
	if r.body["status"] != "active" || r.body["approved_by"] != "admin:admin" || b.catalogRev(t) <= rev || b.audits(t, "source.approve") != 1 {
		t.Fatalf("approve: %s", r.raw)
	}
	audits := b.allAudits(t)
	wantError(t, b.call(t, http.MethodPost, sourcePath(p1, "approve"), nil, auth...), http.StatusConflict, proto.CodeInvalidState)
	wantError(t, b.call(t, http.MethodPost, sourcePath(p2, "reject"), map[string]any{}, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
	r = b.call(t, http.MethodPost, sourcePath(p2, "reject"), map[string]any{"reason": "   "}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "reason" {
		t.Fatalf("blank reason: %s", r.raw)
	}
	wantError(t, b.call(t, http.MethodPost, sourcePath(uuid.NewString(), "approve"), nil, auth...), http.StatusNotFound, proto.CodeNotFound)
	if b.allAudits(t) != audits {
		t.Fatal("BE-85: a refused decision wrote an audit row")
	}
	r = b.call(t, http.MethodPost, sourcePath(p2, "reject"), map[string]any{"reason": "Unknown vendor"}, auth...)
	okStatus(t, r, http.StatusOK)
	if r.body["status"] != "disabled" || r.body["last_error"] != "Rejected by an admin: Unknown vendor" || r.body["approved_by"] != nil ||
		b.audits(t, "source.reject") != 1 {
		t.Fatalf("reject: %s", r.raw)
	}
	// Enabling a rejected source is approving it.
	r = b.call(t, http.MethodPatch, sourcePath(p2), map[string]any{"status": "active"}, auth...)
	okStatus(t, r, http.StatusOK)
	if r.body["status"] != "active" || r.body["approved_by"] != "admin:admin" || r.body["approved_at"] == nil || r.body["last_error"] != nil {
		t.Fatalf("enable a rejected source: %s", r.raw)
	}

	missing := uuid.NewString()
	r = b.call(t, http.MethodPost, "/api/v1/approvals/bulk", map[string]any{
		"action": "approve", "items": []map[string]any{{"kind": "source", "id": p3}, {"kind": "source", "id": missing}},
	}, auth...)
	okStatus(t, r, http.StatusOK)
	res := r.body["results"].([]any)
	r0, r1 := res[0].(map[string]any), res[1].(map[string]any)
	if r0["ok"] != true || r1["ok"] != false || r1["error"].(map[string]any)["code"] != proto.CodeNotFound {
		t.Fatalf("bulk approve: %s", r.raw)
	}
	if s := b.call(t, http.MethodGet, sourcePath(p3), nil, auth...).body; s["status"] != "active" || s["approved_by"] != "admin:admin" {
		t.Fatalf("bulk-approved source: %v", s)
	}
	r = b.call(t, http.MethodPost, "/api/v1/approvals/bulk", map[string]any{
		"action": "reject", "reason": "no", "items": []map[string]any{{"kind": "source", "id": p1}},
	}, auth...)
	if res := r.body["results"].([]any)[0].(map[string]any); res["ok"] != false || res["error"].(map[string]any)["code"] != proto.CodeInvalidState {
		t.Fatalf("bulk reject of an active source: %s", r.raw)
	}
	if n := pendingSources(); n != 0 {
		t.Fatalf("summary: %v pending sources after the decisions, want 0", n)
	}
	okStatus(t, b.call(t, http.MethodPost, sourcePath(p1, "discover"), nil, auth...), http.StatusOK)
	if len(f.requests()) != 1 {
		t.Fatalf("%d sandbox calls, want 1", len(f.requests()))
	}
}

func TestSourcePatchAndDelete(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := sourcesBackend(t, upstreamTool("list_repos", "Lists repositories."))
	id := b.newSource(t, auth, sid, map[string]any{"name": "Repos", "url": "https://mcp.github.example/mcp"})["id"].(string)
	okStatus(t, b.call(t, http.MethodPost, sourcePath(id, "discover"), nil, auth...), http.StatusOK)
	r := b.call(t, http.MethodPost, sourcePath(id, "import"), map[string]any{"tool_names": []string{"list_repos"}}, auth...)
	okStatus(t, r, http.StatusOK)
	toolID := r.body["imported"].([]any)[0].(map[string]any)["tool_id"].(string)
	okStatus(t, b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/start", nil, auth...), http.StatusOK)
	const exposed = "github__repos_list_repos"

	audits := b.allAudits(t)
	for _, body := range []map[string]any{{}, {"name": nil}, {"status": "pending_review"}, {"url": "file:///etc"}, {"auth_type": "header"}} {
		wantError(t, b.call(t, http.MethodPatch, sourcePath(id), body, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
	}
	if b.allAudits(t) != audits {
		t.Fatal("BE-85: a refused PATCH wrote an audit row")
	}

	rev := b.catalogRev(t)
	r = b.call(t, http.MethodPatch, sourcePath(id), map[string]any{"name": "GitHub"}, auth...)
	okStatus(t, r, http.StatusOK)
	if r.body["name"] != "GitHub" || r.body["discovered_at"] == nil || b.catalogRev(t) != rev || b.audits(t, "source.update") != 1 {
		t.Fatalf("rename: %s", r.raw)
	}

	r = b.call(t, http.MethodPatch, sourcePath(id), map[string]any{"status": "disabled"}, auth...)
	okStatus(t, r, http.StatusOK)
	snap := b.snapshot(t)
	if _, live := catalogTool(snap, exposed); r.body["status"] != "disabled" || live || snap.Revision <= rev || b.audits(t, "source.disable") != 1 {
		t.Fatalf("disable: %s (revision %d, was %d)", r.raw, snap.Revision, rev)
	}
	if w := snap.Withheld; len(w) != 1 || w[0].Reason != proto.WithheldReason("source_unusable") {
		t.Fatalf("withheld after disable: %+v", w)
	}
	if got := b.call(t, http.MethodGet, "/api/v1/tools/"+toolID, nil, auth...); got.body["live"] != false {
		t.Fatalf("tool of a disabled source: %s", got.raw)
	}
	r = b.call(t, http.MethodPost, sourcePath(id, "discover"), nil, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeInvalidState)
	if r.err.Message != "Source 'GitHub' is disabled; an admin must enable it first." {
		t.Fatalf("discovery of a disabled source: %q", r.err.Message)
	}
	okStatus(t, b.call(t, http.MethodPatch, sourcePath(id), map[string]any{"status": "active"}, auth...), http.StatusOK)
	if _, live := catalogTool(b.snapshot(t), exposed); !live || b.audits(t, "source.enable") != 1 {
		t.Fatal("enabling the source did not bring its tool back")
	}

	// A URL change resets discovery; error becomes active.
	b.sql(t, "UPDATE external_mcp_sources SET status = 'error', last_error = 'boom' WHERE id = $1", nil, id)
	r = b.call(t, http.MethodPatch, sourcePath(id), map[string]any{"url": "https://mcp2.github.example/mcp"}, auth...)
	okStatus(t, r, http.StatusOK)
	if r.body["status"] != "active" || r.body["discovered_at"] != nil || r.body["discovered_tool_count"].(float64) != 0 ||
		r.body["last_error"] != nil || r.body["url"] != "https://mcp2.github.example/mcp" {
		t.Fatalf("URL change: %s", r.raw)
	}
	r = b.call(t, http.MethodPost, sourcePath(id, "import"), map[string]any{"tool_names": []string{"list_repos"}}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeInvalidState)
	if !strings.HasPrefix(r.err.Message, "No discovered tools; run POST /api/v1/external-sources/") {
		t.Fatalf("import before discovery: %q", r.err.Message)
	}
	pending := b.insertSource(t, sid, "waiting", "pending_review")
	wantError(t, b.call(t, http.MethodPatch, sourcePath(pending), map[string]any{"status": "active"}, auth...),
		http.StatusConflict, proto.CodeInvalidState)

	r = b.call(t, http.MethodDelete, sourcePath(id), nil, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeHasDependents)
	wantError(t, b.call(t, http.MethodDelete, sourcePath(id)+"?delete_tools=maybe", nil, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
	rev = b.catalogRev(t)
	okStatus(t, b.call(t, http.MethodDelete, sourcePath(id)+"?delete_tools=true", nil, auth...), http.StatusNoContent)
	if b.countRows(t, "SELECT count(*)::int FROM tools") != 0 || b.audits(t, "source.delete") != 1 || b.audits(t, "tool.delete") != 1 ||
		b.catalogRev(t) <= rev {
		t.Fatal("delete with its tools")
	}
	if n := b.countRows(t, "SELECT count(*)::int FROM network_requests WHERE status = 'approved' AND tool_id IS NULL"); n != 1 {
		t.Fatalf("the host grant of the deleted tools: %d rows, want 1 kept as a server grant", n)
	}
	wantError(t, b.call(t, http.MethodDelete, sourcePath(id), nil, auth...), http.StatusNotFound, proto.CodeNotFound)
	okStatus(t, b.call(t, http.MethodDelete, sourcePath(pending), nil, auth...), http.StatusNoContent)
}
