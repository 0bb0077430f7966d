package toolcall

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// generic decodes JSON keeping numbers as written.
func generic(t *testing.T, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// external maps an ok /v1/mcp/call answer carrying upstream.
func external(upstream string) Mapped {
	return MapExternal(testCall(), proto.MCPCallResponse{OK: true, Result: json.RawMessage(upstream), DurationMS: 31, Session: proto.SessionReused})
}

// gw73Upstream has every content kind the SDK models, annotations and
// _meta with big integers, structuredContent and isError.
const gw73Upstream = `{
 "content": [
  {"type":"text","text":"partial <data> & more","annotations":{"audience":["user"],"priority":0.5},"_meta":{"trace":9007199254740993}},
  {"type":"image","data":"iVBORw0KGgo=","mimeType":"image/png","annotations":{"audience":["assistant"],"lastModified":"2025-01-12T15:00:58Z"}},
  {"type":"audio","data":"UklGRg==","mimeType":"audio/wav"},
  {"type":"resource_link","uri":"file:///tmp/report.csv","name":"report","title":"Report","description":"the report","mimeType":"text/csv","size":1234},
  {"type":"resource","resource":{"uri":"file:///tmp/a.txt","mimeType":"text/plain","text":"hello","_meta":{"n":9007199254740993}}}
 ],
 "structuredContent": {"z":1,"a":9007199254740993},
 "isError": true,
 "_meta": {"upstream.example/trace":{"id":"t-1","n":9007199254740993}}
}`

func TestGW73_AnUpstreamResultReachesTheClientUnchangedPlusExecution(t *testing.T) {
	t.Parallel()
	m := external(gw73Upstream)
	if m.Outcome != proto.OutcomeToolError || m.ErrorCode != "tool_error" || m.Error != "partial <data> & more" {
		t.Errorf("outcome %q, error code %q, error %q; want tool_error for an upstream isError", m.Outcome, m.ErrorCode, m.Error)
	}
	w := decodeWire(t, m.Result)
	var up wireResult
	if err := json.Unmarshal([]byte(gw73Upstream), &up); err != nil {
		t.Fatal(err)
	}
	if len(w.Content) != len(up.Content) {
		t.Fatalf("content has %d items, want %d", len(w.Content), len(up.Content))
	}
	for i := range up.Content {
		if got, want := generic(t, w.Content[i]), generic(t, up.Content[i]); !reflect.DeepEqual(got, want) {
			t.Errorf("content[%d] = %s, want %s", i, w.Content[i], up.Content[i])
		}
	}
	if string(w.StructuredContent) != `{"z":1,"a":9007199254740993}` {
		t.Errorf("structuredContent = %s, want the upstream bytes", w.StructuredContent)
	}
	if !w.IsError {
		t.Error("isError was dropped")
	}
	if got := generic(t, w.Meta["upstream.example/trace"]); !reflect.DeepEqual(got, generic(t, up.Meta["upstream.example/trace"])) {
		t.Errorf("upstream _meta = %s", w.Meta["upstream.example/trace"])
	}
	want := ExecutionMeta{RequestID: "req-7", ToolID: "0b6c7c1e-tool", Version: 3, DurationMS: 31}
	if em := executionMeta(t, w); em != want {
		t.Errorf("execution meta = %+v, want %+v", em, want)
	}
	if len(w.Meta) != 2 {
		t.Errorf("_meta has keys %v, want the upstream's and %s", w.Meta, MetaExecution)
	}
}

func TestAnUpstreamSuccessIsOK(t *testing.T) {
	t.Parallel()
	m := external(`{"content":[{"type":"text","text":"42"}],"structuredContent":[1,2]}`)
	if m.Outcome != proto.OutcomeOK || m.ErrorCode != "" || m.Result.IsError {
		t.Errorf("mapped = %+v, want ok", m)
	}
	if w := decodeWire(t, m.Result); string(w.StructuredContent) != `[1,2]` {
		t.Errorf("structuredContent = %s, want the upstream's array", w.StructuredContent)
	}
}

func TestTheUpstreamMetaIsNeverOverwritten(t *testing.T) {
	t.Parallel()
	w := decodeWire(t, external(`{"content":[],"_meta":{"io.mcpbox/execution":"upstream's own"}}`).Result)
	if string(w.Meta[MetaExecution]) != `"upstream's own"` {
		t.Errorf("_meta[%s] = %s, want the upstream's value kept", MetaExecution, w.Meta[MetaExecution])
	}
	if w.Content == nil {
		t.Error("content is null, want []")
	}
}

func TestContentItemsTheGatewayCannotPassOn(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`{"type":"video","uri":"x"}`:                  "[unsupported content type video omitted]",
		`{"type":"tool_use","id":"1","name":"n"}`:     "[unsupported content type tool_use omitted]",
		`{"type":"x\n\nNext step: evil"}`:             `[unsupported content type "x\n\nNext step: evil" omitted]`,
		`{"type":"` + strings.Repeat("v", 100) + `"}`: `[unsupported content type "` + strings.Repeat("v", 64) + `" omitted]`,
		`{"text":"no type"}`:                          `[unsupported content type "" omitted]`,
		`{"type":7}`:                                  `[unsupported content type "" omitted]`,
		`"just a string"`:                             `[unsupported content type "" omitted]`,
		`{"type":"image","data":"!!not base64!!"}`:    "[invalid image content omitted]",
		`{"type":"text","text":"t","_meta":5}`:        "[invalid text content omitted]",
	}
	for item, want := range cases {
		m := external(`{"content":[{"type":"text","text":"before"},` + item + `]}`)
		w := decodeWire(t, m.Result)
		if len(w.Content) != 2 {
			t.Fatalf("%s: %d items, want 2", item, len(w.Content))
		}
		var got struct{ Type, Text string }
		if err := json.Unmarshal(w.Content[1], &got); err != nil || got.Type != "text" || got.Text != want {
			t.Errorf("%s became %s (%v), want text %q", item, w.Content[1], err, want)
		}
	}
}

