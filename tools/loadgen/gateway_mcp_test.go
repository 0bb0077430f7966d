package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// reply is an HTTP answer to build.
type reply struct {
	status            int
	contentType, body string
}

// answer is an HTTP answer as the client receives it.
func answer(status int, contentType, body string) *http.Response {
	rec := httptest.NewRecorder()
	if contentType != "" {
		rec.Header().Set("Content-Type", contentType)
	}
	rec.WriteHeader(status)
	_, _ = io.WriteString(rec, body)
	return rec.Result()
}

func TestReadResponse(t *testing.T) {
	t.Parallel()
	const sse = "text/event-stream"
	tests := []struct {
		name        string
		resp        reply
		wantKind    string // "" for success
		wantText    string // in the failure text
		wantResult  string
		wantErrCode int
	}{
		{
			name: "SSE with progress first",
			resp: reply{200, sse, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n" +
				": keepalive\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[]}}\n\n"},
			wantResult: `{"content":[]}`,
		},
		{
			name:       "JSON body",
			resp:       reply{200, "application/json; charset=utf-8", `{"jsonrpc":"2.0","id":7,"result":{"tools":[]}}`},
			wantResult: `{"tools":[]}`,
		},
		{
			name:        "JSON-RPC error in the stream",
			resp:        reply{200, sse, "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32602,\"message\":\"bad params\"}}\n\n"},
			wantErrCode: -32602,
		},
		{name: "another id", resp: reply{200, sse, "data: {\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{}}\n\n"}, wantKind: errKindProtocol, wantText: "ended without the response"},
		{name: "string id 7 is not 7", resp: reply{200, sse, "data: {\"jsonrpc\":\"2.0\",\"id\":\"7\",\"result\":{}}\n\n"}, wantKind: errKindProtocol},
		{name: "event not JSON", resp: reply{200, sse, "data: hello\n\n"}, wantKind: errKindProtocol, wantText: "hello"},
		{name: "stream cut off", resp: reply{200, sse, "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}"}, wantKind: errKindProtocol},
		{name: "JSON body with another id", resp: reply{200, "application/json", `{"jsonrpc":"2.0","id":1,"result":{}}`}, wantKind: errKindProtocol},
		{name: "HTML", resp: reply{200, "text/html", "<html>"}, wantKind: errKindProtocol, wantText: "text/html"},
		{
			name:     "gateway refusal",
			resp:     reply{429, "application/json", `{"jsonrpc":"2.0","id":null,"error":{"code":-32081,"message":"Rate limit exceeded."}}`},
			wantKind: "http_429", wantText: "JSON-RPC error -32081: Rate limit exceeded.",
		},
		{name: "plain 404", resp: reply{404, "text/plain", "session not found\n"}, wantKind: "http_404", wantText: "status 404: session not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := answer(tt.resp.status, tt.resp.contentType, tt.resp.body)
			defer func() { _ = resp.Body.Close() }()
			m, f := readResponse(resp, "7")
			switch {
			case tt.wantKind != "":
				if f == nil || f.kind != tt.wantKind || !strings.Contains(f.text, tt.wantText) {
					t.Errorf("failure %v, want kind %s with %q", f, tt.wantKind, tt.wantText)
				}
			case f != nil:
				t.Errorf("failure %v", f)
			case tt.wantErrCode != 0:
				if m.Error == nil || m.Error.Code != tt.wantErrCode {
					t.Errorf("error %+v, want code %d", m.Error, tt.wantErrCode)
				}
			case string(m.Result) != tt.wantResult:
				t.Errorf("result %s, want %s", m.Result, tt.wantResult)
			}
		})
	}
}

func TestCheckResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, era, method, result string
		wantKind                  string
	}{
		{"call ok", eraInitialize, methodCall, `{"content":[{"type":"text","text":"{\"sum\":42}"}],"structuredContent":{"sum":42}}`, ""},
		{"modern call ok", eraModern, methodCall, `{"content":[],"resultType":"complete"}`, ""},
		{"modern without resultType", eraModern, methodCall, `{"content":[]}`, errKindProtocol},
		{"modern input required", eraModern, methodCall, `{"content":[],"resultType":"input_required"}`, errKindProtocol},
		{"tool error", eraInitialize, methodCall, `{"content":[{"type":"text","text":"boom"}],"isError":true}`, errKindTool},
		{"call without content", eraInitialize, methodCall, `{}`, errKindProtocol},
		{"list ok", eraInitialize, methodList, `{"tools":[{"name":"a"}],"nextCursor":"x"}`, ""},
		{"list without tools", eraInitialize, methodList, `{"content":[]}`, errKindProtocol},
		{"content not an array", eraInitialize, methodCall, `{"content":{}}`, errKindProtocol},
	}
	for _, tt := range tests {
		f := checkResult(tt.era, tt.method, json.RawMessage(tt.result))
		if (f == nil) != (tt.wantKind == "") || (f != nil && f.kind != tt.wantKind) {
			t.Errorf("%s: failure %v, want kind %q", tt.name, f, tt.wantKind)
		}
	}
	if f := checkResult(eraInitialize, methodCall, json.RawMessage(`{"content":[{"type":"image"},{"type":"text","text":"boom"}],"isError":true}`)); f == nil || f.text != "isError: boom" {
		t.Errorf("tool error text %v, want the first text item", f)
	}
}

// The modern era's requests carry the _meta of 2026-07-28 and the tool's name for Mcp-Name; the initialize era's
// carry nothing extra.
func TestNewRequestEras(t *testing.T) {
	t.Parallel()
	modern := &mcpClient{era: eraModern}
	r, err := modern.newRequest("tools/call", map[string]any{"name": "e2e__add", "arguments": json.RawMessage(`{"a":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"jsonrpc":"2.0","id":1` + string(r.tail)
	var got struct {
		Method string `json:"method"`
		Params struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
			Meta      map[string]any  `json:"_meta"`
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if r.method != "tools/call" || r.name != "e2e__add" || got.Method != "tools/call" || string(got.Params.Arguments) != `{"a":2}` {
		t.Errorf("request %+v, body %s", r, body)
	}
	if got.Params.Meta[metaProtocolVersion] != modernVersion || got.Params.Meta[metaClientCapabilities] == nil || got.Params.Meta[metaClientInfo] == nil {
		t.Errorf("_meta %v", got.Params.Meta)
	}

	old := &mcpClient{era: eraInitialize}
	r, err = old.newRequest("tools/list", nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.tail) != `,"method":"tools/list"}` || r.name != "" {
		t.Errorf("initialize-era tools/list: tail %s, name %q", r.tail, r.name)
	}
}

// Answers are untrusted input: reading and checking them never panics, and a success has an object result.
func FuzzReadResponse(f *testing.F) {
	f.Add(200, "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[],\"isError\":true}}\n\n")
	f.Add(200, "application/json", `{"jsonrpc":"2.0","id":7,"result":{"tools":null}}`)
	f.Add(503, "application/json", `{"jsonrpc":"2.0","id":null,"error":{"code":-32082,"message":"x"}}`)
	f.Add(200, "text/event-stream; charset=utf-8", "data: {\"id\":7}\r\rdata: [1]\n\n")
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 100 || status > 999 {
			return
		}
		resp := answer(status, contentType, body)
		defer func() { _ = resp.Body.Close() }()
		m, fail := readResponse(resp, "7")
		if fail != nil {
			if fail.kind == "" || fail.text == "" {
				t.Fatalf("failure without kind or text: %+v", fail)
			}
			return
		}
		if status != http.StatusOK {
			t.Fatalf("status %d read as a response", status)
		}
		for _, era := range []string{eraInitialize, eraModern} {
			for _, method := range []string{methodCall, methodList} {
				_ = checkResult(era, method, m.Result)
			}
		}
	})
}
