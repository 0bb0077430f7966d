package toolcall

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
)

// TestGW58_TheCallPathSendsThePlanOnceAndReturnsTheResult follows one
// successful call end to end: one plan fetch, one /v1/execute with the
// plan's fields and the raw arguments, the mapped result, one record.
func TestGW58_TheCallPathSendsThePlanOnceAndReturnsTheResult(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	args := json.RawMessage(`{"city": "Oslo", "days": 9007199254740993}`) // too big for float64, and not validated as such
	h.cat.set(snapshot(1, []proto.CatalogTool{withSchema(goTool(), `{"type":"object"}`)}), nil)

	r := h.svc.User(requestContext(t, "req-58"), caller.Remote("ann@example.com", "sub-1"), forecastName, args)

	if r.IsError {
		t.Fatalf("isError result: %s", text(t, r))
	}
	if got := text(t, r); got != `{"temp":21}` {
		t.Errorf("text = %s", got)
	}
	if got := string(r.StructuredContent.(json.RawMessage)); got != `{"temp":21}` {
		t.Errorf("structuredContent = %s", got)
	}
	em, ok := r.Meta[MetaExecution].(ExecutionMeta)
	if !ok || em.RequestID != "req-58" || em.ToolID != goToolID || em.Version != 3 || em.Stdout != "fetched" {
		t.Errorf("execution meta = %+v", r.Meta[MetaExecution])
	}

	sent := h.sandbox.Requests(proto.PathSandboxExecute)
	if len(sent) != 1 {
		t.Fatalf("sandbox got %d requests, want 1", len(sent))
	}
	req := decodeBody[proto.ExecuteRequest](t, sent[0].Body)
	if req.PinnedHash != goHash || req.RequestID != "req-58" || req.ToolID != goToolID || req.Version != 3 ||
		req.ExposedName != forecastName || !strings.HasPrefix(req.Code, "package tool") ||
		req.Limits != (proto.Limits{TimeoutMS: 5000, MemoryMB: 128}) || *req.Secrets["API_KEY"] != secretValue {
		t.Errorf("execute request = %+v", req)
	}
	if string(req.Arguments) != compactString(t, string(args)) { // the big integer survives byte for byte
		t.Errorf("arguments = %s, want %s", req.Arguments, args)
	}
	if sent[0].RequestID != "req-58" {
		t.Errorf("X-Request-Id = %q", sent[0].RequestID)
	}
	if n := len(h.backend.Requests("/internal/v1/tools/")); n != 1 {
		t.Errorf("plan fetched %d times, want 1", n)
	}

	rec := h.sink.only(t)
	want := proto.ExecutionRecord{
		ID: rec.ID, RequestID: "req-58", StartedAt: rec.StartedAt, DurationMS: rec.DurationMS,
		ToolID: goToolID, ServerID: serverID, ToolVersion: 3, ToolHash: goHash, ExposedName: forecastName,
		Via: proto.ViaDirect, Caller: proto.Caller{Kind: proto.CallerRemote, Email: "ann@example.com", Sub: "sub-1"},
		Success: true, InputArgs: json.RawMessage(`{"city":"Oslo","days":9007199254740993}`),
		Result: json.RawMessage(`{"temp":21}`), Stdout: "fetched",
	}
	if got, w := asJSON(t, rec), asJSON(t, want); got != w {
		t.Errorf("record:\n got %s\nwant %s", got, w)
	}
	if rec.ID == "" || rec.StartedAt.IsZero() || rec.StartedAt.Location() != time.UTC {
		t.Errorf("record id %q, started_at %v", rec.ID, rec.StartedAt)
	}
}

// withSchema replaces a catalog entry's input schema.
func withSchema(ct proto.CatalogTool, schema string) proto.CatalogTool {
	ct.InputSchema = json.RawMessage(schema)
	return ct
}

