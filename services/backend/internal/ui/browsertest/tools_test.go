//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	cdbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/mcpbox/mcpbox/proto"
)

// The tool detail checks (admin-ui.md §16 UI-26 to UI-31) and UI-49/UI-53
// for each tool section.

// toolsSeeded is a server with one tool seeded through the internal API.
type toolsSeeded struct {
	ServerID, ToolID, Exposed string
	Codes                     []string // the code of version 1, 2, …
}

// toolsCode is the code of version n of the seeded tool.
func toolsCode(n int) string {
	return fmt.Sprintf("package tool\n\n// Main answers a greeting.\nfunc Main(in Input) (string, error) {\n\treturn \"hello %d\", nil\n}\n", n)
}

// toolsSeed creates server "weather" with tool "forecast" at the given
// number of versions (version 3 adds the host api.example.com); approve >
// 0 submits and approves that version, which must be the latest.
func toolsSeed(t *testing.T, b *Backend, versions int, code func(int) string) toolsSeeded {
	t.Helper()
	var srv struct {
		ID string `json:"server_id"`
	}
	b.Manage(t, "mcpbox_create_server", map[string]any{"name": "weather", "description": "Forecasts"}, &srv)
	var tool struct {
		ToolID      string `json:"tool_id"`
		ExposedName string `json:"exposed_name"`
	}
	s := toolsSeeded{ServerID: srv.ID}
	s.Codes = append(s.Codes, code(1))
	b.Manage(t, "mcpbox_create_tool", map[string]any{"server_id": srv.ID, "name": "forecast", "code": code(1)}, &tool)
	s.ToolID, s.Exposed = tool.ToolID, tool.ExposedName
	for n := 2; n <= versions; n++ {
		args := map[string]any{"tool_id": tool.ToolID, "code": code(n)}
		if n >= 3 {
			args["hosts"] = []string{"api.example.com"}
		}
		b.Manage(t, "mcpbox_update_tool", args, nil)
		s.Codes = append(s.Codes, code(n))
	}
	return s
}

// toolsApprove submits the latest version and approves it through the
// admin API (the admin exists).
func toolsApprove(t *testing.T, b *Backend, s toolsSeeded) {
	t.Helper()
	b.Manage(t, "mcpbox_request_publish", map[string]any{"tool_id": s.ToolID}, nil)
	auth := b.Bearer(t)
	var got struct {
		LatestVersion int `json:"latest_version"`
		Latest        struct {
			Hash string `json:"hash"`
		} `json:"latest"`
	}
	b.API(t, http.MethodGet, "/api/v1/tools/"+s.ToolID, nil, auth...).JSON(t, &got)
	r := b.API(t, http.MethodPost, "/api/v1/tools/"+s.ToolID+"/approve", map[string]any{"version": got.LatestVersion, "hash": got.Latest.Hash}, auth...)
	if r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
}

// toolsServed returns the version the gateway's catalog serves of the
// tool (0: it is not served).
func toolsServed(t *testing.T, b *Backend, toolID string) int {
	t.Helper()
	r := Request(t, http.MethodGet, b.InternalURL+proto.PathInternalCatalog, nil, proto.HeaderServiceToken, BackendToken)
	if r.Status != http.StatusOK {
		t.Fatalf("catalog: %d %s", r.Status, r.Body)
	}
	var cat proto.Catalog
	r.JSON(t, &cat)
	for _, tool := range cat.Tools {
		if tool.ToolID == toolID {
			return tool.Version
		}
	}
	return 0
}

// toolsSignedIn makes the admin and a signed-in page.
func toolsSignedIn(t *testing.T, b *Backend, v Viewport) *Page {
	t.Helper()
	b.CreateAdmin(t)
	p := b.NewPage(t, v)
	if status := p.SignIn(); status != http.StatusOK {
		t.Fatalf("sign in: status %d", status)
	}
	return p
}

// grantClipboard lets the page's origin read and write the clipboard.
func grantClipboard(t *testing.T, p *Page, origin string) {
	t.Helper()
	c := chromedp.FromContext(p.Context())
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		ctx, cancel := context.WithTimeout(p.Context(), 10*time.Second)
		err := c.Browser.Call(ctx, cdbrowser.CommandSetPermission, &cdbrowser.SetPermissionParams{
			Permission: &cdbrowser.PermissionDescriptor{Name: perm, AllowWithoutSanitization: true},
			Setting:    cdbrowser.PermissionSettingGranted, Origin: origin, BrowserContextID: c.BrowserContextID,
		}, nil)
		cancel()
		if err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}
}

