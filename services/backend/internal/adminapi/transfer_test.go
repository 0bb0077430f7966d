package adminapi_test

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// The codes of the exported tools. The fake sandboxes derive packages and
// secrets from them (xmlAnswer); driftAnswer, the importing installation's,
// also finds a secret in driftCode that the exporting one did not, and
// finds no description in code without a doc comment on Main.
const (
	forecastCode = "package tool\n\nimport \"encoding/xml\"\n\n// Main forecasts with a secret.\nfunc Main() string { return xml.Header }\n"
	changedV2    = helloCode + "\n// version 2\n"
	draftCode    = "package tool\n\n// Main drafts.\nfunc Main() {}\n"
	driftCode    = "package tool\n\n// Main will drift.\nfunc Main() {}\n"
	secretValue  = "super-secret-value-123"
)

func driftAnswer(code string) proto.AnalyzeResponse {
	a := xmlAnswer(code)
	if strings.Contains(code, "drift") {
		a.Secrets = []string{"DRIFT_KEY"}
	}
	if !strings.Contains(code, "// Main") {
		a.Description = ""
	}
	return a
}

// exportSource is an installation with server "weather": a secret with a
// value; go tools forecast (approved, with a host and a package granted),
// changed (approved version 1, pending version 2), draft_one (a disabled
// draft) and drifted (approved); an active external source with an
// approved external tool list_repos; and an approved network record for
// the source's host. It returns the backend and the exported document.
func exportSource(t *testing.T) (*backend, []byte) {
	t.Helper()
	b, _, auth, sid := toolsBackend(t, xmlAnswer)
	b.call(t, http.MethodPatch, "/api/v1/servers/"+sid, map[string]any{"description": "Forecasts <&> for 'everyone'"}, auth...)
	b.newSecret(t, auth, sid, "API_KEY", secretValue)
	forecast := b.newTool(t, auth, sid, "forecast", map[string]any{"code": forecastCode, "hosts": []string{"api.example.com"}})
	b.approveLatest(t, auth, forecast)
	changed := b.newTool(t, auth, sid, "changed", nil)
	b.approveLatest(t, auth, changed)
	if r := b.call(t, http.MethodPatch, "/api/v1/tools/"+changed["id"].(string), map[string]any{"code": changedV2}, auth...); r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	draft := b.newTool(t, auth, sid, "draft_one", map[string]any{"code": draftCode})
	if r := b.call(t, http.MethodPatch, "/api/v1/tools/"+draft["id"].(string), map[string]any{"enabled": false}, auth...); r.status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.status, r.raw)
	}
	b.approveLatest(t, auth, b.newTool(t, auth, sid, "drifted", map[string]any{"code": driftCode}))
	if r := b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/network-requests", map[string]any{"host": "mcp.example.com"}, auth...); r.status != http.StatusCreated {
		t.Fatalf("grant host: %d %s", r.status, r.raw)
	}
	src := b.insertSource(t, sid, "GitHub MCP", "active")
	def, m := listReposDefinition(src)
	hash, err := canon.HashExternal(def, m)
	if err != nil {
		t.Fatal(err)
	}
	rawDef, _ := json.Marshal(def)
	rawManifest, _ := json.Marshal(m)
	b.sql(t, `WITH t AS (
	INSERT INTO tools (server_id, name, kind, external_source_id, external_tool_name, review_status,
	                   approved_version, approved_hash, approved_at, approved_by)
	VALUES ($1, 'list_repos', 'external', $2, 'list-repos', 'approved', 1, $3, now(), 'admin:admin') RETURNING id)
INSERT INTO tool_versions (tool_id, version, external_definition, manifest, hash, description, change_source)
SELECT id, 1, $4, $5, $3, 'Lists repos.', 'discovery' FROM t`, nil, sid, src, hash, rawDef, rawManifest)
	r := b.call(t, http.MethodGet, "/api/v1/export", nil, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("export: %d %s", r.status, r.raw)
	}
	return b, []byte(r.raw)
}