// TestGW62_InvalidArgumentsNeverReachThePlanOrTheSandbox checks a missing
// required field, a wrong type and an unknown field.
func TestGW62_InvalidArgumentsNeverReachThePlanOrTheSandbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, args string
		want       []string
	}{
		{"missing", `{"days": 3}`, []string{"- /city: required property is missing"}},
		{"wrong type", `{"city": "Oslo", "days": "3"}`, []string{`- /days: expected integer, got string "3"`}},
		{"unknown", `{"city": "Oslo", "hours": 2}`, []string{"- /hours: unknown property (allowed: city, days)"}},
		{"out of range", `{"city": "Oslo", "days": 8}`, []string{"- /days: must be at most 7"}},
		{"all at once", `{"days": "3", "x": 1}`, []string{
			`- /days: expected integer, got string "3"`, "- /x: unknown property", "- /city: required property is missing",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			r := h.svc.User(t.Context(), caller.Local(), forecastName, json.RawMessage(tc.args))
			got := text(t, r)
			if !r.IsError || !strings.HasPrefix(got, "Invalid arguments for weather__forecast:\n") ||
				!strings.HasSuffix(got, "\nExpected input schema: "+forecastSchema) {
				t.Errorf("result %v %q", r.IsError, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("text %q lacks %q", got, w)
				}
			}
			if n := len(h.sandbox.Requests("/")) + len(h.backend.Requests("/")); n != 0 {
				t.Errorf("sandbox and backend got %d requests, want 0", n)
			}
			rec := h.sink.only(t)
			if rec.Success || rec.ErrorCode != string(proto.OutcomeInvalidArguments) || rec.Error != got ||
				string(rec.InputArgs) != compactString(t, tc.args) {
				t.Errorf("record = %+v", rec)
			}
		})
	}
}

// compactString compacts JSON text.
func compactString(t *testing.T, s string) string {
	t.Helper()
	var v json.RawMessage
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGW63_ArgumentsMustBeAnObject: an array (and any non-object) gets the
// exact text; absent arguments are {}.
func TestGW63_ArgumentsMustBeAnObject(t *testing.T) {
	t.Parallel()
	for _, args := range []string{`[1, 2]`, `"Oslo"`, `42`, `true`} {
		h := newHarness(t)
		r := h.svc.User(t.Context(), caller.Local(), forecastName, json.RawMessage(args))
		if got := text(t, r); !r.IsError || got != "Invalid arguments for weather__forecast: arguments must be a JSON object." {
			t.Errorf("%s: %v %q", args, r.IsError, got)
		}
		if n := len(h.sandbox.Requests("/")); n != 0 {
			t.Errorf("%s: sandbox got %d requests", args, n)
		}
	}

	h := newHarness(t)
	h.cat.set(snapshot(1, []proto.CatalogTool{withSchema(goTool(), `{"type":"object"}`)}), nil)
	for _, absent := range []json.RawMessage{nil, json.RawMessage(`null`)} {
		if r := h.svc.User(t.Context(), caller.Local(), forecastName, absent); r.IsError {
			t.Errorf("absent arguments %q: %s", absent, text(t, r))
		}
	}
	for _, s := range h.sandbox.Requests(proto.PathSandboxExecute) {
		if req := decodeBody[proto.ExecuteRequest](t, s.Body); string(req.Arguments) != `{}` {
			t.Errorf("absent arguments sent as %s, want {}", req.Arguments)
		}
	}
}

// TestGW64_WithheldToolsAnswerTheirReason: each reason's §8.7 text, no plan
// and no sandbox request, a record with outcome unavailable.
func TestGW64_WithheldToolsAnswerTheirReason(t *testing.T) {
	t.Parallel()
	const id, srv = "5acd6e0b-8b6f-4fd1-8e8d-7c1b0a9f8e76", "6bde7f1c-9c7a-40e2-9f9e-8d2c1b0a9f87"
	tests := []struct {
		reason proto.WithheldReason
		want   string
	}{
		{proto.WithheldDraft, `Tool "weather__alerts" is a draft. Submit it with mcpbox_request_publish(tool_id="` + id +
			`"); an admin must approve it.`},
		{proto.WithheldPendingReview, `Tool "weather__alerts" (version 2) is waiting for admin review and cannot run until ` +
			`it is approved. mcpbox_get_tool_status(tool_id="` + id + `") shows progress.`},
		{proto.WithheldRejected, `Tool "weather__alerts" was rejected by an admin. mcpbox_get_tool_status(tool_id="` + id +
			`") shows the reason.`},
		{proto.WithheldDisabled, `Tool "weather__alerts" is disabled by an admin.`},
		{proto.WithheldServerStopped, `Tool "weather__alerts" belongs to server "weather", which is not running. Start it ` +
			`with mcpbox_start_server(server_id="` + srv + `").`},
		{proto.WithheldSourceUnusable, `Tool "weather__alerts" comes from an external source that is disabled or awaiting ` +
			`admin approval. mcpbox_list_external_sources(server_id="` + srv + `") shows its status.`},
	}
	for _, tc := range tests {
		t.Run(string(tc.reason), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			// The tool was listed, then an event withheld it.
			h.cat.set(snapshot(2, []proto.CatalogTool{goTool()}, proto.WithheldTool{
				ToolID: id, ServerID: srv, Name: "weather__alerts", Version: 2, Reason: tc.reason,
			}), nil)
			r := h.svc.User(t.Context(), caller.Local(), "weather__alerts", json.RawMessage(`{"x": 1}`))
			if got := text(t, r); !r.IsError || got != tc.want {
				t.Errorf("got %v %q\nwant %q", r.IsError, got, tc.want)
			}
			if n := len(h.sandbox.Requests("/")) + len(h.backend.Requests("/")); n != 0 {
				t.Errorf("sandbox and backend got %d requests, want 0", n)
			}
			rec := h.sink.only(t)
			if rec.ToolID != id || rec.ServerID != srv || rec.ToolVersion != 2 || rec.ErrorCode != "unavailable" || rec.Success {
				t.Errorf("record = %+v", rec)
			}
		})
	}
}

