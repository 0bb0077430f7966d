package toolcall

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
)

// FuzzMapExternal feeds arbitrary upstream results (what an external MCP
// server sent, relayed by the sandbox) to MapExternal: it never panics and
// always yields a result the SDK can encode and an SDK client can decode,
// with content as an array, the execution entry in _meta and a known
// outcome.
func FuzzMapExternal(f *testing.F) {
	for _, s := range []string{
		gw73Upstream,
		`{}`, `{"content":null}`, `{"content":[]}`, `{"content":[null]}`, `{"content":[{}]}`,
		`{"content":[{"type":"text","text":"<&>"}],"isError":false,"structuredContent":{"a":9007199254740993}}`,
		`{"content":[{"type":"image","data":"AA==","mimeType":"image/png","_meta":{"k":[1,2]}}]}`,
		`{"content":[{"type":"resource","resource":{"uri":"u","blob":"AA==","_meta":{"x":1}}}]}`,
		`{"content":[{"type":"resource","resource":null}]}`,
		`{"content":[{"type":"resource_link","uri":"u","name":"n","size":-1,"icons":[{"src":"s"}]}]}`,
		`{"content":[{"type":"tool_result","toolUseId":"1","content":[]}]}`,
		`{"content":[{"type":"text","text":"x","annotations":{"priority":"high"}}]}`,
		`{"_meta":{"io.mcpbox/execution":null},"structuredContent":null}`,
		`{"isError":true,"content":"text"}`, `[]`, `null`, `1`, `"s"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := MapExternal(testCall(), proto.MCPCallResponse{OK: true, Result: raw})
		if m.Result == nil || m.Result.Content == nil {
			t.Fatalf("no result or null content for %q", raw)
		}
		if !slices.Contains(proto.Outcomes(), m.Outcome) {
			t.Fatalf("unknown outcome %q", m.Outcome)
		}
		if (m.Outcome == proto.OutcomeOK) == m.Result.IsError {
			t.Errorf("outcome %q with isError %v", m.Outcome, m.Result.IsError)
		}
		b, err := json.Marshal(m.Result)
		if err != nil {
			t.Fatalf("the SDK cannot encode the result of %q: %v", raw, err)
		}
		var back mcp.CallToolResult
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("an SDK client cannot decode %s (from %q): %v", b, raw, err)
		}
		if _, ok := back.Meta[MetaExecution]; !ok {
			t.Errorf("no %s in %s", MetaExecution, b)
		}
		if len(back.Content) != len(m.Result.Content) {
			t.Errorf("content lost on the wire: %s", b)
		}
	})
}

// FuzzMapExecute feeds arbitrary /v1/execute answers to MapExecute: it
// never panics, errors never carry structuredContent, structuredContent is
// always an object, and the SDK can encode and decode the result.
func FuzzMapExecute(f *testing.F) {
	for _, s := range []string{
		`{"ok":true,"result":{"a":"<&>","n":9007199254740993},"content_text":"{\"a\":\"<&>\",\"n\":9007199254740993}","structured":true}`,
		`{"ok":true,"result":"s","content_text":"s"}`,
		`{"ok":true,"result":[1],"structured":true}`,
		`{"ok":false,"result":null,"stdout":"out","error":{"type":"EgressDenied","message":"m","http":{"method":"GET","url":"https://h:8443/x","status":0}}}`,
		`{"ok":false,"error":{"type":"ImportError","message":"package \"x/y\" is not approved","line":2,"column":8,"context":">>2 | import \"x/y\""}}`,
		`{"ok":false,"content_text":"Timeout: m","error":{"type":"Timeout","message":"m"}}`,
		`{"ok":false}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var resp proto.ExecuteResponse
		if json.Unmarshal(body, &resp) != nil {
			return
		}
		m := MapExecute(testCall(), resp)
		if m.Result == nil || len(m.Result.Content) != 1 {
			t.Fatalf("want one content item, got %+v", m.Result)
		}
		if m.Result.IsError && m.Result.StructuredContent != nil {
			t.Errorf("an error result carries structuredContent: %s", body)
		}
		if sc, ok := m.Result.StructuredContent.(json.RawMessage); m.Result.StructuredContent != nil && (!ok || !isObject(sc)) {
			t.Errorf("structuredContent is not an object: %s", body)
		}
		b, err := json.Marshal(m.Result)
		if err != nil {
			t.Fatalf("the SDK cannot encode the result of %s: %v", body, err)
		}
		var back mcp.CallToolResult
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("an SDK client cannot decode %s: %v", b, err)
		}
	})
}
