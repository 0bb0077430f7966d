package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
	"github.com/mcpbox/mcpbox/services/backend/internal/seal"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

// execSandbox is a fake sandbox for test runs: /v1/analyze answers with
// analyzeAnswer, /v1/execute records each body and answers with answer.
// While hold is open, every execution waits for it after announcing its
// arrival on arrived.
type execSandbox struct {
	t        *testing.T
	mu       sync.Mutex
	bodies   []string // raw /v1/execute bodies
	analyze  func(code string) proto.AnalyzeResponse
	answer   func(req proto.ExecuteRequest) proto.ExecuteResponse
	hold     chan struct{}
	arrived  chan struct{}
	srv      *httptest.Server
	badToken int
}

func newExecSandbox(t *testing.T, analyze func(string) proto.AnalyzeResponse) *execSandbox {
	t.Helper()
	f := &execSandbox{t: t, analyze: analyze, answer: echoAnswer, arrived: make(chan struct{}, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(proto.HeaderServiceToken) != sandboxToken {
			f.mu.Lock()
			f.badToken++
			f.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == proto.PathSandboxAnalyze:
			var req proto.AnalyzeRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_ = json.NewEncoder(w).Encode(f.analyze(req.Code))
		case r.Method == http.MethodPost && r.URL.Path == proto.PathSandboxExecute:
			var raw json.RawMessage
			if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			var req proto.ExecuteRequest
			if err := json.Unmarshal(raw, &req); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			f.mu.Lock()
			f.bodies = append(f.bodies, string(raw))
			hold, answer := f.hold, f.answer
			f.mu.Unlock()
			f.arrived <- struct{}{}
			if hold != nil {
				<-hold
			}
			_ = json.NewEncoder(w).Encode(answer(req))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// echoAnswer is a successful run whose result echoes the arguments.
func echoAnswer(req proto.ExecuteRequest) proto.ExecuteResponse {
	return proto.ExecuteResponse{
		OK: true, Result: json.RawMessage(`{"echo":` + string(req.Arguments) + `}`), ContentText: "{}", Structured: true,
		Stdout: "ran\n", DurationMS: 12,
	}
}

func (f *execSandbox) executes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bodies)
}

// last returns the last /v1/execute body, raw and decoded.
func (f *execSandbox) last(t *testing.T) (map[string]any, proto.ExecuteRequest) {
	t.Helper()
	all := f.executes()
	if len(all) == 0 {
		t.Fatal("the sandbox received no /v1/execute")
	}
	var m map[string]any
	var req proto.ExecuteRequest
	if err := json.Unmarshal([]byte(all[len(all)-1]), &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(all[len(all)-1]), &req); err != nil {
		t.Fatal(err)
	}
	return m, req
}

const forecastSchema = `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1}},` +
	`"required":["city"],"additionalProperties":false}`

// probeAnswer is an analysis whose code reads secret API_KEY and imports
// encoding/xml (opt-in).
func probeAnswer(string) proto.AnalyzeResponse {
	a := okAnswer("")
	a.InputSchema = json.RawMessage(forecastSchema)
	a.Secrets = []string{"API_KEY"}
	a.Imports = append(a.Imports, proto.Import{Path: "encoding/xml", Tier: proto.TierOptIn})
	return a
}

// testRunBackend is a replica with the fake, the admin, a server
// "weather" and a tool "probe" (draft version 1) with hosts.
func testRunBackend(t *testing.T, hosts ...string) (*backend, *execSandbox, []string, string, map[string]any) {
	t.Helper()
	f := newExecSandbox(t, probeAnswer)
	b := newBackend(t, withSandbox(f.srv.URL))
	b.setup(t)
	auth := bearer(b.login(t))
	sid := b.newServer(t, auth, "weather", "")
	if hosts == nil {
		hosts = []string{}
	}
	tool := b.newTool(t, auth, sid, "probe", map[string]any{"hosts": hosts})
	return b, f, auth, sid, tool
}

// cover approves hosts for the server, as an admin grant (§6.2).
func (b *backend) cover(t *testing.T, serverID string, hosts ...string) {
	t.Helper()
	svc := approvals.New(b.store)
	for _, h := range hosts {
		_, err := svc.CreateNetwork(t.Context(), approvals.Audit{Actor: "admin:admin", RequestID: "test"}, uuid.MustParse(serverID), h, nil, "test coverage")
		if err != nil {
			t.Fatalf("cover %s: %v", h, err)
		}
	}
}

// planOf is the plan the gateway would get for a version.
func (b *backend) planOf(t *testing.T, toolID string, version int) proto.Plan {
	t.Helper()
	keys, err := seal.New(1, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := catalog.New(b.store, secrets.New(b.store, keys), policy.New(b.store)).Plan(t.Context(), uuid.MustParse(toolID), version, "")
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func (b *backend) testRun(t *testing.T, auth []string, tool map[string]any, body map[string]any) response {
	t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	return b.call(t, http.MethodPost, toolPath(tool, "test"), body, auth...)
}

func okRun(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusOK || r.body["ok"] != true {
		t.Fatalf("test run: %d %s", r.status, r.raw)
	}
}

func strs(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, s := range list {
		out = append(out, s.(string))
	}
	return out
}

// makeLive starts the server, creates API_KEY with value (unless "") and
// approves the latest version.
func (b *backend) makeLive(t *testing.T, auth []string, serverID string, tool map[string]any, value string) {
	t.Helper()
	if r := b.call(t, http.MethodPost, "/api/v1/servers/"+serverID+"/start", nil, auth...); r.status != http.StatusOK {
		t.Fatalf("start: %d %s", r.status, r.raw)
	}
	if value != "" {
		b.newSecret(t, auth, serverID, "API_KEY", value)
	}
	b.approveLatest(t, auth, tool)
}

// sameJSON compares raw JSON by value, not by spelling.
func sameJSON() cmp.Option {
	return cmp.Transformer("json", func(r json.RawMessage) any {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			return string(r)
		}
		return v
	})
}

// executionFields is the part of an execute request a plan decides.
func executionFields(r proto.ExecuteRequest) proto.ExecuteRequest {
	r.RequestID, r.Arguments = "", nil
	return r
}

// BE-92: covered manifest hosts api.example.com, nas.local, printer,
// 10.0.0.5 and [fd00::1]:8443 of a draft: only api.example.com reaches the
// sandbox, the other four are withheld, with or without use_secrets; under
// allow_all_public allowed_hosts is null (still withholding the four); the
// approved version sends its plan's allowed_hosts unchanged.
func TestBE92_TestRunsWithholdPrivateHosts(t *testing.T) {
	t.Parallel()
	hosts := []string{"api.example.com", "nas.local", "printer", "10.0.0.5", "[fd00::1]:8443"}
	b, f, auth, sid, tool := testRunBackend(t, hosts...)
	b.cover(t, sid, hosts...)
	withheld := []string{"10.0.0.5", "[fd00::1]:8443", "nas.local", "printer"} // manifest order: sorted
	for _, useSecrets := range []bool{false, true} {
		r := b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "Paris"}, "use_secrets": useSecrets})
		okRun(t, r)
		_, req := f.last(t)
		if req.AllowedHosts.Any || !slices.Equal(req.AllowedHosts.Hosts, []string{"api.example.com"}) {
			t.Fatalf("use_secrets %v: allowed_hosts %+v, want [api.example.com]", useSecrets, req.AllowedHosts)
		}
		if got := strs(r.body["withheld_hosts"]); !slices.Equal(got, withheld) {
			t.Fatalf("use_secrets %v: withheld_hosts %v, want %v", useSecrets, got, withheld)
		}
		if r.body["capabilities"] != "reduced" {
			t.Fatalf("capabilities: %s", r.raw)
		}
	}

	b.setPolicy(t, "network_access_policy", "allow_all_public")
	r := b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "Paris"}})
	okRun(t, r)
	raw, _ := f.last(t)
	if v, ok := raw["allowed_hosts"]; !ok || v != nil {
		t.Fatalf("allow_all_public: allowed_hosts %v (present %v), want null", v, ok)
	}
	if got := strs(r.body["withheld_hosts"]); !slices.Equal(got, withheld) {
		t.Fatalf("allow_all_public: withheld_hosts %v, want %v", got, withheld)
	}

	b.setPolicy(t, "network_access_policy", "approved_hosts_only")
	b.makeLive(t, auth, sid, tool, "value-of-the-api-key")
	r = b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "Paris"}})
	okRun(t, r)
	_, req := f.last(t)
	plan := b.planOf(t, tool["id"].(string), 1)
	if diff := cmp.Diff(plan.AllowedHosts, req.AllowedHosts); diff != "" {
		t.Fatalf("approved version: allowed_hosts differ from the plan's (-plan +sent):\n%s", diff)
	}
	if len(req.AllowedHosts.Hosts) != 5 || r.body["capabilities"] != "full" || len(strs(r.body["withheld_hosts"])) != 0 {
		t.Fatalf("approved version: sent %+v, answer %s", req.AllowedHosts, r.raw)
	}
}