// TestGW65_OnePlanFetchPerVersion: two calls of one version fetch once,
// concurrent first calls share the fetch, a new version fetches again.
func TestGW65_OnePlanFetchPerVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	args := json.RawMessage(`{"city": "Oslo"}`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { h.svc.User(t.Context(), caller.Local(), forecastName, args) })
	}
	wg.Wait()
	h.svc.User(t.Context(), caller.Local(), forecastName, args)
	if n := len(h.backend.Requests("/internal/v1/tools/")); n != 1 {
		t.Fatalf("9 calls of one version fetched the plan %d times, want 1", n)
	}

	v4 := goTool()
	v4.Version, v4.Hash = 4, "sha256:4444444444444444444444444444444444444444444444444444444444444444"
	h.backend.Handle("/internal/v1/tools/", planServer(planOf(v4)))
	h.cat.set(snapshot(2, []proto.CatalogTool{v4}), nil)
	for range 2 {
		if r := h.svc.User(t.Context(), caller.Local(), forecastName, args); r.IsError {
			t.Fatalf("version 4: %s", text(t, r))
		}
	}
	plansSeen := h.backend.Requests("/internal/v1/tools/")
	if len(plansSeen) != 2 || plansSeen[1].Query != "version=4" {
		t.Errorf("plan requests = %+v, want a second one for version 4", plansSeen)
	}
	if last := h.sandbox.Requests(proto.PathSandboxExecute); decodeBody[proto.ExecuteRequest](t, last[len(last)-1].Body).PinnedHash != v4.Hash {
		t.Error("version 4 ran with another hash")
	}
}

// TestGW66_PinnedHashAndIntegrity: the sandbox gets the catalog's pinned
// hash; its hash_mismatch answer is the integrity text, an error log and
// no second request; a plan whose hash is not the catalog's never runs.
func TestGW66_PinnedHashAndIntegrity(t *testing.T) {
	t.Parallel()
	const want = "MCPbox refused to run weather__forecast: the code does not match its approved version. The admin has been alerted."
	args := json.RawMessage(`{"city": "Oslo"}`)

	t.Run("sandbox hash_mismatch", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.sandbox.Handle(proto.PathSandboxExecute, errorAnswer(http.StatusConflict, proto.CodeHashMismatch, "hash mismatch"))
		r := h.svc.User(t.Context(), caller.Local(), forecastName, args)
		if got := text(t, r); !r.IsError || got != want {
			t.Errorf("got %q", got)
		}
		sent := h.sandbox.Requests("/")
		if len(sent) != 1 || decodeBody[proto.ExecuteRequest](t, sent[0].Body).PinnedHash != goHash {
			t.Errorf("sandbox requests = %d, want exactly 1 carrying the pinned hash", len(sent))
		}
		if !strings.Contains(h.logs.String(), `"level":"ERROR"`) {
			t.Errorf("no error log: %s", h.logs)
		}
		if rec := h.sink.only(t); rec.ErrorCode != string(proto.OutcomeIntegrityError) {
			t.Errorf("record error_code = %q", rec.ErrorCode)
		}
	})
	t.Run("plan hash differs", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		p := planOf(goTool())
		p.Hash = "sha256:9999999999999999999999999999999999999999999999999999999999999999"
		h.backend.Handle("/internal/v1/tools/", planServer(p))
		r := h.svc.User(t.Context(), caller.Local(), forecastName, args)
		if got := text(t, r); !r.IsError || got != want {
			t.Errorf("got %q", got)
		}
		if n := len(h.sandbox.Requests("/")); n != 0 {
			t.Errorf("sandbox got %d requests", n)
		}
		if !strings.Contains(h.logs.String(), `"level":"ERROR"`) {
			t.Errorf("no error log: %s", h.logs)
		}
	})
}