func TestUI26_CodeHighlightCopyAndEscaping(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	hostile := func(int) string {
		return "package tool\n\n// Main </script><script>alert(1)</script>\nfunc Main() (string, error) {\n\treturn \"</script><script>alert(1)</script>\", nil\n}\n"
	}
	s := toolsSeed(t, b, 1, toolsCode)
	// A second tool whose code and description are hostile (the fake
	// analysis takes the description from the Main comment).
	b.Sandbox.OnAnalyze(func(req proto.AnalyzeRequest) proto.AnalyzeResponse {
		out := Analysis(req)
		if strings.Contains(req.Code, "alert(1)") {
			out.Description = `<img src=x onerror=alert(1)>`
		}
		return out
	})
	var evil struct {
		ToolID string `json:"tool_id"`
	}
	b.Manage(t, "mcpbox_create_tool", map[string]any{"server_id": s.ServerID, "name": "evil", "code": hostile(1)}, &evil)
	p := toolsSignedIn(t, b, Desktop)

	p.Open("/tools/" + s.ToolID)
	if n := p.Count("#tools-code-view [class^='hl-'], #tools-code-view [class*=' hl-']"); n < 3 {
		t.Errorf("code has %d token-classed elements", n)
	}
	if got := p.Text("h1"); got != s.Exposed {
		t.Errorf("h1 %q, want %q", got, s.Exposed)
	}
	grantClipboard(t, p, b.URL)
	p.Click("#tools-copy")
	p.WaitFor(`document.querySelector("#toasts-status").textContent.includes("copied")`, 5*time.Second, "the copy toast")
	if got := Eval[string](p, `navigator.clipboard.readText()`); got != s.Codes[0] {
		t.Errorf("clipboard %q, want exactly the source %q", got, s.Codes[0])
	}

	// Hostile code and description are text: no img and no script inside
	// the content. No dialog: an open alert would block every later
	// evaluation, and an inline script the CSP blocked is a
	// securitypolicyviolation, which fails the check on its own.
	p.Open("/tools/" + evil.ToolID)
	if !strings.Contains(p.Text("#tools-code-view"), "</script><script>alert(1)</script>") {
		t.Errorf("hostile code not shown as text: %q", p.Text("#tools-code-view"))
	}
	if n := p.Count("main img, main script"); n != 0 {
		t.Errorf("%d img/script elements inside the content", n)
	}
	p.Open("/tools/" + evil.ToolID + "?tab=manifest")
	p.Open("/tools/" + evil.ToolID + "?tab=test")
	if !strings.Contains(p.HTML(), "&lt;img src=x onerror=alert(1)&gt;") && strings.Contains(p.HTML(), "<img src=x") {
		t.Error("the description became markup")
	}
	if n := p.Count("main img"); n != 0 {
		t.Errorf("%d img elements inside the content", n)
	}
}

