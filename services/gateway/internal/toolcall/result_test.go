package toolcall

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
)

// testCall is the call the mapping tests use.
func testCall() Call {
	return Call{
		RequestID: "req-7", ToolID: "0b6c7c1e-tool", Version: 3, ExposedName: "weather__forecast",
		Limits: proto.Limits{TimeoutMS: 30000, MemoryMB: 256}, Elapsed: 1500 * time.Millisecond,
	}
}

// wire encodes a result the way the SDK puts it on the wire (jsonrpc2's
// encoder without HTML escaping, around CallToolResult.MarshalJSON).
func wire(t *testing.T, r *mcp.CallToolResult) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatalf("encode the result: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// wireResult is the client's view of an encoded result, raw parts kept.
type wireResult struct {
	Meta              map[string]json.RawMessage `json:"_meta"`
	Content           []json.RawMessage          `json:"content"`
	StructuredContent json.RawMessage            `json:"structuredContent"`
	IsError           bool                       `json:"isError"`
}

// decodeWire encodes r as the SDK does and decodes the client's view; it
// also checks that the SDK's own client-side decoder accepts it.
func decodeWire(t *testing.T, r *mcp.CallToolResult) wireResult {
	t.Helper()
	b := wire(t, r)
	var back mcp.CallToolResult
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatalf("the SDK cannot decode the result: %v\n%s", err, b)
	}
	var w wireResult
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return w
}

// onlyText returns the text of a result's single text item.
func onlyText(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	if len(r.Content) != 1 {
		t.Fatalf("content has %d items, want 1", len(r.Content))
	}
	tc, ok := r.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("content[0] is %T, want *mcp.TextContent", r.Content[0])
	}
	return tc.Text
}

// executionMeta decodes _meta["io.mcpbox/execution"] from the wire.
func executionMeta(t *testing.T, w wireResult) ExecutionMeta {
	t.Helper()
	var em ExecutionMeta
	if err := json.Unmarshal(w.Meta[MetaExecution], &em); err != nil {
		t.Fatalf("_meta[%q] = %s: %v", MetaExecution, w.Meta[MetaExecution], err)
	}
	return em
}

func TestGW58_AnObjectResultIsStructuredContentAndTheSameText(t *testing.T) {
	t.Parallel()
	raw := `{"z":"<b> & co","a":9007199254740993,"m":{"y":1,"x":[true,null]}}`
	m := MapExecute(testCall(), proto.ExecuteResponse{
		OK: true, Result: json.RawMessage(raw), ContentText: raw, Structured: true,
		Stdout: "log line\n", DurationMS: 42,
	})
	if m.Outcome != proto.OutcomeOK || m.ErrorCode != "" || m.Result.IsError {
		t.Fatalf("mapped = %+v, want ok", m)
	}
	sc, ok := m.Result.StructuredContent.(json.RawMessage)
	if !ok || string(sc) != raw {
		t.Fatalf("structuredContent = %#v, want the raw bytes", m.Result.StructuredContent)
	}
	if got := onlyText(t, m.Result); got != raw {
		t.Errorf("text = %q, want the same compact JSON with < and & unescaped", got)
	}

	w := decodeWire(t, m.Result)
	// On the wire: the big integer and the key order survive byte for byte;
	// the SDK's json.Marshal escapes <, > and & (same value, other bytes).
	var escaped bytes.Buffer
	json.HTMLEscape(&escaped, []byte(raw))
	if string(w.StructuredContent) != escaped.String() {
		t.Errorf("structuredContent on the wire = %s, want %s", w.StructuredContent, escaped.String())
	}
	var text struct{ Text string }
	if err := json.Unmarshal(w.Content[0], &text); err != nil || text.Text != raw {
		t.Errorf("text item on the wire decodes to %q (%v), want %q", text.Text, err, raw)
	}
	if w.IsError {
		t.Error("isError is true")
	}
	em := executionMeta(t, w)
	want := ExecutionMeta{RequestID: "req-7", ToolID: "0b6c7c1e-tool", Version: 3, DurationMS: 42, Stdout: "log line\n"}
	if em != want {
		t.Errorf("execution meta = %+v, want %+v", em, want)
	}
}