// TestGW71_ACancelledCallCancelsTheSandboxRequest: the client goes away
// while the tool runs; the sandbox sees its request cancelled and the
// record says cancelled.
func TestGW71_ACancelledCallCancelsTheSandboxRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	running := make(chan struct{})
	sandboxSawCancel := make(chan struct{})
	h.sandbox.Handle(proto.PathSandboxExecute, func(_ http.ResponseWriter, r *http.Request) {
		close(running)
		select {
		case <-r.Context().Done():
			close(sandboxSawCancel)
		case <-time.After(30 * time.Second): // only against a hang
		}
	})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-running
		cancel()
	}()
	r := h.svc.User(ctx, caller.Local(), forecastName, json.RawMessage(`{"city": "Oslo"}`))
	if !r.IsError {
		t.Fatal("a cancelled call returned a success")
	}
	select {
	case <-sandboxSawCancel:
	case <-time.After(10 * time.Second):
		t.Fatal("the sandbox request was not cancelled")
	}
	if rec := h.sink.only(t); rec.ErrorCode != string(proto.OutcomeCancelled) || rec.Success {
		t.Errorf("record = %+v", rec)
	}
	if n := len(h.sandbox.Requests("/")); n != 1 {
		t.Errorf("sandbox got %d requests, want 1", n)
	}
}

// TestGW72_UnknownNames: a well-formed unknown name points to
// mcpbox_find_tools, an unknown mcpbox_* name to tools/list; neither is
// recorded.
func TestGW72_UnknownNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := map[string]string{
		"weather__nothing": `Tool "weather__nothing" does not exist. Call mcpbox_find_tools to see the tools you can run.`,
		"mcpbox_foo":       `"mcpbox_foo" is not an MCPbox management tool. The management tools are listed by tools/list.`,
	}
	for name, want := range tests {
		r := h.svc.User(t.Context(), caller.Local(), name, nil)
		if got := text(t, r); !r.IsError || got != want {
			t.Errorf("%s: got %v %q", name, r.IsError, got)
		}
		if r.Meta != nil {
			t.Errorf("%s: an unknown name's result carries _meta %v", name, r.Meta)
		}
	}
	if recs := h.sink.all(); len(recs) != 0 {
		t.Errorf("unknown names were recorded: %+v", recs)
	}
	if n := len(h.sandbox.Requests("/")) + len(h.backend.Requests("/")); n != 0 {
		t.Errorf("sandbox and backend got %d requests", n)
	}
}

// TestCatalogLoadingAndStale: before the first load every user-tool call
// says "still loading"; past the staleness limit "cannot confirm".
func TestCatalogLoadingAndStale(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cat.set(nil, catalog.ErrCatalogNotLoaded)
	r := h.svc.User(t.Context(), caller.Local(), forecastName, nil)
	if got := text(t, r); !r.IsError || got != "MCPbox is still loading its tool catalog; retry in a few seconds." {
		t.Errorf("loading: %q", got)
	}
	if len(h.sink.all()) != 0 {
		t.Error("a call before the first load was recorded")
	}

	h.cat.set(snapshot(1, []proto.CatalogTool{goTool()}), &catalog.StaleError{What: "catalog", Age: 12*time.Minute + 30*time.Second, Limit: 10 * time.Minute})
	r = h.svc.User(t.Context(), caller.Local(), forecastName, json.RawMessage(`{"city":"Oslo"}`))
	want := "MCPbox cannot confirm that weather__forecast is still approved: the gateway has not reached the backend for 12 min. Try again later."
	if got := text(t, r); !r.IsError || got != want {
		t.Errorf("stale: %q", got)
	}
	if n := len(h.sandbox.Requests("/")) + len(h.backend.Requests("/")); n != 0 {
		t.Errorf("sandbox and backend got %d requests", n)
	}
	if rec := h.sink.only(t); rec.ErrorCode != "unavailable" {
		t.Errorf("record = %+v", rec)
	}
}