func TestUI27_ManifestAndCompare(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	code := func(n int) string {
		if n == 3 {
			return "package tool\n\n// Main answers a greeting.\nfunc Main(in Input) (string, error) {\n\t_ = mcpbox.Secret(\"API_KEY\")\n\treturn \"hello 3\", nil\n}\n"
		}
		return toolsCode(n)
	}
	s := toolsSeed(t, b, 3, code)
	p := toolsSignedIn(t, b, Desktop)
	toolsApprove(t, b, s)

	p.Open("/tools/" + s.ToolID + "?tab=manifest")
	if got := p.Text("#tools-hosts"); !strings.Contains(got, "api.example.com") {
		t.Errorf("hosts %q", got)
	}
	if got := p.Text("#tools-secrets"); !strings.Contains(got, "API_KEY") || !strings.Contains(got, "Not set") {
		t.Errorf("secrets %q", got)
	}
	for _, id := range []string{"#tools-packages", "#tools-timeout", "#tools-memory", "#tools-input-schema"} {
		if p.Count(id) != 1 || p.Text(id) == "" {
			t.Errorf("%s missing or empty", id)
		}
	}
	if p.Count("#tools-pinned-hash") != 1 || !strings.Contains(p.Text("#tools-approver"), "admin") {
		t.Errorf("approved version: pinned hash %d, approver %q", p.Count("#tools-pinned-hash"), p.Text("#tools-approver"))
	}
	p.Open("/tools/" + s.ToolID + "?tab=manifest&v=1")
	if p.Count("#tools-pinned-hash") != 0 {
		t.Error("version 1 (not approved) shows a pinned hash")
	}

	p.Open("/tools/" + s.ToolID + "?tab=versions")
	p.Click("#tools-from-1")
	p.Click("#tools-to-3")
	p.Submit(Click("#tools-compare"))
	u, err := url.Parse(p.URL())
	if err != nil || u.Query().Get("from") != "1" || u.Query().Get("to") != "3" {
		t.Fatalf("compare URL %s", p.URL())
	}
	if p.Count("#tools-diff .diff-added") == 0 || p.Count("#tools-diff .diff-removed") == 0 {
		t.Errorf("diff rows: %d added, %d removed", p.Count("#tools-diff .diff-added"), p.Count("#tools-diff .diff-removed"))
	}
	hidden := Eval[string](p, `[...document.querySelectorAll("#tools-diff .visually-hidden")].map(e => e.textContent).join(" ")`)
	if !strings.Contains(hidden, "added") || !strings.Contains(hidden, "removed") {
		t.Errorf("diff hidden texts %q", hidden)
	}
	if got := p.Text("#tools-manifest-diff"); !strings.Contains(got, "api.example.com") || !strings.Contains(got, "added") {
		t.Errorf("manifest diff %q", got)
	}
	p.Reload()
	if p.Count("#tools-diff .diff-added") == 0 {
		t.Error("the comparison did not survive reload")
	}
}

func TestUI28_Rollback(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	s := toolsSeed(t, b, 3, toolsCode)
	p := toolsSignedIn(t, b, Desktop)
	toolsApprove(t, b, s)
	b.Manage(t, "mcpbox_start_server", map[string]any{"server_id": s.ServerID}, nil)
	badge := func() string { v, _ := p.Attr("#approvals-badge", "data-count"); return v }

	p.Open("/tools/" + s.ToolID + "?tab=versions")
	before := badge()
	if p.Count("#tools-rollback-button-3") != 0 {
		t.Error("the latest version offers a rollback")
	}
	p.Click("#tools-rollback-button-1")
	p.WaitFor(`document.getElementById("tools-rollback-1").open`, 5*time.Second, "the rollback dialog")
	want := "Creates version 4 with the code and manifest of version 1. It needs approval before it is served (unless its content equals the approved version's, or auto-approval applies); until then clients keep using version 3."
	if got := strings.Join(strings.Fields(p.Text("#tools-rollback-1-desc")), " "); got != want {
		t.Errorf("dialog reads %q\nwant %q", got, want)
	}
	p.Axe("tool rollback dialog")
	p.Submit(Click("#tools-rollback-1 [data-dialog-confirm]"))
	if u, _ := url.Parse(p.URL()); u.Query().Get("v") != "4" {
		t.Errorf("after rollback the page is %s", p.URL())
	}
	if got := p.Text("#tools-pending"); got != "v4 pending review" {
		t.Errorf("pending %q", got)
	}
	p.Open("/tools/" + s.ToolID + "?tab=code&v=4")
	if got := Eval[string](p, `document.getElementById("tools-copy").dataset.copy`); got != s.Codes[0] {
		t.Errorf("version 4 code %q, want version 1's", got)
	}
	var tool struct {
		ApprovedVersion int    `json:"approved_version"`
		ReviewStatus    string `json:"review_status"`
	}
	b.API(t, http.MethodGet, "/api/v1/tools/"+s.ToolID, nil, b.Bearer(t)...).JSON(t, &tool)
	if tool.ApprovedVersion != 3 || tool.ReviewStatus != "pending_review" {
		t.Errorf("after rollback: %+v", tool)
	}
	if v := toolsServed(t, b, s.ToolID); v != 3 {
		t.Errorf("the catalog serves version %d, want 3", v)
	}
	if after := badge(); after == before || after != fmt.Sprint(atoi(before)+1) {
		t.Errorf("badge %s → %s", before, after)
	}
}

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}