// BE-78 (test-run half): a draft runs with no secret value (secrets {},
// withheld_secrets names the manifest's secrets) and stores a record with
// is_test true; on the approved version the execution fields of the
// request equal its plan.
func TestBE78_DraftTestRunWithholdsSecretsApprovedRunsItsPlan(t *testing.T) {
	t.Parallel()
	b, f, auth, sid, tool := testRunBackend(t, "api.example.com")
	b.cover(t, sid, "api.example.com")
	if _, err := approvals.New(b.store).CreatePackage(t.Context(), approvals.Audit{Actor: "admin:admin"}, "encoding/xml", "xml"); err != nil {
		t.Fatal(err)
	}
	const value = "the-api-key-value-1"
	b.newSecret(t, auth, sid, "API_KEY", value)

	r := b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "Paris", "days": 2}})
	okRun(t, r)
	raw, req := f.last(t)
	if s, ok := raw["secrets"]; ok && len(s.(map[string]any)) != 0 {
		t.Fatalf("draft: secrets %v, want {}", s)
	}
	if !slices.Equal(req.WithheldSecrets, []string{"API_KEY"}) || !slices.Equal(strs(r.body["withheld_secrets"]), []string{"API_KEY"}) {
		t.Fatalf("draft: withheld_secrets sent %v, answered %s", req.WithheldSecrets, r.raw)
	}
	if strings.Contains(f.executes()[0], value) {
		t.Fatalf("draft: the secret value reached the sandbox: %s", f.executes()[0])
	}
	v1 := latest(tool)
	if req.Code != *strPtr(v1["code"]) || req.PinnedHash != v1["hash"] || req.Limits.TimeoutMS != 30000 ||
		req.Limits.MemoryMB != 128 || !slices.Equal(req.ExtraPackages, []string{"encoding/xml"}) ||
		string(req.Arguments) != `{"city":"Paris","days":2}` {
		t.Fatalf("draft request: %+v", req)
	}
	var (
		via, kind, name string
		isTest, success bool
		version         int
		result          string
	)
	b.sql(t, `SELECT via, is_test, caller_kind, exposed_name, success, tool_version, result::text FROM execution_records WHERE id = $1`,
		[]any{&via, &isTest, &kind, &name, &success, &version, &result}, r.body["execution_id"])
	if via != "test" || !isTest || kind != "admin" || name != "weather__probe" || !success || version != 1 ||
		result != `{"echo": {"city": "Paris", "days": 2}}` {
		t.Fatalf("stored record: via %s is_test %v caller %s name %s success %v version %d result %s",
			via, isTest, kind, name, success, version, result)
	}

	b.makeLive(t, auth, sid, tool, "")
	r = b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "Oslo"}, "version": 1})
	okRun(t, r)
	_, req = f.last(t)
	plan := b.planOf(t, tool["id"].(string), 1)
	want := plan.ExecuteRequest("", nil)
	if diff := cmp.Diff(executionFields(want), executionFields(req), sameJSON()); diff != "" {
		t.Fatalf("approved version: the request differs from the plan (-plan +sent):\n%s", diff)
	}
	if req.Secrets["API_KEY"] == nil || *req.Secrets["API_KEY"] != value || len(req.WithheldSecrets) != 0 {
		t.Fatalf("approved version: secrets %v withheld %v", req.Secrets, req.WithheldSecrets)
	}
	if strings.Contains(r.raw, value) {
		t.Fatalf("the answer holds the secret value: %s", r.raw)
	}
}