// listReposDefinition is the pinned definition of list_repos from source.
func listReposDefinition(source string) (proto.ExternalDefinition, proto.Manifest) {
	def := proto.ExternalDefinition{
		Annotations: json.RawMessage("null"), Description: "Lists repos.", InputSchema: json.RawMessage(`{"type":"object"}`),
		Name: "list-repos", SourceID: source,
	}
	m := proto.Manifest{Hosts: []string{"mcp.example.com"}, Packages: []string{}, Secrets: []string{}, TimeoutMS: 30000, MemoryMB: 0}
	return def, m
}

// importTarget is an empty installation with the same encryption key whose
// fake sandbox answers driftAnswer.
func importTarget(t *testing.T) (*backend, *fakeSandbox, []string) {
	t.Helper()
	f := newFakeSandbox(t, driftAnswer)
	b := newBackend(t, withSandbox(f.srv.URL))
	b.setup(t)
	return b, f, bearer(b.login(t))
}

// resign signs a document the way backend.md §14.4 says, independently of
// package transfer: HMAC-SHA256 under HKDF-SHA256(key, "mcpbox export v2")
// of the canonical JSON without the signature.
func resign(t *testing.T, doc map[string]any) string {
	t.Helper()
	delete(doc, "signature")
	msg, err := canon.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(testKey)
	k, err := hkdf.Key(sha256.New, key, nil, "mcpbox export v2", 32)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, k)
	mac.Write(msg)
	doc["signature"] = "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil))
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func decodeDoc(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// firstServer returns servers[0] of a decoded document.
func firstServer(doc map[string]any) map[string]any {
	return doc["servers"].([]any)[0].(map[string]any)
}

// exportedTool returns the named tool of servers[0].
func exportedTool(t *testing.T, doc map[string]any, name string) map[string]any {
	t.Helper()
	for _, it := range firstServer(doc)["tools"].([]any) {
		if tool := it.(map[string]any); tool["name"] == name {
			return tool
		}
	}
	t.Fatalf("no tool %s in the export", name)
	return nil
}

// nothingImported fails unless the installation holds no imported state
// and no import audit row.
func nothingImported(t *testing.T, b *backend) {
	t.Helper()
	for _, q := range []string{
		"SELECT count(*) FROM servers", "SELECT count(*) FROM tools", "SELECT count(*) FROM server_secrets",
		"SELECT count(*) FROM package_requests", "SELECT count(*) FROM external_mcp_sources",
		"SELECT count(*) FROM activity_log WHERE action LIKE 'import.%'",
	} {
		if n := b.countRows(t, q); n != 0 {
			t.Fatalf("%s = %d, want 0: something was written", q, n)
		}
	}
}

func importPath(query string) string { return "/api/v1/import" + query }

func TestBE89_ExportImportRestoresApprovalsWhoseHashesMatch(t *testing.T) {
	t.Parallel()
	before := time.Now().UTC().Format("20060102")
	src, raw := exportSource(t)
	after := time.Now().UTC().Format("20060102")
	doc := decodeDoc(t, raw)

	// The export: a download, no secret value, signed as the spec says.
	r := src.call(t, http.MethodGet, "/api/v1/export", nil, bearer(src.login(t))...)
	if cd := r.header.Get("Content-Disposition"); cd != "attachment; filename=mcpbox-export-"+before+".json" &&
		cd != "attachment; filename=mcpbox-export-"+after+".json" {
		t.Fatalf("Content-Disposition %q", cd)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
	}
	if strings.Contains(string(raw), secretValue) || strings.Contains(string(raw), "value_enc") {
		t.Fatal("the export holds a secret value")
	}
	if doc["format"] != "mcpbox-export" || doc["format_version"] != float64(2) || doc["app_version"] != "test" {
		t.Fatalf("header: %v %v %v", doc["format"], doc["format_version"], doc["app_version"])
	}
	if again := decodeDoc(t, []byte(resign(t, decodeDoc(t, raw)))); again["signature"] != doc["signature"] {
		t.Fatalf("signature %v, want %v (HMAC-SHA256 under HKDF of the key over the canonical JSON)", doc["signature"], again["signature"])
	}
	if n := src.countRows(t, "SELECT count(*) FROM activity_log WHERE action = 'export.download' AND category = 'audit'"); n != 2 {
		t.Fatalf("%d export.download audit rows, want 2", n)
	}

	dst, f, auth := importTarget(t)
	// A one-character change, or no signature: 400 and nothing written, no
	// code analysed.
	changed := strings.Replace(string(raw), "Forecasts <&>", "Forecasts <&)", 1)
	if changed == string(raw) {
		t.Fatal("the description is not in the export")
	}
	wantError(t, dst.rawCall(t, http.MethodPost, importPath("?restore_approvals=true"), changed, auth...), http.StatusBadRequest, proto.CodeSignatureInvalid)
	unsigned := decodeDoc(t, raw)
	delete(unsigned, "signature")
	body, _ := json.Marshal(unsigned)
	wantError(t, dst.rawCall(t, http.MethodPost, importPath("?restore_approvals=true"), string(body), auth...), http.StatusBadRequest, proto.CodeSignatureMissing)
	nothingImported(t, dst)
	if f.count() != 0 {
		t.Fatalf("the sandbox analysed %d codes of refused documents", f.count())
	}

	r = dst.rawCall(t, http.MethodPost, importPath("?restore_approvals=true"), string(raw), auth...)
	if r.status != http.StatusOK {
		t.Fatalf("import: %d %s", r.status, r.raw)
	}
	var res struct {
		DryRun               bool                `json:"dry_run"`
		ServersCreated       int                 `json:"servers_created"`
		ToolsCreated         int                 `json:"tools_created"`
		SecretsNeedingValues []map[string]string `json:"secrets_needing_values"`
		Errors               []map[string]string `json:"errors"`
		Warnings             []map[string]string `json:"warnings"`
		Servers              []map[string]any    `json:"servers"`
	}
	if err := json.Unmarshal([]byte(r.raw), &res); err != nil {
		t.Fatal(err)
	}
	if res.DryRun || res.ServersCreated != 1 || res.ToolsCreated != 5 || len(res.Errors) != 0 ||
		len(res.SecretsNeedingValues) != 1 || res.SecretsNeedingValues[0]["server"] != "weather" || res.SecretsNeedingValues[0]["name"] != "API_KEY" {
		t.Fatalf("result: %s", r.raw)
	}
	if !slices.ContainsFunc(res.Warnings, func(w map[string]string) bool {
		return w["code"] == proto.CodeHashMismatch && strings.Contains(w["message"], "weather__drifted")
	}) {
		t.Fatalf("no hash_mismatch warning for drifted: %s", r.raw)
	}
	if s := res.Servers[0]; s["status"] != "created" || s["imported_as"] != "weather" || s["tools_created"] != float64(5) || s["approvals_restored"] != float64(3) {
		t.Fatalf("server result: %v", s)
	}

	type toolRow struct {
		status, approvedBy, approvedHash string
		latest, approvedVersion          int
		enabled                          bool
	}
	tool := func(name string) toolRow {
		var row toolRow
		dst.sql(t, `SELECT review_status, coalesce(approved_by, ''), coalesce(approved_hash, ''), latest_version,
			coalesce(approved_version, 0), enabled FROM tools WHERE name = $1`,
			[]any{&row.status, &row.approvedBy, &row.approvedHash, &row.latest, &row.approvedVersion, &row.enabled}, name)
		return row
	}
	approvedHash := func(name string) string {
		return exportedTool(t, doc, name)["approved"].(map[string]any)["hash"].(string)
	}
	if got := tool("forecast"); got != (toolRow{"approved", "import:admin", approvedHash("forecast"), 1, 1, true}) {
		t.Fatalf("forecast: %+v", got)
	}
	if got := tool("changed"); got != (toolRow{"pending_review", "import:admin", approvedHash("changed"), 2, 1, true}) {
		t.Fatalf("changed: %+v (approved version 1 stays live, version 2 waits)", got)
	}
	if got := tool("draft_one"); got != (toolRow{"draft", "", "", 1, 0, false}) {
		t.Fatalf("draft_one: %+v", got)
	}
	if got := tool("drifted"); got != (toolRow{"pending_review", "", "", 1, 0, true}) {
		t.Fatalf("drifted: %+v (its re-analysed hash differs, so no approval)", got)
	}
	var source uuid.UUID
	var sourceStatus string
	dst.sql(t, "SELECT id, status FROM external_mcp_sources WHERE name = 'GitHub MCP'", []any{&source, &sourceStatus})
	def, m := listReposDefinition(source.String())
	want, _ := canon.HashExternal(def, m)
	if got := tool("list_repos"); sourceStatus != "active" || got != (toolRow{"approved", "import:admin", want, 1, 1, true}) {
		t.Fatalf("list_repos: %+v with source %s, want approved with the hash of the new source id %s", got, sourceStatus, want)
	}

	// The rest of the server: stopped, a placeholder secret, approved records.
	var status, createdBy string
	dst.sql(t, "SELECT status, created_by FROM servers WHERE name = 'weather'", []any{&status, &createdBy})
	if status != "stopped" || createdBy != "import:admin" {
		t.Fatalf("server %s by %s", status, createdBy)
	}
	if n := dst.countRows(t, "SELECT count(*) FROM server_secrets WHERE name = 'API_KEY' AND value_enc IS NULL"); n != 1 {
		t.Fatal("the secret is not a placeholder")
	}
	for q, want := range map[string]int{
		"SELECT count(*) FROM network_requests WHERE status = 'approved' AND tool_id IS NULL AND reviewed_by = 'import:admin'": 2,
		"SELECT count(*) FROM package_requests WHERE status = 'approved' AND package = 'encoding/xml'":                         1,
		"SELECT count(*) FROM activity_log WHERE category = 'audit' AND action LIKE 'import.%'":                                3,
	} {
		if n := dst.countRows(t, q); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
	// Versions are stored with the import's change source; each go code was
	// analysed once.
	if n := dst.countRows(t, "SELECT count(*) FROM tool_versions WHERE change_source = 'import'"); n != 6 {
		t.Fatalf("%d imported versions, want 6", n)
	}
	if f.count() != 5 {
		t.Fatalf("the sandbox analysed %d codes, want the 5 distinct ones", f.count())
	}

	// Exporting the import gives the same approved hashes.
	again := decodeDoc(t, []byte(dst.call(t, http.MethodGet, "/api/v1/export", nil, auth...).raw))
	for _, name := range []string{"forecast", "changed"} {
		if got := exportedTool(t, again, name)["approved"].(map[string]any)["hash"]; got != approvedHash(name) {
			t.Fatalf("%s re-exported with approved hash %v, want %s", name, got, approvedHash(name))
		}
	}
}

// Without restore_approvals (the UI's import), published tools wait for
// review, records are pending and sources wait for review.
func TestImportWithoutRestoreLeavesEverythingForReview(t *testing.T) {
	t.Parallel()
	_, raw := exportSource(t)
	dst, _, auth := importTarget(t)
	r := dst.rawCall(t, http.MethodPost, importPath(""), string(raw), auth...)
	if r.status != http.StatusOK || r.body["tools_created"] != float64(5) {
		t.Fatalf("import: %d %s", r.status, r.raw)
	}
	for q, want := range map[string]int{
		"SELECT count(*) FROM tools WHERE approved_version IS NOT NULL":                                     0,
		"SELECT count(*) FROM tools WHERE review_status = 'pending_review'":                                 4,
		"SELECT count(*) FROM tools WHERE review_status = 'draft'":                                          1,
		"SELECT count(*) FROM network_requests WHERE status = 'pending' AND tool_id IS NULL":                2,
		"SELECT count(*) FROM network_requests WHERE status = 'approved'":                                   0,
		"SELECT count(*) FROM package_requests WHERE status = 'pending' AND package = 'encoding/xml'":       1,
		"SELECT count(*) FROM external_mcp_sources WHERE status = 'pending_review' AND approved_by IS NULL": 1,
	} {
		if n := dst.countRows(t, q); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
}

// on_conflict=skip (the default) reports a taken name and imports nothing
// of that server; rename appends _2, _3, … with the base shortened to fit
// 24 characters.
func TestImportNameConflictsSkipOrRename(t *testing.T) {
	t.Parallel()
	_, raw := exportSource(t)
	dst, f, auth := importTarget(t)
	if r := dst.rawCall(t, http.MethodPost, importPath(""), string(raw), auth...); r.status != http.StatusOK {
		t.Fatalf("first import: %d %s", r.status, r.raw)
	}
	analysed := f.count()
	r := dst.rawCall(t, http.MethodPost, importPath("?on_conflict=skip"), string(raw), auth...)
	servers := r.body["servers"].([]any)
	if r.status != http.StatusOK || r.body["servers_created"] != float64(0) || servers[0].(map[string]any)["status"] != "skipped" ||
		!strings.Contains(r.raw, `"code":"name_taken"`) {
		t.Fatalf("skip: %d %s", r.status, r.raw)
	}
	if f.count() != analysed {
		t.Fatal("a skipped server's tools were analysed")
	}
	for _, want := range []string{"weather_2", "weather_3"} {
		r = dst.rawCall(t, http.MethodPost, importPath("?on_conflict=rename"), string(raw), auth...)
		got := r.body["servers"].([]any)[0].(map[string]any)
		if r.status != http.StatusOK || got["status"] != "renamed" || got["imported_as"] != want || r.body["tools_created"] != float64(5) {
			t.Fatalf("rename: %d %s, want %s", r.status, r.raw, want)
		}
		if n := dst.countRows(t, "SELECT count(*) FROM tools t JOIN servers s ON s.id = t.server_id WHERE s.name = $1", want); n != 5 {
			t.Fatalf("%s has %d tools", want, n)
		}
	}
	doc := decodeDoc(t, raw)
	firstServer(doc)["name"] = "abcdefghijklmnopqrstu_vw"
	long := resign(t, doc)
	for _, want := range []string{"abcdefghijklmnopqrstu_vw", "abcdefghijklmnopqrstu_2"} {
		r = dst.rawCall(t, http.MethodPost, importPath("?on_conflict=rename"), long, auth...)
		if got := r.body["servers"].([]any)[0].(map[string]any)["imported_as"]; r.status != http.StatusOK || got != want {
			t.Fatalf("long name: %d %s, want %s", r.status, r.raw, want)
		}
	}
}

// A dry run runs every check, the analysis included, and answers what the
// import would do, but writes nothing.
func TestImportDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	_, raw := exportSource(t)
	dst, f, auth := importTarget(t)
	rev := dst.catalogRev(t)
	r := dst.rawCall(t, http.MethodPost, importPath("?dry_run=true&restore_approvals=true"), string(raw), auth...)
	if r.status != http.StatusOK || r.body["dry_run"] != true || r.body["servers_created"] != float64(1) || r.body["tools_created"] != float64(5) {
		t.Fatalf("dry run: %d %s", r.status, r.raw)
	}
	if f.count() != 5 {
		t.Fatalf("the dry run analysed %d codes, want 5", f.count())
	}
	nothingImported(t, dst)
	if dst.catalogRev(t) != rev {
		t.Fatal("the dry run bumped the catalog revision")
	}
}

// Refusals name the problem and write nothing.
func TestImportRefusals(t *testing.T) {
	t.Parallel()
	_, raw := exportSource(t)
	dst, f, auth := importTarget(t)
	signed := func(edit func(doc map[string]any)) string {
		doc := decodeDoc(t, raw)
		edit(doc)
		return resign(t, doc)
	}
	for _, c := range []struct {
		name, query, body string
		status            int
		code, field       string
	}{
		{"malformed", "", `{"format":`, http.StatusBadRequest, proto.CodeInvalidJSON, ""},
		{"bad on_conflict", "?on_conflict=merge", string(raw), http.StatusBadRequest, proto.CodeValidationFailed, "on_conflict"},
		{"bad dry_run", "?dry_run=yes", string(raw), http.StatusBadRequest, proto.CodeValidationFailed, "dry_run"},
		{"old version", "", signed(func(d map[string]any) { d["format_version"] = 1 }), http.StatusBadRequest, proto.CodeValidationFailed, "format_version"},
		{"other format", "", signed(func(d map[string]any) { d["format"] = "mcpbox-backup" }), http.StatusBadRequest, proto.CodeValidationFailed, "format"},
		{"unknown field", "", signed(func(d map[string]any) { firstServer(d)["owner"] = "bob" }), http.StatusBadRequest, proto.CodeValidationFailed, "servers[0].owner"},
		{"bad host", "", signed(func(d map[string]any) {
			firstServer(d)["network"].([]any)[0].(map[string]any)["host"] = "api example com"
		}), http.StatusBadRequest, proto.CodeValidationFailed, "servers[0].network[0].host"},
	} {
		r := dst.rawCall(t, http.MethodPost, importPath(c.query), c.body, auth...)
		wantError(t, r, c.status, c.code)
		if r.err.Field != c.field {
			t.Fatalf("%s: field %q, want %q (%s)", c.name, r.err.Field, c.field, r.raw)
		}
	}
	r := dst.call(t, http.MethodPost, importPath(""), nil, append([]string{"Content-Type", "text/plain"}, auth...)...)
	wantError(t, r, http.StatusUnsupportedMediaType, proto.CodeUnsupportedMediaType)
	big := `{"pad":"` + strings.Repeat("x", 16<<20) + `"}`
	wantError(t, dst.rawCall(t, http.MethodPost, importPath(""), big, auth...), http.StatusRequestEntityTooLarge, proto.CodeRequestTooLarge)
	wantError(t, dst.rawCall(t, http.MethodPost, importPath(""), string(raw)), http.StatusUnauthorized, proto.CodeUnauthenticated)
	nothingImported(t, dst)
	if f.count() != 0 {
		t.Fatalf("refused documents had %d codes analysed", f.count())
	}
}

// A document whose code the sandbox rejects fails that server only, with
// the error naming the field; the other servers are imported.
func TestImportFailsOnlyTheServerWithRejectedCode(t *testing.T) {
	t.Parallel()
	_, raw := exportSource(t)
	doc := decodeDoc(t, raw)
	second := map[string]any{}
	for k, v := range firstServer(doc) {
		second[k] = v
	}
	second["name"] = "broken"
	broken := exportedTool(t, doc, "draft_one")
	clone := map[string]any{}
	for k, v := range broken {
		clone[k] = v
	}
	clone["latest"] = map[string]any{
		"content": "package tool\n\nfunc Main() {}\n", "manifest": broken["latest"].(map[string]any)["manifest"],
		"hash": broken["latest"].(map[string]any)["hash"],
	}
	second["tools"] = []any{clone}
	second["external_mcp_sources"] = []any{}
	doc["servers"] = append(doc["servers"].([]any), second)
	dst, _, auth := importTarget(t)
	r := dst.rawCall(t, http.MethodPost, importPath(""), resign(t, doc), auth...)
	if r.status != http.StatusOK || r.body["servers_created"] != float64(1) {
		t.Fatalf("import: %d %s", r.status, r.raw)
	}
	errs := r.body["errors"].([]any)
	e := errs[0].(map[string]any)
	if len(errs) != 1 || e["server"] != "broken" || e["code"] != proto.CodeCodeInvalid || e["field"] != "servers[1].tools[0].latest.content" ||
		!strings.Contains(e["message"].(string), "doc comment") {
		t.Fatalf("errors: %v", errs)
	}
	if n := dst.countRows(t, "SELECT count(*) FROM servers WHERE name = 'broken'"); n != 0 {
		t.Fatal("the failed server was written")
	}
}

func TestExportParameters(t *testing.T) {
	t.Parallel()
	b, auth := serversBackend(t)
	sid := b.newServer(t, auth, "alpha", "")
	b.newServer(t, auth, "beta", "")
	r := b.call(t, http.MethodGet, "/api/v1/export?server_id="+sid, nil, auth...)
	doc := decodeDoc(t, []byte(r.raw))
	if r.status != http.StatusOK || len(doc["servers"].([]any)) != 1 || firstServer(doc)["name"] != "alpha" {
		t.Fatalf("one server: %d %s", r.status, r.raw)
	}
	wantError(t, b.call(t, http.MethodGet, "/api/v1/export?server_id=nope", nil, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
	wantError(t, b.call(t, http.MethodGet, "/api/v1/export?server_id="+uuid.NewString(), nil, auth...), http.StatusNotFound, proto.CodeNotFound)
	wantError(t, b.call(t, http.MethodGet, "/api/v1/export", nil), http.StatusUnauthorized, proto.CodeUnauthenticated)
}
