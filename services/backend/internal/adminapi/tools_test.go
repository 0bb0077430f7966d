package adminapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// fakeSandbox answers POST /v1/analyze with what the test chose; answer
// builds the answer for the code it receives.
type fakeSandbox struct {
	t      *testing.T
	mu     sync.Mutex
	calls  int
	codes  []string
	answer func(code string) proto.AnalyzeResponse
	srv    *httptest.Server
}

// okAnswer is a clean analysis: Main documented as "Says hello.".
func okAnswer(string) proto.AnalyzeResponse {
	return proto.AnalyzeResponse{
		OK: true, CodeSHA256: "sha256:" + strings.Repeat("0", 64), AnalyzerVersion: "test-1",
		Description: "Says hello.", InputSchema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}}}`),
		OutputSchema: json.RawMessage("null"), Imports: []proto.Import{{Path: "strings", Tier: proto.TierDefault, Allowed: true}},
		Secrets: []string{}, Diagnostics: []proto.Diagnostic{},
	}
}

func newFakeSandbox(t *testing.T, answer func(code string) proto.AnalyzeResponse) *fakeSandbox {
	t.Helper()
	f := &fakeSandbox{t: t, answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != proto.PathSandboxAnalyze {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get(proto.HeaderServiceToken) != sandboxToken {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(proto.ErrorBody{Error: proto.Error{Code: "unauthenticated", Message: "bad token"}})
			return
		}
		var req proto.AnalyzeRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !req.Compile {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.calls++
		f.codes = append(f.codes, req.Code)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(f.answer(req.Code))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSandbox) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// toolsBackend is a replica with a fake sandbox, the admin account, a
// Bearer header and a server.
func toolsBackend(t *testing.T, answer func(string) proto.AnalyzeResponse) (*backend, *fakeSandbox, []string, string) {
	t.Helper()
	f := newFakeSandbox(t, answer)
	b := newBackend(t, withSandbox(f.srv.URL))
	b.setup(t)
	auth := bearer(b.login(t))
	return b, f, auth, b.newServer(t, auth, "weather", "")
}

const helloCode = "package tool\n\n// Main says hello.\nfunc Main() string { return \"hello\" }\n"

// newTool creates a tool and returns its body.
func (b *backend) newTool(t *testing.T, auth []string, serverID, name string, body map[string]any) map[string]any {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["name"] = name
	if _, ok := body["code"]; !ok {
		body["code"] = helloCode
	}
	r := b.call(t, http.MethodPost, "/api/v1/servers/"+serverID+"/tools", body, auth...)
	if r.status != http.StatusCreated {
		t.Fatalf("create tool %s: %d %s", name, r.status, r.raw)
	}
	return r.body
}

// approveV1 marks version 1 of a new tool approved directly in the
// database.
func (b *backend) approveV1(t *testing.T, toolID string) {
	t.Helper()
	b.sql(t, `UPDATE tools SET review_status = 'approved', approved_version = 1,
	approved_hash = (SELECT hash FROM tool_versions WHERE tool_id = $1 AND version = 1),
	approved_at = now(), approved_by = 'admin:admin' WHERE id = $1`, nil, toolID)
}

func latest(body map[string]any) map[string]any { return body["latest"].(map[string]any) }

func num(v any) int { return int(v.(float64)) }

func TestBE25_CreateAnalyzesOnceAndSavesDraftVersion1(t *testing.T) {
	t.Parallel()
	b, f, auth, sid := toolsBackend(t, func(string) proto.AnalyzeResponse {
		a := okAnswer("")
		a.Description = "Forecast for a city."
		a.OutputSchema = json.RawMessage(`{"type":"object"}`)
		a.Imports = append(a.Imports, proto.Import{Path: "encoding/xml", Tier: proto.TierOptIn})
		a.Secrets = []string{"API_KEY"}
		return a
	})
	rev := b.catalogRev(t)
	code := "package tool\r\n\r\n// Main forecasts.\r\nfunc Main() {}\r\n"
	r := b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/tools", map[string]any{
		"name": "forecast", "code": code, "hosts": []string{"API.Example.COM.", "api.example.com:443"}, "timeout_ms": 5000,
	}, auth...)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	if f.count() != 1 {
		t.Fatalf("analyze called %d times, want 1", f.count())
	}
	lf := strings.ReplaceAll(code, "\r\n", "\n")
	if f.codes[0] != lf {
		t.Fatalf("the sandbox got %q, want the LF-normalised code", f.codes[0])
	}
	body, v := r.body, latest(r.body)
	if body["review_status"] != "draft" || num(body["latest_version"]) != 1 || body["exposed_name"] != "weather__forecast" ||
		body["live"] != false || body["approved_version"] != nil || body["server_name"] != "weather" || body["kind"] != "go" ||
		body["created_by"] != "admin:admin" || body["external_source_id"] != nil {
		t.Fatalf("tool: %s", r.raw)
	}
	if v["description"] != "Forecast for a city." || v["status"] != "draft" || v["code"] != lf || v["change_source"] != "admin" ||
		num(v["version"]) != 1 || v["based_on_version"] != nil {
		t.Fatalf("version: %v", v)
	}
	if in, _ := json.Marshal(v["input_schema"]); string(in) != `{"properties":{"name":{"type":"string"}},"type":"object"}` {
		t.Fatalf("input_schema %s", in)
	}
	if out, _ := json.Marshal(v["output_schema"]); string(out) != `{"type":"object"}` {
		t.Fatalf("output_schema %s", out)
	}
	want := proto.Manifest{
		Hosts: []string{"api.example.com"}, Packages: []string{"encoding/xml"}, Secrets: []string{"API_KEY"},
		TimeoutMS: 5000, MemoryMB: 128,
	}
	var got proto.Manifest
	raw, _ := json.Marshal(v["manifest"])
	if err := json.Unmarshal(raw, &got); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("manifest %s, want %+v", raw, want)
	}
	hash, err := canon.HashGo(lf, want)
	if err != nil || v["hash"] != hash {
		t.Fatalf("hash %v, want %s (%v)", v["hash"], hash, err)
	}
	if cov, _ := json.Marshal(v["coverage"]); string(cov) != `{"hosts":{"api.example.com":false},"packages":{"encoding/xml":false}}` {
		t.Fatalf("coverage %s", cov)
	}
	if b.catalogRev(t) != rev+1 {
		t.Fatalf("catalog revision %d, want %d", b.catalogRev(t), rev+1)
	}
	var details string
	b.sql(t, `SELECT details::text FROM activity_log WHERE action = 'tool.create'`, []any{&details})
	if !strings.Contains(details, hash) || strings.Contains(details, "Main") {
		t.Fatalf("audit details %s", details)
	}
	// GET returns the same resource.
	g := b.call(t, http.MethodGet, "/api/v1/tools/"+body["id"].(string), nil, auth...)
	if g.status != http.StatusOK || g.raw != r.raw {
		t.Fatalf("get: %d %s\nwant %s", g.status, g.raw, r.raw)
	}
	// The same name again is taken; the code is still analysed first.
	again := b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/tools", map[string]any{"name": "forecast", "code": code}, auth...)
	wantError(t, again, http.StatusConflict, proto.CodeNameTaken)
}

func TestBE26_AnalyzeErrorsRefuseTheSave(t *testing.T) {
	t.Parallel()
	b, f, auth, sid := toolsBackend(t, func(code string) proto.AnalyzeResponse {
		a := okAnswer(code)
		switch {
		case strings.Contains(code, "syntax"):
			a.OK = false
			a.Diagnostics = []proto.Diagnostic{
				{Severity: proto.SeverityError, Type: proto.ErrTypeSyntaxError, Message: "expected '}'", Line: 3, Column: 5},
				{Severity: proto.SeverityError, Type: proto.ErrTypeCompileError, Message: "undefined: x", Line: 7, Column: 2},
			}
		case strings.Contains(code, "exec"):
			a.OK = false
			a.Imports = append(a.Imports, proto.Import{Path: "os/exec", Tier: proto.TierNever})
			a.Diagnostics = []proto.Diagnostic{{
				Severity: proto.SeverityError, Type: proto.ErrTypeImportError,
				Message: "package os/exec is not available", Line: 2, Column: 8,
			}}
		case strings.Contains(code, "nodoc"):
			a.Description = ""
		}
		return a
	})
	post := func(code string) response {
		return b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/tools", map[string]any{"name": "broken", "code": code}, auth...)
	}
	r := post("package tool // syntax")
	wantError(t, r, http.StatusBadRequest, proto.CodeCodeInvalid)
	if r.err.Field != "code" || r.err.Message != "code: line 3:5: expected '}'" || len(r.err.Details) != 2 ||
		r.err.Details[1].Message != "line 7:2: undefined: x" {
		t.Fatalf("error %s", r.raw)
	}
	r = post("package tool // exec")
	wantError(t, r, http.StatusBadRequest, proto.CodePackageForbidden)
	if r.err.Field != "code" || !strings.Contains(r.err.Message, "'os/exec'") {
		t.Fatalf("error %s", r.raw)
	}
	r = post("package tool // nodoc")
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "code" || !strings.Contains(r.err.Message, "doc comment") {
		t.Fatalf("error %s", r.raw)
	}
	if f.count() != 3 {
		t.Fatalf("analyze called %d times", f.count())
	}
	if n := b.countRows(t, "SELECT count(*) FROM tools"); n != 0 {
		t.Fatalf("%d tools stored", n)
	}
	if n := b.countRows(t, "SELECT count(*) FROM tool_versions"); n != 0 {
		t.Fatalf("%d versions stored", n)
	}
	// Request rules are checked before the sandbox is called.
	for _, body := range []map[string]any{
		{"name": "Bad Name", "code": helloCode},
		{"name": "ok", "code": helloCode, "hosts": []string{"https://x.com"}},
		{"name": "ok", "code": helloCode, "timeout_ms": 10},
		{"name": "ok", "code": "package tool\x00"},
		{"name": "ok", "code": strings.Repeat("a", proto.MaxCodeBytes+1)},
		{"name": "ok", "code": helloCode, "hosts": nil},
	} {
		r := b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/tools", body, auth...)
		wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	}
	if f.count() != 3 {
		t.Fatalf("invalid requests reached the sandbox: %d calls", f.count())
	}
}

func TestBE27_SandboxDownNothingStored(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	auth := bearer(b.login(t))
	sid := b.newServer(t, auth, "weather", "")
	r := b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/tools", map[string]any{"name": "forecast", "code": helloCode}, auth...)
	wantError(t, r, http.StatusServiceUnavailable, proto.CodeSandboxUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if n := b.countRows(t, "SELECT count(*) FROM tools"); n != 0 {
		t.Fatalf("%d tools stored", n)
	}
	r = b.call(t, http.MethodPost, "/api/v1/tools/analyze", map[string]any{"code": helloCode}, auth...)
	wantError(t, r, http.StatusServiceUnavailable, proto.CodeSandboxUnavailable)
}

func TestBE29_IdenticalUpdateCreatesNothing(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	tool := b.newTool(t, auth, sid, "forecast", map[string]any{"hosts": []string{"b.example.com", "a.example.com"}})
	id := tool["id"].(string)
	rev := b.catalogRev(t)
	r := b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{
		"code": strings.ReplaceAll(helloCode, "\n", "\r\n"), "hosts": []string{"A.example.com", "b.example.com"}, "timeout_ms": 30000,
	}, auth...)
	if r.status != http.StatusOK || r.body["changed"] != false || num(r.body["latest_version"]) != 1 {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	if n := b.countRows(t, "SELECT count(*) FROM tool_versions"); n != 1 {
		t.Fatalf("%d versions", n)
	}
	if b.catalogRev(t) != rev {
		t.Fatal("a no-op bumped the catalog revision")
	}
	// No fields, and null fields, are refused.
	r = b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if !strings.Contains(r.err.Message, "No fields to update") {
		t.Fatalf("message %q", r.err.Message)
	}
	r = b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"timeout_ms": nil}, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "timeout_ms" {
		t.Fatalf("field %q", r.err.Field)
	}
}

func TestBE30_RenameCreatesNoVersion(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	id := b.newTool(t, auth, sid, "forecast", nil)["id"].(string)
	b.newTool(t, auth, sid, "taken", nil)
	rev := b.catalogRev(t)
	r := b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"name": "daily_forecast"}, auth...)
	if r.status != http.StatusOK || r.body["changed"] != true || r.body["exposed_name"] != "weather__daily_forecast" ||
		num(r.body["latest_version"]) != 1 {
		t.Fatalf("rename: %d %s", r.status, r.raw)
	}
	if n := b.countRows(t, "SELECT count(*) FROM tool_versions WHERE tool_id = $1", id); n != 1 {
		t.Fatalf("%d versions", n)
	}
	if b.catalogRev(t) != rev+1 {
		t.Fatal("rename did not bump the catalog revision once")
	}
	if n := b.countRows(t, "SELECT count(*) FROM activity_log WHERE action = 'tool.rename' AND tool_id = $1", id); n != 1 {
		t.Fatalf("%d rename audit rows", n)
	}
	r = b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"name": "taken"}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeNameTaken)
	// Disabling sets disabled_by admin; enabling clears it.
	r = b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"enabled": false}, auth...)
	if r.status != http.StatusOK || r.body["enabled"] != false || r.body["disabled_by"] != "admin" {
		t.Fatalf("disable: %d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"enabled": true}, auth...)
	if r.status != http.StatusOK || r.body["enabled"] != true || r.body["disabled_by"] != nil {
		t.Fatalf("enable: %d %s", r.status, r.raw)
	}
	if n := b.countRows(t, "SELECT count(*) FROM activity_log WHERE action IN ('tool.enable', 'tool.disable')"); n != 2 {
		t.Fatalf("%d toggle audit rows", n)
	}
}

func TestBE31_TimeoutChangeOfApprovedToolIsPending(t *testing.T) {
	t.Parallel()
	b, f, auth, sid := toolsBackend(t, okAnswer)
	id := b.newTool(t, auth, sid, "forecast", nil)["id"].(string)
	b.approveV1(t, id)
	rev := b.catalogRev(t)
	r := b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"timeout_ms": 60000}, auth...)
	if r.status != http.StatusOK || r.body["changed"] != true {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	v := latest(r.body)
	if num(r.body["latest_version"]) != 2 || r.body["review_status"] != "pending_review" || r.body["review_requested_at"] == nil ||
		v["status"] != "pending_review" || v["change_summary"] != "Updated timeout_ms" ||
		num(v["manifest"].(map[string]any)["timeout_ms"]) != 60000 {
		t.Fatalf("tool: %s", r.raw)
	}
	if f.count() != 1 {
		t.Fatalf("a manifest-only change called analyze (%d calls)", f.count())
	}
	if b.catalogRev(t) != rev+1 {
		t.Fatal("the new version did not bump the catalog revision once")
	}
}

func TestBE32_ApprovedVersionStaysWhileV2Pending(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	created := b.newTool(t, auth, sid, "forecast", nil)
	id, h1 := created["id"].(string), latest(created)["hash"].(string)
	b.approveV1(t, id)
	b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/start", nil, auth...)
	if r := b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"memory_mb": 256}, auth...); r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	var approved int
	var approvedHash, status string
	b.sql(t, "SELECT approved_version, approved_hash, review_status FROM tools WHERE id = $1", []any{&approved, &approvedHash, &status}, id)
	if approved != 1 || approvedHash != h1 || status != "pending_review" {
		t.Fatalf("columns: %d %s %s", approved, approvedHash, status)
	}
	r := b.call(t, http.MethodGet, "/api/v1/tools/"+id, nil, auth...)
	if num(r.body["approved_version"]) != 1 || r.body["approved_hash"] != h1 || r.body["live"] != true ||
		num(r.body["latest_version"]) != 2 {
		t.Fatalf("tool: %s", r.raw)
	}
	v1 := b.call(t, http.MethodGet, "/api/v1/tools/"+id+"/versions/1", nil, auth...)
	if v1.status != http.StatusOK || v1.body["status"] != "approved" || v1.body["hash"] != h1 {
		t.Fatalf("version 1: %s", v1.raw)
	}
}

func TestBE33_RollbackCreatesVersionWithOldContent(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	created := b.newTool(t, auth, sid, "forecast", nil)
	id, h1 := created["id"].(string), latest(created)["hash"].(string)
	b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"timeout_ms": 2000}, auth...)
	b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"code": helloCode + "// v3\n"}, auth...)
	r := b.call(t, http.MethodPost, "/api/v1/tools/"+id+"/rollback", map[string]any{"version": 1}, auth...)
	if r.status != http.StatusOK {
		t.Fatalf("rollback: %d %s", r.status, r.raw)
	}
	v := latest(r.body)
	if num(r.body["latest_version"]) != 4 || v["hash"] != h1 || v["change_source"] != "rollback" || num(v["based_on_version"]) != 1 ||
		v["change_summary"] != "Rolled back to version 1" || v["code"] != helloCode || r.body["review_status"] != "draft" {
		t.Fatalf("rollback: %s", r.raw)
	}
	if n := b.countRows(t, "SELECT count(*) FROM activity_log WHERE action = 'tool.rollback' AND tool_id = $1", id); n != 1 {
		t.Fatalf("%d rollback audit rows", n)
	}
}

func TestBE34_RollbackToApprovedContentIsHashMatch(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	created := b.newTool(t, auth, sid, "forecast", nil)
	id, h1 := created["id"].(string), latest(created)["hash"].(string)
	b.approveV1(t, id)
	b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"timeout_ms": 2000}, auth...)
	r := b.call(t, http.MethodPost, "/api/v1/tools/"+id+"/rollback", map[string]any{"version": 1}, auth...)
	if r.status != http.StatusOK || r.body["review_status"] != "approved" || r.body["approved_by"] != "hash_match" ||
		num(r.body["approved_version"]) != 3 || r.body["approved_hash"] != h1 || latest(r.body)["status"] != "approved" {
		t.Fatalf("rollback: %d %s", r.status, r.raw)
	}
	// An update back to approved content is a hash match as well.
	b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"hosts": []string{"x.example.com"}}, auth...)
	r = b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"hosts": []string{}}, auth...)
	if r.status != http.StatusOK || r.body["review_status"] != "approved" || r.body["approved_by"] != "hash_match" ||
		num(r.body["approved_version"]) != 5 {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
}

func TestBE35_RollbackToLatestIsInvalidState(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	id := b.newTool(t, auth, sid, "forecast", nil)["id"].(string)
	r := b.call(t, http.MethodPost, "/api/v1/tools/"+id+"/rollback", map[string]any{"version": 1}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeInvalidState)
	if r.err.Message != "Version 1 is the latest version; nothing to roll back." {
		t.Fatalf("message %q", r.err.Message)
	}
	b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"timeout_ms": 2000}, auth...)
	b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"timeout_ms": 30000}, auth...)
	r = b.call(t, http.MethodPost, "/api/v1/tools/"+id+"/rollback", map[string]any{"version": 1}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeInvalidState)
	if r.err.Message != "Version 1 has the same content as the latest version." {
		t.Fatalf("message %q", r.err.Message)
	}
	r = b.call(t, http.MethodPost, "/api/v1/tools/"+id+"/rollback", map[string]any{"version": 9}, auth...)
	wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
	if r.err.Message != "Version 9 of tool 'weather__forecast' not found (latest is 3)." {
		t.Fatalf("message %q", r.err.Message)
	}
}

func TestBE36_QuotaOf5000Tools(t *testing.T) {
	t.Parallel()
	b, f, auth, sid := toolsBackend(t, okAnswer)
	b.sql(t, `WITH t AS (
	INSERT INTO tools (server_id, name) SELECT $1, 't' || i FROM generate_series(1, 5000) i RETURNING id)