func strPtr(v any) *string {
	s, _ := v.(string)
	return &s
}

// BE-79 (test-run half): a failed run is ok true, success false, with its
// stdout and error, and is stored as a failed record.
func TestBE79_FailedTestRunKeepsStdout(t *testing.T) {
	t.Parallel()
	b, f, auth, _, tool := testRunBackend(t)
	line := 3
	f.mu.Lock()
	f.answer = func(proto.ExecuteRequest) proto.ExecuteResponse {
		return proto.ExecuteResponse{
			OK: false, Result: json.RawMessage("null"), ContentText: "boom", Stdout: "step 1\nstep 2\n", DurationMS: 7,
			Error: &proto.ExecutionError{Type: proto.ErrTypeToolError, Message: "boom: the upstream said no", Line: &line},
		}
	}
	f.mu.Unlock()
	r := b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "Paris"}})
	okRun(t, r)
	e, _ := r.body["error"].(map[string]any)
	if r.body["success"] != false || r.body["stdout"] != "step 1\nstep 2\n" || r.body["result"] != nil ||
		e["type"] != "ToolError" || e["message"] != "boom: the upstream said no" || num(e["line"]) != 3 {
		t.Fatalf("failed run: %s", r.raw)
	}
	var (
		success       bool
		code, stdout  string
		errText, via  string
		duration, seq int
	)
	b.sql(t, `SELECT success, error_code, error, stdout, via, duration_ms, seq FROM execution_records WHERE id = $1`,
		[]any{&success, &code, &errText, &stdout, &via, &duration, &seq}, r.body["execution_id"])
	if success || code != "tool_error" || errText != "boom: the upstream said no" || stdout != "step 1\nstep 2\n" ||
		via != "test" || duration != 7 {
		t.Fatalf("stored: success %v code %s error %s stdout %q via %s duration %d", success, code, errText, stdout, via, duration)
	}
}