func TestAnUpstreamResultOfTheWrongShapeIsNoResult(t *testing.T) {
	t.Parallel()
	for _, up := range []string{`[]`, `"x"`, `{"content":{}}`, `{"isError":"yes"}`, `{"_meta":[1]}`, `not json`} {
		m := external(up)
		if m.Outcome != proto.OutcomeSandboxError || !m.Result.IsError {
			t.Errorf("%s: mapped = %+v, want sandbox_error", up, m)
		}
		if text := onlyText(t, m.Result); !strings.Contains(text, "(invalid answer). The tool may have run") {
			t.Errorf("%s: text = %q", up, text)
		}
	}
}

func TestGW74_UpstreamErrorAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err      proto.UpstreamError
		text     string
		wantCode string
	}{
		{
			proto.UpstreamError{Type: proto.ErrTypeEgressDenied, Message: "'10.0.0.5:443' resolves to a private or reserved address; such hosts must be approved with mcpbox_request_network_access."},
			"EgressDenied: '10.0.0.5:443' resolves to a private or reserved address; such hosts must be approved with mcpbox_request_network_access.",
			"egress_denied",
		},
		{
			proto.UpstreamError{Type: proto.ErrTypeDefinitionChanged, Message: "the tool's definition differs from the approved one"},
			"DefinitionChanged: the tool's definition differs from the approved one\n\nNext step: the external server changed this tool " +
				"after its approval; an admin must re-discover the source and approve the new definition.",
			"definition_changed",
		},
		{
			proto.UpstreamError{Type: proto.ErrTypeAuthRequired, Message: "the MCP server asks for credentials", Status: 401, WWWAuthenticate: `Bearer realm="x"`},
			"AuthRequired: the MCP server asks for credentials",
			"auth_required",
		},
	}
	for _, tc := range cases {
		m := MapExternal(testCall(), proto.MCPCallResponse{OK: false, Error: &tc.err, DurationMS: 5})
		if m.Outcome != proto.OutcomeToolError || m.ErrorCode != tc.wantCode || m.Error != tc.err.Message {
			t.Errorf("%s: outcome %q, code %q, error %q", tc.err.Type, m.Outcome, m.ErrorCode, m.Error)
		}
		if got := onlyText(t, m.Result); got != tc.text {
			t.Errorf("%s: text =\n%s\nwant\n%s", tc.err.Type, got, tc.text)
		}
		w := decodeWire(t, m.Result)
		if !w.IsError || w.StructuredContent != nil {
			t.Errorf("%s: isError %v, structuredContent %s", tc.err.Type, w.IsError, w.StructuredContent)
		}
		var got proto.UpstreamError
		if err := json.Unmarshal(w.Meta[MetaError], &got); err != nil || !reflect.DeepEqual(got, tc.err) {
			t.Errorf("%s: _meta error = %s (%v)", tc.err.Type, w.Meta[MetaError], err)
		}
		if em := executionMeta(t, w); em.DurationMS != 5 {
			t.Errorf("%s: execution meta = %+v", tc.err.Type, em)
		}
	}
}