func TestGW59_NonObjectResultsAreTextOnly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, result, contentText, wantText string
	}{
		{"string", `"Sunny, 21 °C <hot> & dry"`, "Sunny, 21 °C <hot> & dry", "Sunny, 21 °C <hot> & dry"},
		{"array", `[1,"<a>",{"k":2}]`, `[1,"<a>",{"k":2}]`, `[1,"<a>",{"k":2}]`},
		{"big integer", `9007199254740993`, `9007199254740993`, `9007199254740993`},
		{"boolean", `true`, `true`, `true`},
		{"null", `null`, `null`, `null`},
		// Without content_text the gateway rebuilds it the same way.
		{"string, no content_text", `"plain"`, "", "plain"},
		{"array, no content_text", `[ 1, 9007199254740993 ]`, "", `[1,9007199254740993]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := MapExecute(testCall(), proto.ExecuteResponse{OK: true, Result: json.RawMessage(tc.result), ContentText: tc.contentText})
			if m.Outcome != proto.OutcomeOK || m.Result.IsError {
				t.Fatalf("mapped = %+v, want ok", m)
			}
			if got := onlyText(t, m.Result); got != tc.wantText {
				t.Errorf("text = %q, want %q", got, tc.wantText)
			}
			w := decodeWire(t, m.Result)
			if m.Result.StructuredContent != nil || w.StructuredContent != nil {
				t.Errorf("structuredContent = %s, want none", w.StructuredContent)
			}
		})
	}
}

func TestAStructuredFlagOnANonObjectIsNotTrusted(t *testing.T) {
	t.Parallel()
	m := MapExecute(testCall(), proto.ExecuteResponse{OK: true, Result: json.RawMessage(`[1]`), ContentText: `[1]`, Structured: true})
	if m.Result.StructuredContent != nil {
		t.Errorf("structuredContent = %v for an array, want none", m.Result.StructuredContent)
	}
}

// sandboxFailure builds the failed execution of GW-60: a tool error tied
// to an HTTP call, with a position and stdout.
func sandboxFailure(contentText string) proto.ExecuteResponse {
	line, col := 12, 9
	ctx := "  11 |     u := base + \"/v1/x\"\n>>12 |     resp, err := mcpbox.HTTP.Get(ctx, u, nil)\n  13 |     if err != nil {"
	return proto.ExecuteResponse{
		OK: false, Result: json.RawMessage(`null`), ContentText: contentText,
		Stdout: "fetching https://api.example.com/v1/x\n", DurationMS: 80,
		Error: &proto.ExecutionError{
			Type: proto.ErrTypeToolError, Message: "GET https://api.example.com/v1/x: 404 Not Found",
			Line: &line, Column: &col, Context: &ctx,
			HTTP: &proto.HTTPFailure{
				Method: "GET", URL: "https://api.example.com/v1/x", Status: 404,
				Headers:     map[string]string{"x-ratelimit-remaining": "9", "content-type": "application/json"},
				BodyPreview: `{"error":"no such thing"}`,
			},
		},
	}
}

// wantErrorText is the §8.5 text of sandboxFailure.
const wantErrorText = `ToolError: GET https://api.example.com/v1/x: 404 Not Found

--- stdout ---
fetching https://api.example.com/v1/x

--- detail ---
Line: 12, column 9
Context:
  11 |     u := base + "/v1/x"
>>12 |     resp, err := mcpbox.HTTP.Get(ctx, u, nil)
  13 |     if err != nil {
HTTP 404 from GET https://api.example.com/v1/x
  content-type: application/json
  x-ratelimit-remaining: 9
Response preview: {"error":"no such thing"}`

func TestGW60_AFailingToolIsAnErrorWithStdoutDetailAndTheErrorObject(t *testing.T) {
	t.Parallel()
	// The sandbox's own content_text (sandbox.md §4.2.6) is used as it is;
	// the gateway does not add the sections a second time.
	sandboxText := "ToolError: GET https://api.example.com/v1/x: 404 Not Found\n--- stdout ---\nfetching https://api.example.com/v1/x\n" +
		"--- detail ---\nLine: 12, column 9\nContext:\n...\nHTTP 404 from GET https://api.example.com/v1/x"
	for name, contentText := range map[string]string{"sandbox text": sandboxText, "rebuilt": ""} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp := sandboxFailure(contentText)
			m := MapExecute(testCall(), resp)
			if m.Outcome != proto.OutcomeToolError || m.ErrorCode != "tool_error" || !m.Result.IsError {
				t.Fatalf("mapped = %+v, want a tool error", m)
			}
			if m.Error != resp.Error.Message {
				t.Errorf("record error = %q", m.Error)
			}
			text := onlyText(t, m.Result)
			if !strings.HasPrefix(text, "ToolError: GET https://api.example.com/v1/x: 404 Not Found\n") {
				t.Errorf("text does not start with <type>: <message>:\n%s", text)
			}
			for _, marker := range []string{"--- stdout ---", "--- detail ---", "Line: 12, column 9"} {
				if strings.Count(text, marker) != 1 {
					t.Errorf("text holds %q %d times, want once:\n%s", marker, strings.Count(text, marker), text)
				}
			}
			if strings.Contains(text, "Next step:") {
				t.Errorf("ToolError has no hint, got:\n%s", text)
			}
			if contentText == "" && text != wantErrorText {
				t.Errorf("rebuilt text =\n%s\nwant\n%s", text, wantErrorText)
			}
			w := decodeWire(t, m.Result)
			if m.Result.StructuredContent != nil || w.StructuredContent != nil {
				t.Error("an error result carries structuredContent")
			}
			var got proto.ExecutionError
			if err := json.Unmarshal(w.Meta[MetaError], &got); err != nil {
				t.Fatalf("_meta[%q]: %v", MetaError, err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(resp.Error)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("_meta error = %s, want the whole error object %s", gotJSON, wantJSON)
			}
			if em := executionMeta(t, w); em.Stdout != resp.Stdout || em.DurationMS != 80 {
				t.Errorf("execution meta = %+v", em)
			}
		})
	}
}

func TestGW61_EgressDeniedEndsWithTheNetworkAccessStep(t *testing.T) {
	t.Parallel()
	msg := "Network access to 'api.example.com:443' is not approved for this tool. Ask for it with mcpbox_request_network_access (host 'api.example.com', port 443)."
	resp := proto.ExecuteResponse{
		OK: false, ContentText: "EgressDenied: " + msg,
		Error: &proto.ExecutionError{
			Type: proto.ErrTypeEgressDenied, Message: msg,
			HTTP: &proto.HTTPFailure{Method: "GET", URL: "https://api.example.com/v1/x?q=1", Error: "egress denied"},
		},
	}
	m := MapExecute(testCall(), resp)
	text := onlyText(t, m.Result)
	want := "\n\nNext step: Ask for access with mcpbox_request_network_access(tool_id=\"0b6c7c1e-tool\", host=\"api.example.com\"); an admin must approve it."
	if !strings.HasSuffix(text, want) {
		t.Errorf("text =\n%s\nwant it to end with%s", text, want)
	}
	if m.ErrorCode != "egress_denied" || m.Outcome != proto.OutcomeToolError {
		t.Errorf("error code %q, outcome %q", m.ErrorCode, m.Outcome)
	}
}

func TestNextStepHints(t *testing.T) {
	t.Parallel()
	cases := []struct {
		typ  proto.SandboxErrorType
		msg  string
		want string
	}{
		{
			proto.ErrTypeImportError, `package "golang.org/x/net/html" is not approved for this tool: ask for it with mcpbox_request_package`,
			`Ask for the package with mcpbox_request_package(tool_id="0b6c7c1e-tool", package="golang.org/x/net/html").`,
		},
		{proto.ErrTypeImportError, "imports are broken", `Ask for the package with mcpbox_request_package(tool_id="0b6c7c1e-tool", package="<package>").`},
		{
			proto.ErrTypeTimeout, "Execution timed out after 30 s (timeout_ms=30000)",
			"The tool hit its 30 s limit. Make it faster, or raise timeout_ms with mcpbox_update_tool (the change needs approval).",
		},
		{proto.ErrTypeMemoryLimitExceeded, "Tool exceeded its 256 MiB memory limit", "Process less data per call (limit 256 MiB)."},
		{proto.ErrTypeEgressDenied, "This tool has no network access.", `Ask for access with mcpbox_request_network_access(tool_id="0b6c7c1e-tool", host="<host>"); an admin must approve it.`},
		{proto.ErrTypePanic, "nil map", ""},
		{proto.ErrTypeSyntaxError, "line 1", ""},
		{proto.ErrTypeCPULimitExceeded, "cpu", ""},
	}
	for _, tc := range cases {
		e := &proto.ExecutionError{Type: tc.typ, Message: tc.msg}
		if got := NextStep(testCall(), e); got != tc.want {
			t.Errorf("NextStep(%s, %q) = %q, want %q", tc.typ, tc.msg, got, tc.want)
		}
		text := onlyText(t, MapExecute(testCall(), proto.ExecuteResponse{Error: e}).Result)
		if hasHint := strings.Contains(text, "\n\nNext step: "); hasHint != (tc.want != "") {
			t.Errorf("%s: text %q, hint expected: %v", tc.typ, text, tc.want != "")
		}
	}
}

func TestAFailureWithoutAnErrorObjectStillMapsToAnError(t *testing.T) {
	t.Parallel()
	m := MapExecute(testCall(), proto.ExecuteResponse{OK: false})
	if !m.Result.IsError || m.Outcome != proto.OutcomeToolError || m.ErrorCode != "worker_crashed" {
		t.Errorf("mapped = %+v", m)
	}
	if text := onlyText(t, m.Result); !strings.HasPrefix(text, "WorkerCrashed: ") {
		t.Errorf("text = %q", text)
	}
}