func TestUI29_LogsFiltersPagesAndRows(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	s := toolsSeed(t, b, 1, toolsCode)
	start := time.Now().UTC().Add(-time.Hour)
	var recs []proto.ExecutionRecord
	for i := range 120 {
		r := proto.ExecutionRecord{
			ID: fmt.Sprintf("5f0c6c1e-4a8e-4c55-9f3e-%012d", i), ToolID: s.ToolID, ServerID: s.ServerID, ExposedName: s.Exposed,
			Via: proto.ViaDirect, Caller: proto.Caller{Kind: proto.CallerLocal}, Success: true, DurationMS: int64(10 + i),
			StartedAt: start.Add(time.Duration(i) * time.Second), InputArgs: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			Result: json.RawMessage(`"ok"`), Stdout: "line one\n", RequestID: fmt.Sprintf("req-%d", i),
		}
		if i%10 == 0 {
			r.Success, r.ErrorCode, r.Error, r.Result = false, "tool_error", "failed on purpose", nil
		}
		recs = append(recs, r)
	}
	b.PostExecutions(t, recs...)
	p := toolsSignedIn(t, b, Desktop)

	// Older and Newer cover the 120 records.
	p.Open("/tools/" + s.ToolID + "?tab=logs")
	seen := map[string]bool{}
	ids := func() []string {
		return Eval[[]string](p, `[...document.querySelectorAll("#tools-logs-table tbody.tools-log")].map(e => e.id)`)
	}
	for pg := 0; ; pg++ {
		got := ids()
		if len(got) != 50 && (pg < 2 || len(got) != 20) {
			t.Fatalf("page %d has %d rows", pg, len(got))
		}
		for _, id := range got {
			seen[id] = true
		}
		if p.Count("#logs-older") == 0 {
			break
		}
		p.Submit(Click("#logs-older"))
	}
	if len(seen) != 120 {
		t.Errorf("Older reached %d records, want 120", len(seen))
	}
	p.Submit(Click("#logs-newer"))
	p.Submit(Click("#logs-newer"))
	if p.Count("#logs-newer") != 0 || len(ids()) != 50 || !strings.HasSuffix(ids()[0], "000000000119") {
		t.Errorf("Newer did not return to the newest page: %v", ids()[:1])
	}

	// Filters: outcome=error and caller=test, in the URL, surviving reload.
	p.Exec(`document.getElementById("logs-outcome").value = "error"`)
	p.Submit(Click("#logs-apply"))
	if u, _ := url.Parse(p.URL()); u.Query().Get("outcome") != "error" {
		t.Errorf("URL %s", p.URL())
	}
	if n := len(ids()); n != 12 {
		t.Errorf("outcome=error: %d rows, want 12", n)
	}
	p.Reload()
	if n := len(ids()); n != 12 || Eval[string](p, `document.getElementById("logs-outcome").value`) != "error" {
		t.Errorf("after reload: %d rows", n)
	}
	p.Exec(`document.getElementById("logs-caller").value = "test"`)
	p.Submit(Click("#logs-apply"))
	if u, _ := url.Parse(p.URL()); u.Query().Get("caller") != "test" || u.Query().Get("outcome") != "error" {
		t.Errorf("URL %s", p.URL())
	}
	if p.Count("#tools-logs-empty") != 1 || !strings.Contains(p.Text("#tools-logs-empty"), "No executions match these filters") {
		t.Errorf("caller=test: %q", p.Text("#tools-logs-list"))
	}
	p.Submit(Click("#logs-clear"))

	// A row expands to arguments, result, logs, request id. (Other swaps,
	// such as the live marker's, may settle meanwhile: wait for the state.)
	row := "#tools-log-5f0c6c1e-4a8e-4c55-9f3e-000000000119"
	expanded := `document.querySelector("` + row + ` .tools-expand").getAttribute("aria-expanded")`
	p.Click(row + " .tools-expand")
	p.WaitFor(expanded+` === "true"`, 5*time.Second, "the row to expand")
	detail := p.Text(row + "-detail")
	for _, want := range []string{"Arguments", `"n"`, "119", "Result", "Log lines", "line one", "req-119"} {
		if !strings.Contains(detail, want) {
			t.Errorf("expanded row lacks %q: %q", want, detail)
		}
	}
	p.Click(row + " .tools-expand")
	p.WaitFor(expanded+` === "false"`, 5*time.Second, "the row to collapse")
	if _, hidden := p.Attr(row+"-detail", "hidden"); !hidden {
		t.Error("the collapsed row's detail is not hidden")
	}

	// A new execution appears on the newest page without reload.
	p.Exec(`document.body.dataset.toolsMarker = "1"`)
	b.PostExecutions(t, proto.ExecutionRecord{
		ID: "5f0c6c1e-4a8e-4c55-9f3e-00000000a001", ToolID: s.ToolID, ServerID: s.ServerID, ExposedName: s.Exposed,
		Via: proto.ViaDirect, Caller: proto.Caller{Kind: proto.CallerLocal}, Success: true, DurationMS: 3, StartedAt: time.Now().UTC(),
	})
	p.WaitFor(`!!document.getElementById("tools-log-5f0c6c1e-4a8e-4c55-9f3e-00000000a001") && document.body.dataset.toolsMarker === "1"`, 5*time.Second, "the live row")
}