// use_secrets gives a draft its secret values, nothing else, and is audited
// without the value.
func TestTestRunUseSecretsAddsValuesAndAudits(t *testing.T) {
	t.Parallel()
	b, f, auth, sid, tool := testRunBackend(t, "api.example.com", "nas.local")
	b.cover(t, sid, "api.example.com", "nas.local")
	const value = "use-secrets-value-42"
	b.newSecret(t, auth, sid, "API_KEY", value)
	before := b.countRows(t, `SELECT count(*) FROM activity_log WHERE action = 'tool.test_with_secrets'`)
	if before != 0 {
		t.Fatalf("%d audit rows before", before)
	}
	r := b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "Paris"}, "use_secrets": true})
	okRun(t, r)
	_, req := f.last(t)
	if req.Secrets["API_KEY"] == nil || *req.Secrets["API_KEY"] != value || len(req.WithheldSecrets) != 0 ||
		len(strs(r.body["withheld_secrets"])) != 0 {
		t.Fatalf("use_secrets: secrets %v withheld %v answer %s", req.Secrets, req.WithheldSecrets, r.raw)
	}
	if !slices.Equal(req.AllowedHosts.Hosts, []string{"api.example.com"}) || !slices.Equal(strs(r.body["withheld_hosts"]), []string{"nas.local"}) {
		t.Fatalf("use_secrets changed the hosts: %+v, answer %s", req.AllowedHosts, r.raw)
	}
	var actor, details, toolID string
	b.sql(t, `SELECT actor, details::text, tool_id::text FROM activity_log WHERE action = 'tool.test_with_secrets' AND category = 'audit'`,
		[]any{&actor, &details, &toolID})
	if actor != "admin:admin" || toolID != tool["id"] || !strings.Contains(details, "API_KEY") || strings.Contains(details, value) {
		t.Fatalf("audit row: actor %s tool %s details %s", actor, toolID, details)
	}
	// Without use_secrets no audit row is written.
	okRun(t, b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "Paris"}}))
	if n := b.countRows(t, `SELECT count(*) FROM activity_log WHERE action = 'tool.test_with_secrets'`); n != 1 {
		t.Fatalf("%d audit rows, want 1", n)
	}
}

// Arguments the input schema refuses are 400 validation_failed naming each
// JSON pointer, and the sandbox is not called.
func TestTestRunArgumentsRefusedBySchema(t *testing.T) {
	t.Parallel()
	b, f, auth, _, tool := testRunBackend(t)
	r := b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"days": "two", "extra": true}})
	wantError(t, r, http.StatusBadRequest, proto.CodeValidationFailed)
	if r.err.Field != "arguments" {
		t.Fatalf("field %q", r.err.Field)
	}
	var fields []string
	for _, d := range r.err.Details {
		fields = append(fields, d.Field)
	}
	if !slices.Equal(fields, []string{"/city", "/days", "/extra"}) {
		t.Fatalf("details %+v", r.err.Details)
	}
	for _, want := range []string{"/city", "/days", "/extra"} {
		if !strings.Contains(r.err.Message, want) {
			t.Fatalf("message %q does not name %s", r.err.Message, want)
		}
	}
	notObject := b.rawCall(t, http.MethodPost, toolPath(tool, "test"), `{"arguments": [1]}`, auth...)
	wantError(t, notObject, http.StatusBadRequest, proto.CodeValidationFailed)
	if len(f.executes()) != 0 {
		t.Fatalf("the sandbox was called %d times", len(f.executes()))
	}
	bad := b.testRun(t, auth, tool, map[string]any{"version": 0})
	wantError(t, bad, http.StatusBadRequest, proto.CodeValidationFailed)
	missing := b.testRun(t, auth, tool, map[string]any{"version": 7, "arguments": map[string]any{"city": "x"}})
	wantError(t, missing, http.StatusNotFound, proto.CodeNotFound)
	unknown := b.call(t, http.MethodPost, "/api/v1/tools/"+uuid.NewString()+"/test", map[string]any{}, auth...)
	wantError(t, unknown, http.StatusNotFound, proto.CodeNotFound)
	anon := b.call(t, http.MethodPost, toolPath(tool, "test"), map[string]any{})
	wantError(t, anon, http.StatusUnauthorized, proto.CodeUnauthenticated)
	if len(f.executes()) != 0 {
		t.Fatalf("the sandbox was called %d times", len(f.executes()))
	}
}