// TestPlanFailures: a 409 returns the backend's message and refreshes the
// catalog; a 404 is the unknown-tool text and refreshes too; a 503 is the
// "cannot reach its backend" text. None reaches the sandbox.
func TestPlanFailures(t *testing.T) {
	t.Parallel()
	const missing = "Tool weather__forecast needs the secret API_KEY, which has no value. Ask the admin to set it."
	tests := []struct {
		name    string
		answer  http.HandlerFunc
		want    string
		refresh bool
	}{
		{"409", errorAnswer(http.StatusConflict, proto.CodeSecretMissing, missing), missing, true},
		{
			"404", errorAnswer(http.StatusNotFound, proto.CodeNotFound, "Tool not found."),
			`Tool "weather__forecast" does not exist. Call mcpbox_find_tools to see the tools you can run.`, true,
		},
		{
			"503", errorAnswer(http.StatusServiceUnavailable, proto.CodeUnavailable, "down"),
			"MCPbox cannot reach its backend to prepare weather__forecast; the tool did not run. Retry shortly.", false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.backend.Handle("/internal/v1/tools/", tc.answer)
			r := h.svc.User(t.Context(), caller.Local(), forecastName, json.RawMessage(`{"city":"Oslo"}`))
			if got := text(t, r); !r.IsError || got != tc.want {
				t.Errorf("got %q", got)
			}
			if got := h.cat.refreshCount() > 0; got != tc.refresh {
				t.Errorf("catalog refresh = %v, want %v", got, tc.refresh)
			}
			if n := len(h.sandbox.Requests("/")); n != 0 {
				t.Errorf("sandbox got %d requests", n)
			}
			if rec := h.sink.only(t); rec.ErrorCode != "unavailable" {
				t.Errorf("record error_code = %q", rec.ErrorCode)
			}
		})
	}
}

// TestSandboxFailuresAreRecordedWithTheirOutcome: a 500 (the tool may have
// run) and a tool error go into the record as their outcome and error type.
func TestSandboxFailuresAreRecordedWithTheirOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		answer   http.HandlerFunc
		wantCode string
		wantText string
	}{
		{
			"500", errorAnswer(http.StatusInternalServerError, proto.CodeInternal, "boom"), "sandbox_error",
			"The MCPbox sandbox did not return a result for weather__forecast (HTTP 500). The tool may have run",
		},
		{"tool error", jsonAnswer(http.StatusOK, proto.ExecuteResponse{
			OK: false, Result: json.RawMessage(`null`), Stdout: "trying",
			Error: &proto.ExecutionError{Type: proto.ErrTypeTimeout, Message: "the tool ran longer than 5 s"},
		}), "timeout", "Timeout: the tool ran longer than 5 s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.sandbox.Handle(proto.PathSandboxExecute, tc.answer)
			r := h.svc.User(t.Context(), caller.Local(), forecastName, json.RawMessage(`{"city":"Oslo"}`))
			if got := text(t, r); !r.IsError || !strings.HasPrefix(got, tc.wantText) {
				t.Errorf("got %q", got)
			}
			if n := len(h.sandbox.Requests("/")); n != 1 {
				t.Errorf("sandbox got %d requests, want 1", n)
			}
			if rec := h.sink.only(t); rec.ErrorCode != tc.wantCode || rec.Success {
				t.Errorf("record = %+v", rec)
			}
		})
	}
}