// toolsSchema is UI-30's input schema.
const toolsSchema = `{"type":"object","properties":{` +
	`"city":{"type":"string","minLength":1,"description":"City name"},` +
	`"days":{"type":"integer","minimum":1},` +
	`"metric":{"type":"boolean"},` +
	`"unit":{"type":"string","enum":["c","f"]},` +
	`"options":{"type":"object","properties":{"lang":{"type":"string"}}}},` +
	`"required":["city","days"]}`

func TestUI30_SchemaDrivenTestForm(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	b.Sandbox.OnAnalyze(func(req proto.AnalyzeRequest) proto.AnalyzeResponse {
		out := Analysis(req)
		out.InputSchema = json.RawMessage(toolsSchema)
		return out
	})
	s := toolsSeed(t, b, 1, toolsCode)
	p := toolsSignedIn(t, b, Desktop)
	p.Open("/tools/" + s.ToolID + "?tab=test")

	controls := Eval[[]string](p, `["#test-arg-city","#test-arg-days","#test-arg-metric","#test-arg-unit","#test-arg-options"].map(s => {
		const e = document.querySelector(s); return e ? (e.tagName + ":" + (e.type || "")) : "none" })`)
	want := []string{"INPUT:text", "INPUT:number", "INPUT:checkbox", "FIELDSET:fieldset", "TEXTAREA:textarea"}
	if strings.Join(controls, ",") != strings.Join(want, ",") {
		t.Errorf("controls %v, want %v", controls, want)
	}
	if step, _ := p.Attr("#test-arg-days", "step"); step != "1" {
		t.Errorf("integer step %q", step)
	}
	if min, _ := p.Attr("#test-arg-days", "min"); min != "1" {
		t.Errorf("integer min %q", min)
	}
	required := Eval[int](p, `document.querySelectorAll("#tools-test-form .required").length`)
	if required != 2 {
		t.Errorf("%d required marks, want 2", required)
	}

	// An empty string and 0: field errors from the server, no execution.
	p.Fill("#test-arg-days", "0")
	p.Exec(`document.getElementById("test-arg-days").removeAttribute("min")`)
	p.Click("#test-run")
	p.WaitFor(`document.getElementById("test-arg-days-error")?.textContent !== ""`, 5*time.Second, "the field errors")
	if p.Text("#test-arg-city-error") == "" || p.Text("#test-arg-days-error") == "" {
		t.Errorf("field errors: city %q, days %q", p.Text("#test-arg-city-error"), p.Text("#test-arg-days-error"))
	}
	if v, _ := p.Attr("#test-arg-days", "aria-invalid"); v != "true" {
		t.Error("days is not aria-invalid")
	}
	if n := b.Sandbox.Hits(proto.PathSandboxExecute); n != 0 {
		t.Errorf("%d executions reached the sandbox", n)
	}

	// Edit as JSON round-trips.
	p.Fill("#test-arg-city", "Oslo")
	p.Fill("#test-arg-days", "3")
	p.Click("#test-arg-metric")
	p.Click("#test-arg-unit-1")
	p.Fill("#test-arg-options", `{"lang":"nb"}`)
	p.Click("#test-json-mode")
	p.WaitFor(`!!document.getElementById("test-json")`, 5*time.Second, "the JSON view")
	var obj map[string]any
	if err := json.Unmarshal([]byte(Eval[string](p, `document.getElementById("test-json").value`)), &obj); err != nil {
		t.Fatalf("JSON view: %v", err)
	}
	if obj["city"] != "Oslo" || obj["days"] != float64(3) || obj["metric"] != true || obj["unit"] != "f" {
		t.Errorf("assembled %v", obj)
	}
	p.Click("#test-fields")
	p.WaitFor(`!!document.getElementById("test-arg-city")`, 5*time.Second, "the fields")
	if Eval[string](p, `document.getElementById("test-arg-city").value`) != "Oslo" ||
		Eval[string](p, `document.getElementById("test-arg-days").value`) != "3" ||
		!Eval[bool](p, `document.getElementById("test-arg-metric").checked`) ||
		!Eval[bool](p, `document.getElementById("test-arg-unit-1").checked`) {
		t.Error("fields did not come back from JSON")
	}

	// A valid run shows result and duration and appears in Logs as a test.
	p.Click("#test-run")
	p.WaitFor(`!!document.getElementById("tools-test-result")`, 10*time.Second, "the test result")
	if p.Text("#tools-result-outcome") != "Success" || p.Text("#tools-result-duration") == "" ||
		!strings.Contains(p.Text("#tools-result-value"), "Oslo") {
		t.Errorf("result: %q %q %q", p.Text("#tools-result-outcome"), p.Text("#tools-result-duration"), p.Text("#tools-result-value"))
	}
	if n := b.Sandbox.Hits(proto.PathSandboxExecute); n != 1 {
		t.Errorf("%d executions reached the sandbox, want 1", n)
	}
	p.Open("/tools/" + s.ToolID + "?tab=logs&caller=test")
	if n := p.Count("#tools-logs-table tbody.tools-log"); n != 1 || !strings.Contains(p.Text("#tools-logs-table"), "test") {
		t.Errorf("Logs caller=test: %d rows: %q", n, p.Text("#tools-logs-list"))
	}
}

