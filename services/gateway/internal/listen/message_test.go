package listen_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mcpbox/mcpbox/services/gateway/internal/listen"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// FuzzParseMessage: any body either yields one message that agrees with a
// plain decoding of the object (method by exact key, id kept byte for
// byte), or a refusal with the code its kind of defect has: -32700 for
// invalid JSON, -32600 for a batch or anything else.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"x","arguments":{}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":7,"result":{}}`,
		`{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"m"}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, `[]`, `"x"`, `42`, `null`, ``, ` {`, `{"Method":"ping","id":1}`,
		`{"method":"a","method":"b","id":1}`, `{"id":{"x":1},"method":"ping"}`, `{"id":true,"method":"ping"}`,
		`{"id":1e400,"method":"ping"}`, `{"id":-0.5,"method":"ping"}`, "{\"method\":\"\\u0070ing\",\"id\":1}",
		`{"method":null,"id":1}`, `{"method":"ping","id":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, ref := listen.ParseMessage(body)
		if !json.Valid(body) {
			if ref == nil || ref.Code != rpcerr.CodeParseError || ref.Status != 400 {
				t.Fatalf("invalid JSON %q: %+v", body, ref)
			}
			return
		}
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		if trimmed[0] == '[' {
			if ref == nil || ref.Message != listen.MsgBatch {
				t.Fatalf("batch %q: %+v", body, ref)
			}
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			if ref == nil || ref.Code != rpcerr.CodeInvalidRequest {
				t.Fatalf("non-object %q: %+v", body, ref)
			}
			return
		}
		if ref != nil {
			if ref.Code != rpcerr.CodeInvalidRequest || ref.Status != 400 {
				t.Fatalf("%q: %+v", body, ref)
			}
			return
		}
		// Accepted: the exact keys say the same (encoding/json matches keys
		// case-insensitively, so compare only when the exact key is there).
		if raw, ok := exactKey(body, "method"); ok {
			var method string
			if err := json.Unmarshal(raw, &method); err != nil || method != m.Method || method == "" && !m.Response {
				t.Fatalf("%q: method %q vs %s", body, m.Method, raw)
			}
		} else if !m.Response {
			t.Fatalf("%q accepted without a method", body)
		}
		if raw, ok := exactKey(body, "id"); ok != (m.ID != nil) || ok && !bytes.Equal(raw, m.ID) {
			t.Fatalf("%q: id %s vs %s", body, m.ID, raw)
		}
	})
}

// exactKey returns the raw value of the last member named key (exactly).
func exactKey(body []byte, key string) (json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	var (
		out   json.RawMessage
		found bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		if tok == key {
			out, found = v, true
		}
	}
	return out, found
}

// Ids keep their JSON type and bytes; notifications have none.
func TestParseMessageIDs(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"jsonrpc":"2.0","id":42,"method":"ping"}`:    `42`,
		`{"jsonrpc":"2.0","id":"a-1","method":"ping"}`: `"a-1"`,
		`{"jsonrpc":"2.0","id":1.5e3,"method":"ping"}`: `1.5e3`,
		`{"jsonrpc":"2.0","method":"ping"}`:            ``,
	} {
		m, ref := listen.ParseMessage([]byte(body))
		if ref != nil || string(m.ID) != want || m.Method != "ping" {
			t.Errorf("%s: %+v %+v", body, m, ref)
		}
	}
}
