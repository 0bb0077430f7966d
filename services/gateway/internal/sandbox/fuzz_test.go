package sandbox

import (
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// FuzzDecodeAnswer feeds arbitrary 200 bodies and error bodies to the
// decoders: they never panic, and an answer is either accepted with the
// contract kept or refused as an invalid answer.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"ok":true,"result":{"a":1},"content_text":"{\"a\":1}","structured":true}`,
		`{"ok":false,"result":null,"error":{"type":"ToolError","message":"x","line":3}}`,
		`{"ok":true,"result":{"content":[]},"session":"new"}`,
		`{"ok":false,"error":{"type":"EgressDenied","message":"no"}}`,
		`{"error":{"code":"hash_mismatch","message":"m"}}`,
		`{"ok":true}`, `null`, `[]`, `{"ok":"yes"}`, ``, `{"result":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var ex proto.ExecuteResponse
		o := decodeAnswer(body, &ex, func() error { return checkExecute(&ex) })
		checkOutcome(t, o)
		if o.err == nil && (ex.OK != (ex.Error == nil) || (ex.OK && len(ex.Result) == 0)) {
			t.Errorf("accepted an execute answer that breaks the contract: %s", body)
		}
		var mc proto.MCPCallResponse
		o = decodeAnswer(body, &mc, func() error { return checkMCPCall(&mc) })
		checkOutcome(t, o)
		if o.err == nil && mc.OK && !isObject(mc.Result) {
			t.Errorf("accepted an mcp_call answer without an object result: %s", body)
		}
		if e := decodeErrorBody(body); e != nil && e.Code == "" {
			t.Errorf("decodeErrorBody accepted a body without a code: %s", body)
		}
	})
}

func checkOutcome(t *testing.T, o outcome) {
	t.Helper()
	switch {
	case o.err == nil && (o.verdict != success || o.result != resultOK):
		t.Errorf("accepted answer with verdict %d, result %q", o.verdict, o.result)
	case o.err != nil && (o.err.Kind != NoResult || o.err.Cause != CauseInvalidAnswer || o.verdict != neutral):
		t.Errorf("refused answer as %+v, verdict %d", o.err, o.verdict)
	}
}