// TestGW73_ExternalCallsGoThroughTheSandboxMCPClient: /v1/mcp/call gets
// the plan's source and the upstream name; the upstream result, isError
// included, reaches the client with io.mcpbox/execution added.
func TestGW73_ExternalCallsGoThroughTheSandboxMCPClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	upstream := `{"content":[{"type":"text","text":"no access"},{"type":"image","data":"aGk=","mimeType":"image/png"}],` +
		`"structuredContent":{"n":9007199254740993},"isError":true,"_meta":{"vendor/x":1}}`
	h.sandbox.Handle(proto.PathSandboxMCPCall, jsonAnswer(http.StatusOK, proto.MCPCallResponse{
		OK: true, Result: json.RawMessage(upstream), DurationMS: 30, Session: proto.SessionReused,
	}))
	args := json.RawMessage(`{"q": "is:open"}`)
	r := h.svc.User(requestContext(t, "req-73"), caller.Local(), searchName, args)

	sent := h.sandbox.Requests(proto.PathSandboxMCPCall)
	if len(sent) != 1 {
		t.Fatalf("sandbox got %d mcp calls", len(sent))
	}
	req := decodeBody[proto.MCPCallRequest](t, sent[0].Body)
	if req.URL != "https://mcp.example.com/mcp" || req.Tool != "search_issues" || req.Definition.Name != "search_issues" ||
		req.PinnedHash != extHash || req.TimeoutMS != 20000 || req.Headers["Authorization"] != "Bearer "+upstreamTok ||
		string(req.Arguments) != compactString(t, string(args)) || req.RequestID != "req-73" {
		t.Errorf("mcp call request = %+v", req)
	}
	if !r.IsError || len(r.Content) != 2 {
		t.Fatalf("result = %+v", r)
	}
	if _, ok := r.Content[1].(*mcp.ImageContent); !ok {
		t.Errorf("second item is %T", r.Content[1])
	}
	if string(r.StructuredContent.(json.RawMessage)) != `{"n":9007199254740993}` {
		t.Errorf("structuredContent = %s", r.StructuredContent)
	}
	if _, ok := r.Meta["vendor/x"]; !ok {
		t.Error("upstream _meta lost")
	}
	if _, ok := r.Meta[MetaExecution]; !ok {
		t.Error("io.mcpbox/execution missing")
	}
	rec := h.sink.only(t)
	if rec.ErrorCode != "tool_error" || rec.Success || rec.ToolHash != extHash || !strings.Contains(string(rec.Result), "no access") {
		t.Errorf("record = %+v", rec)
	}
}

// TestGW74_ExternalErrorAnswers: an EgressDenied answer is its message, a
// DefinitionChanged answer adds its Next step; the record carries the type.
func TestGW74_ExternalErrorAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ      proto.SandboxErrorType
		want     string
		wantCode string
	}{
		{proto.ErrTypeEgressDenied, "EgressDenied: mcp.example.com is not an allowed host", "egress_denied"},
		{
			proto.ErrTypeDefinitionChanged, "DefinitionChanged: the tool changed upstream\n\nNext step: the external server " +
				"changed this tool after its approval; an admin must re-discover the source and approve the new definition.",
			"definition_changed",
		},
	}
	for _, tc := range tests {
		t.Run(string(tc.typ), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			msg, _, _ := strings.Cut(strings.TrimPrefix(tc.want, string(tc.typ)+": "), "\n")
			h.sandbox.Handle(proto.PathSandboxMCPCall, jsonAnswer(http.StatusOK, proto.MCPCallResponse{
				OK: false, Error: &proto.UpstreamError{Type: tc.typ, Message: msg},
			}))
			r := h.svc.User(t.Context(), caller.Local(), searchName, json.RawMessage(`{"q":"x"}`))
			if got := text(t, r); !r.IsError || got != tc.want {
				t.Errorf("got %q", got)
			}
			if rec := h.sink.only(t); rec.ErrorCode != tc.wantCode {
				t.Errorf("record error_code = %q", rec.ErrorCode)
			}
		})
	}
}

// TestRunToolViaIsRecorded: Call with via run_tool gives the direct
// call's result and a record saying run_tool.
func TestRunToolViaIsRecorded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	args := json.RawMessage(`{"city":"Oslo"}`)
	ctx := requestContext(t, "req-via")
	direct := h.svc.User(ctx, caller.Local(), forecastName, args)
	viaRun := h.svc.Call(ctx, caller.Local(), forecastName, args, proto.ViaRunTool)
	if d, v := asJSON(t, direct), asJSON(t, viaRun); d != v {
		t.Errorf("results differ:\n    direct %s\n  run_tool %s", d, v)
	}
	recs := h.sink.all()
	if len(recs) != 2 || recs[0].Via != proto.ViaDirect || recs[1].Via != proto.ViaRunTool {
		t.Errorf("records = %+v", recs)
	}
}