// With every slot taken (4 runs held in the fake), a fifth run is 503 busy
// with Retry-After 2; the held runs then finish.
func TestTestRunBusyWhenSlotsAreTaken(t *testing.T) {
	t.Parallel()
	b, f, auth, _, tool := testRunBackend(t)
	hold := make(chan struct{})
	f.mu.Lock()
	f.hold = hold
	f.mu.Unlock()
	const slots = 4 // the harness's concurrency
	var wg sync.WaitGroup
	statuses := make(chan int, slots)
	body := `{"arguments":{"city":"x"}}`
	for range slots {
		wg.Go(func() { statuses <- postStatus(b.srv.Client(), b.srv.URL+toolPath(tool, "test"), body, auth) })
	}
	for range slots {
		select {
		case <-f.arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the held runs did not reach the sandbox")
		}
	}
	r := b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "x"}})
	close(hold)
	wg.Wait()
	close(statuses)
	wantError(t, r, http.StatusServiceUnavailable, proto.CodeBusy)
	if r.header.Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q, want 2", r.header.Get("Retry-After"))
	}
	for s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("a held run ended %d", s)
		}
	}
	if n := len(f.executes()); n != slots {
		t.Fatalf("the sandbox got %d runs, want %d", n, slots)
	}
	okRun(t, b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "x"}}))
}

// postStatus posts a JSON body and returns the status, 0 when no answer
// came (for goroutines, which must not call t.Fatal).
func postStatus(c *http.Client, url, body string, header []string) int {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// A sandbox that does not answer is 503 sandbox_unavailable and nothing is
// stored.
func TestTestRunSandboxDown(t *testing.T) {
	t.Parallel()
	b, _, auth, _, tool := testRunBackend(t)
	down := replica(t, b.url) // its sandbox is a closed loopback port
	r := down.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "x"}})
	wantError(t, r, http.StatusServiceUnavailable, proto.CodeSandboxUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	if n := b.countRows(t, `SELECT count(*) FROM execution_records`); n != 0 {
		t.Fatalf("%d records stored", n)
	}
}

// A secret value the tool prints or returns comes back, and is stored, as
// [REDACTED:NAME].
func TestTestRunResultIsRedacted(t *testing.T) {
	t.Parallel()
	b, f, auth, sid, tool := testRunBackend(t)
	const value = "leaky-secret-value-7"
	b.newSecret(t, auth, sid, "API_KEY", value)
	f.mu.Lock()
	f.answer = func(proto.ExecuteRequest) proto.ExecuteResponse {
		return proto.ExecuteResponse{
			OK: true, Result: json.RawMessage(`{"token":"` + value + `","list":["x-` + value + `"]}`), ContentText: value,
			Structured: true, Stdout: "key=" + value + "\n", DurationMS: 3,
		}
	}
	f.mu.Unlock()
	r := b.testRun(t, auth, tool, map[string]any{"arguments": map[string]any{"city": "x"}})
	okRun(t, r)
	if strings.Contains(r.raw, value) {
		t.Fatalf("the answer holds the value: %s", r.raw)
	}
	res, _ := r.body["result"].(map[string]any)
	if r.body["stdout"] != "key=[REDACTED:API_KEY]\n" || res["token"] != "[REDACTED:API_KEY]" {
		t.Fatalf("answer: %s", r.raw)
	}
	var stdout, result string
	b.sql(t, `SELECT stdout, result::text FROM execution_records WHERE id = $1`, []any{&stdout, &result}, r.body["execution_id"])
	if stdout != "key=[REDACTED:API_KEY]\n" || strings.Contains(result, value) || !strings.Contains(result, "[REDACTED:API_KEY]") {
		t.Fatalf("stored stdout %q result %s", stdout, result)
	}
	if strings.Contains(b.logs.String(), value) {
		t.Fatal("a log line holds the value")
	}
	f.mu.Lock()
	bad := f.badToken
	f.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d calls with a wrong service token", bad)
	}
}