INSERT INTO tool_versions (tool_id, version, code, manifest, hash)
SELECT id, 1, 'package tool', '{}', 'sha256:' || repeat('c', 64) FROM t`, nil, sid)
	r := b.call(t, http.MethodPost, "/api/v1/servers/"+sid+"/tools", map[string]any{"name": "one_more", "code": helloCode}, auth...)
	wantError(t, r, http.StatusConflict, proto.CodeQuotaExceeded)
	if r.err.Message != "MCPbox holds at most 5000 tools; delete unused tools first." || f.count() != 1 {
		t.Fatalf("%s (%d analyze calls)", r.raw, f.count())
	}
	if n := b.countRows(t, "SELECT count(*) FROM tools"); n != 5000 {
		t.Fatalf("%d tools", n)
	}
}

func TestBE8_DeleteToolKeepsApprovedRequests(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	id := b.newTool(t, auth, sid, "forecast", nil)["id"].(string)
	b.sql(t, `INSERT INTO network_requests (server_id, tool_id, host, status) VALUES
	($1, $2, 'approved.example.com', 'approved'), ($1, $2, 'pending.example.com', 'pending'),
	($1, $2, 'rejected.example.com', 'rejected')`, nil, sid, id)
	b.sql(t, `INSERT INTO package_requests (server_id, tool_id, package, status) VALUES
	($1, $2, 'encoding/xml', 'approved'), ($1, $2, 'image/png', 'pending')`, nil, sid, id)
	rev := b.catalogRev(t)
	r := b.call(t, http.MethodDelete, "/api/v1/tools/"+id, nil, auth...)
	if r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	var host string
	b.sql(t, "SELECT string_agg(host || ':' || coalesce(tool_id::text, 'null'), ',') FROM network_requests", []any{&host})
	if host != "approved.example.com:null" {
		t.Fatalf("network requests left: %s", host)
	}
	var pkg string
	b.sql(t, "SELECT string_agg(package || ':' || coalesce(tool_id::text, 'null'), ',') FROM package_requests", []any{&pkg})
	if pkg != "encoding/xml:null" {
		t.Fatalf("package requests left: %s", pkg)
	}
	if n := b.countRows(t, "SELECT count(*) FROM tool_versions"); n != 0 {
		t.Fatalf("%d versions left", n)
	}
	if b.catalogRev(t) != rev+1 {
		t.Fatal("delete did not bump the catalog revision once")
	}
	if n := b.countRows(t, "SELECT count(*) FROM activity_log WHERE action = 'tool.delete' AND tool_id = $1", id); n != 1 {
		t.Fatalf("%d delete audit rows", n)
	}
	r = b.call(t, http.MethodDelete, "/api/v1/tools/"+id, nil, auth...)
	wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
}

func TestToolVersionDiff(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	id := b.newTool(t, auth, sid, "forecast", nil)["id"].(string)
	b.approveV1(t, id)
	code2 := strings.Replace(helloCode, `"hello"`, `"hi"`, 1)
	b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"code": code2, "timeout_ms": 2000}, auth...)
	b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"memory_mb": 64}, auth...)
	// Default base: the approved version 1.
	r := b.call(t, http.MethodGet, "/api/v1/tools/"+id+"/versions/3/diff", nil, auth...)
	if r.status != http.StatusOK || num(r.body["base"]) != 1 || num(r.body["target"]) != 3 {
		t.Fatalf("diff: %d %s", r.status, r.raw)
	}
	wantDiff := "--- version 1\n+++ version 3\n@@ -1,4 +1,4 @@\n package tool\n \n // Main says hello.\n" +
		"-func Main() string { return \"hello\" }\n+func Main() string { return \"hi\" }\n"
	if r.body["code_diff"] != wantDiff {
		t.Fatalf("code_diff:\n%s", r.body["code_diff"])
	}
	changes, _ := json.Marshal(r.body["manifest_changes"])
	if string(changes) != `[{"key":"memory_mb","new":64,"old":128},{"key":"timeout_ms","new":2000,"old":30000}]` {
		t.Fatalf("manifest_changes %s", changes)
	}
	// An explicit base; a manifest-only change has no code diff.
	r = b.call(t, http.MethodGet, "/api/v1/tools/"+id+"/versions/3/diff?base=2", nil, auth...)
	if r.status != http.StatusOK || r.body["code_diff"] != "" || num(r.body["base"]) != 2 {
		t.Fatalf("diff: %d %s", r.status, r.raw)
	}
	// Version 1, the approved one: against nothing.
	r = b.call(t, http.MethodGet, "/api/v1/tools/"+id+"/versions/1/diff", nil, auth...)
	if r.status != http.StatusOK || r.body["base"] != nil || !strings.HasPrefix(r.body["code_diff"].(string), "--- /dev/null\n") {
		t.Fatalf("diff: %d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodGet, "/api/v1/tools/"+id+"/versions/3/diff?base=x", nil, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	r = b.call(t, http.MethodGet, "/api/v1/tools/"+id+"/versions/3/diff?base=7", nil, auth...)
	wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
}

func TestToolListsPaginate(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	ids := map[string]string{}
	for _, name := range []string{"charlie", "alpha", "bravo"} {
		ids[name] = b.newTool(t, auth, sid, name, nil)["id"].(string)
	}
	b.call(t, http.MethodPatch, "/api/v1/tools/"+ids["bravo"], map[string]any{"enabled": false}, auth...)
	base := "/api/v1/servers/" + sid + "/tools"
	r := b.call(t, http.MethodGet, base+"?limit=2", nil, auth...)
	items := r.body["items"].([]any)
	if r.status != http.StatusOK || len(items) != 2 || items[0].(map[string]any)["name"] != "alpha" ||
		items[1].(map[string]any)["name"] != "bravo" || r.body["next_cursor"] == nil {
		t.Fatalf("page 1: %s", r.raw)
	}
	cursor := r.body["next_cursor"].(string)
	r = b.call(t, http.MethodGet, base+"?limit=2&cursor="+cursor, nil, auth...)
	items = r.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["name"] != "charlie" || r.body["next_cursor"] != nil {
		t.Fatalf("page 2: %s", r.raw)
	}
	// A cursor of another filter is refused.
	r = b.call(t, http.MethodGet, base+"?limit=2&enabled=true&cursor="+cursor, nil, auth...)
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	r = b.call(t, http.MethodGet, base+"?enabled=false", nil, auth...)
	if items = r.body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["name"] != "bravo" {
		t.Fatalf("enabled=false: %s", r.raw)
	}
	r = b.call(t, http.MethodGet, base+"?review_status=approved", nil, auth...)
	if items = r.body["items"].([]any); len(items) != 0 {
		t.Fatalf("review_status=approved: %s", r.raw)
	}
	for _, q := range []string{"?review_status=live", "?enabled=yes", "?limit=0", "?limit=201", "?cursor=abc"} {
		wantError(t, b.call(t, http.MethodGet, base+q, nil, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
	}
	// Versions: newest first, paginated.
	id := ids["alpha"]
	for _, ms := range []int{2000, 3000, 4000} {
		b.call(t, http.MethodPatch, "/api/v1/tools/"+id, map[string]any{"timeout_ms": ms}, auth...)
	}
	seen := []int{}
	next := ""
	for range 3 {
		path := "/api/v1/tools/" + id + "/versions?limit=3"
		if next != "" {
			path += "&cursor=" + next
		}
		r = b.call(t, http.MethodGet, path, nil, auth...)
		if r.status != http.StatusOK {
			t.Fatalf("versions: %d %s", r.status, r.raw)
		}
		for _, it := range r.body["items"].([]any) {
			seen = append(seen, num(it.(map[string]any)["version"]))
		}
		if r.body["next_cursor"] == nil {
			break
		}
		next = r.body["next_cursor"].(string)
	}
	if fmt.Sprint(seen) != "[4 3 2 1]" {
		t.Fatalf("versions %v", seen)
	}
}

func TestToolNotFoundAndUnauthenticated(t *testing.T) {
	t.Parallel()
	b, _, auth, sid := toolsBackend(t, okAnswer)
	id := b.newTool(t, auth, sid, "forecast", nil)["id"].(string)
	missing := "0d4a1c6e-3f2b-4c1d-9e8f-a1b2c3d4e5f6"
	for _, path := range []string{
		"/api/v1/tools/" + missing, "/api/v1/tools/not-a-uuid", "/api/v1/tools/" + missing + "/versions",
		"/api/v1/tools/" + id + "/versions/0", "/api/v1/tools/" + id + "/versions/x", "/api/v1/tools/" + id + "/versions/01",
		"/api/v1/servers/" + missing + "/tools", "/api/v1/servers/nope/tools",
	} {
		wantError(t, b.call(t, http.MethodGet, path, nil, auth...), http.StatusNotFound, proto.CodeNotFound)
	}
	r := b.call(t, http.MethodGet, "/api/v1/tools/"+id+"/versions/2", nil, auth...)
	wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
	if r.err.Message != "Version 2 of tool 'weather__forecast' not found (latest is 1)." {
		t.Fatalf("message %q", r.err.Message)
	}
	r = b.call(t, http.MethodPost, "/api/v1/servers/"+missing+"/tools", map[string]any{"name": "x", "code": helloCode}, auth...)
	wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
	r = b.call(t, http.MethodPatch, "/api/v1/tools/"+missing, map[string]any{"name": "x"}, auth...)
	wantError(t, r, http.StatusNotFound, proto.CodeNotFound)
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/tools/" + id},
		{http.MethodGet, "/api/v1/servers/" + sid + "/tools"},
		{http.MethodPatch, "/api/v1/tools/" + id},
		{http.MethodDelete, "/api/v1/tools/" + id},
		{http.MethodPost, "/api/v1/tools/analyze"},
		{http.MethodGet, "/api/v1/tools/" + id + "/versions/1/diff"},
	} {
		wantError(t, b.call(t, c.method, c.path, map[string]any{}), http.StatusUnauthorized, proto.CodeUnauthenticated)
	}
}

func TestAnalyzeSavesNothing(t *testing.T) {
	t.Parallel()
	b, f, auth, _ := toolsBackend(t, func(code string) proto.AnalyzeResponse {
		a := okAnswer(code)
		a.Imports = append(a.Imports, proto.Import{Path: "encoding/xml", Tier: proto.TierOptIn})
		a.Secrets = []string{"API_KEY"}
		if strings.Contains(code, "bad") {
			a.OK, a.Description = false, ""
			a.Diagnostics = []proto.Diagnostic{{Severity: proto.SeverityError, Type: proto.ErrTypeSyntaxError, Message: "oops", Line: 2, Column: 1}}
		}
		return a
	})
	r := b.call(t, http.MethodPost, "/api/v1/tools/analyze", map[string]any{"code": helloCode}, auth...)
	want := `{"valid":true,"errors":[],"description":"Says hello.","input_schema":{"type":"object","properties":{"name":{"type":"string"}}},` +
		`"output_schema":null,"packages":["encoding/xml"],"secrets":["API_KEY"]}`
	if r.status != http.StatusOK || strings.TrimSpace(r.raw) != want {
		t.Fatalf("analyze: %d %s", r.status, r.raw)
	}
	r = b.call(t, http.MethodPost, "/api/v1/tools/analyze", map[string]any{"code": "bad"}, auth...)
	errs, _ := json.Marshal(r.body["errors"])
	if r.status != http.StatusOK || r.body["valid"] != false ||
		string(errs) != `[{"column":1,"line":2,"message":"oops"},{"column":0,"line":0,"message":"add a doc comment to Main; it becomes the tool description."}]` {
		t.Fatalf("analyze: %d %s", r.status, r.raw)
	}
	if f.count() != 2 || b.countRows(t, "SELECT count(*) FROM tools") != 0 {
		t.Fatal("analyze saved something or called the sandbox more than once per request")
	}
	wantError(t, b.call(t, http.MethodPost, "/api/v1/tools/analyze", map[string]any{}, auth...), http.StatusBadRequest, proto.CodeValidationFailed)
}
