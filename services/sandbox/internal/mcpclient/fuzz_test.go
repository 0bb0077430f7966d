package mcpclient

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// FuzzRewriteMessage: the rewriter of upstream JSON-RPC messages (untrusted
// input) never panics, captures the raw result of the matching response
// exactly, and whatever it rewrites still decodes as a JSON-RPC message.
func FuzzRewriteMessage(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"hologram","x":1}],"structuredContent":{"a":1},"isError":false}}`), true)
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"t"}],"nextCursor":"c","ttl":5}}`), false)
	f.Add([]byte(`{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"x"}}`), true)
	f.Add([]byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`), true)
	f.Add([]byte(`not json`), false)
	f.Fuzz(func(t *testing.T, data []byte, call bool) {
		method := methodListTools
		if call {
			method = methodCallTool
		}
		id, err := jsonrpc.MakeID(float64(1))
		if err != nil {
			t.Fatal(err)
		}
		obs := &observer{}
		out := rewriteMessage(data, method, id, obs)
		raw, captured := obs.result(method)
		if !bytes.Equal(out, data) {
			if !captured || !json.Valid(raw) {
				t.Fatalf("rewrote %q without capturing a valid raw result", data)
			}
			if _, err := jsonrpc.DecodeMessage(out); err != nil {
				t.Fatalf("rewritten message does not decode: %v (%q)", err, out)
			}
		}
	})
}

// FuzzSSERewriter: the SSE stream rewriter never panics on arbitrary
// streams and passes through every stream that holds no matching response.
func FuzzSSERewriter(f *testing.F) {
	f.Add([]byte("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n"))
	f.Add([]byte("data: {\"jsonrpc\":\"2.0\",\n data: \"id\":1}\n\n: ping\n\n"))
	f.Add([]byte("data:\r\n\r\nid: 7\nretry: 10\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		id, err := jsonrpc.MakeID(float64(1))
		if err != nil {
			t.Fatal(err)
		}
		obs := &observer{}
		r := &sseRewriter{src: bufio.NewReader(bytes.NewReader(stream)), closer: io.NopCloser(nil), method: methodCallTool, id: id, obs: obs}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, captured := obs.result(methodCallTool); !captured && !bytes.Equal(out, stream) {
			t.Fatalf("stream changed without a captured response:\n in %q\nout %q", stream, out)
		}
	})
}