func TestUI31_EnabledToggle(t *testing.T) {
	t.Parallel()
	b := NewBackend(t)
	s := toolsSeed(t, b, 1, toolsCode)
	b.Manage(t, "mcpbox_request_publish", map[string]any{"tool_id": s.ToolID}, nil)
	p := toolsSignedIn(t, b, Desktop)
	p.Open("/tools/" + s.ToolID)
	if !Eval[bool](p, `document.getElementById("tools-enabled").disabled`) || !strings.Contains(p.Text("#tools-enabled-reason"), "approved") {
		t.Errorf("pending tool: toggle enabled or no reason (%q)", p.Text("#tools-enabled-reason"))
	}

	toolsApprove2(t, b, s)
	b.Manage(t, "mcpbox_start_server", map[string]any{"server_id": s.ServerID}, nil)
	if toolsServed(t, b, s.ToolID) != 1 {
		t.Fatal("the approved tool is not in the catalog")
	}
	p.Open("/tools/" + s.ToolID)
	if v, _ := p.Attr("#tools-enabled", "aria-pressed"); v != "true" {
		t.Errorf("aria-pressed %q", v)
	}
	p.Submit(Click("#tools-enabled"))
	if v, _ := p.Attr("#tools-enabled", "aria-pressed"); v != "false" {
		t.Errorf("after off: aria-pressed %q", v)
	}
	if toolsServed(t, b, s.ToolID) != 0 {
		t.Error("the disabled tool is still in the catalog")
	}
	p.Submit(Click("#tools-enabled"))
	if v, _ := p.Attr("#tools-enabled", "aria-pressed"); v != "true" {
		t.Errorf("after on: aria-pressed %q", v)
	}
	if toolsServed(t, b, s.ToolID) != 1 {
		t.Error("the re-enabled tool is not in the catalog")
	}
}

// toolsApprove2 approves an already submitted tool.
func toolsApprove2(t *testing.T, b *Backend, s toolsSeeded) {
	t.Helper()
	auth := b.Bearer(t)
	var got struct {
		LatestVersion int `json:"latest_version"`
		Latest        struct {
			Hash string `json:"hash"`
		} `json:"latest"`
	}
	b.API(t, http.MethodGet, "/api/v1/tools/"+s.ToolID, nil, auth...).JSON(t, &got)
	r := b.API(t, http.MethodPost, "/api/v1/tools/"+s.ToolID+"/approve", map[string]any{"version": got.LatestVersion, "hash": got.Latest.Hash}, auth...)
	if r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
}

func TestUI49_UI53_ToolSections(t *testing.T) {
	t.Parallel()
	for _, c := range combos() {
		t.Run(fmt.Sprintf("%s-%d", c.theme, c.view.Width), func(t *testing.T) {
			t.Parallel()
			b := NewBackend(t)
			b.Sandbox.OnAnalyze(func(req proto.AnalyzeRequest) proto.AnalyzeResponse {
				out := Analysis(req)
				out.InputSchema = json.RawMessage(toolsSchema)
				return out
			})
			s := toolsSeed(t, b, 3, toolsCode)
			b.CreateAdmin(t)
			toolsApprove(t, b, s)
			// The approved version runs with its plan: its server must run.
			b.Manage(t, "mcpbox_start_server", map[string]any{"server_id": s.ServerID}, nil)
			b.PostExecutions(t, proto.ExecutionRecord{
				ID: "5f0c6c1e-4a8e-4c55-9f3e-2b7d0e1a9c01", ToolID: s.ToolID, ServerID: s.ServerID, ExposedName: s.Exposed,
				Via: proto.ViaDirect, Caller: proto.Caller{Kind: proto.CallerLocal}, Success: true, DurationMS: 12,
				StartedAt: time.Now().UTC(), InputArgs: json.RawMessage(`{"city":"Oslo"}`), RequestID: "req-1",
			})
			p := b.NewPage(t, c.view)
			p.SetThemeCookie(c.theme)
			p.SignIn()
			base := "/tools/" + s.ToolID
			p.Open(base + "?tab=code")
			review(t, p, "tool-code", c.theme)
			p.Open(base + "?tab=manifest")
			review(t, p, "tool-manifest", c.theme)
			p.Open(base + "?tab=versions&from=1&to=3")
			review(t, p, "tool-versions-diff", c.theme)
			p.Click("#tools-rollback-button-1")
			p.WaitFor(`document.getElementById("tools-rollback-1").open`, 5*time.Second, "the rollback dialog")
			review(t, p, "tool-rollback-dialog", c.theme)
			p.Key(KeyEscape)
			p.Click("#tools-delete")
			p.WaitFor(`document.getElementById("tools-delete-dialog").open`, 5*time.Second, "the delete dialog")
			review(t, p, "tool-delete-dialog", c.theme)
			p.Key(KeyEscape)
			p.Open(base + "?tab=logs")
			p.Click("#tools-log-5f0c6c1e-4a8e-4c55-9f3e-2b7d0e1a9c01 .tools-expand")
			p.WaitFor(`document.querySelector("#tools-log-5f0c6c1e-4a8e-4c55-9f3e-2b7d0e1a9c01 .tools-expand").getAttribute("aria-expanded") === "true"`, 5*time.Second, "the row to expand")
			review(t, p, "tool-logs", c.theme)
			p.Open(base + "?tab=logs&outcome=error")
			review(t, p, "tool-logs-empty", c.theme)
			p.Open(base + "?tab=test")
			p.Click("#test-run")
			p.WaitFor(`!!document.getElementById("error-summary")`, 5*time.Second, "the error summary")
			review(t, p, "tool-test-errors", c.theme)
			p.Fill("#test-arg-city", "Oslo")
			p.Fill("#test-arg-days", "2")
			p.Click("#test-run")
			p.WaitFor(`!!document.getElementById("tools-test-result")`, 10*time.Second, "the test result")
			if p.Count("#tools-test-result") != 1 {
				t.Fatalf("no test result: %q", p.Text("#tools-test"))
			}
			review(t, p, "tool-test-result", c.theme)
			p.Click("#test-json-mode")
			p.WaitFor(`!!document.getElementById("test-json")`, 5*time.Second, "the JSON view")
			review(t, p, "tool-test-json", c.theme)
		})
	}
}
