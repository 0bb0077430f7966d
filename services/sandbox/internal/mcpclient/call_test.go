package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
)

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, got, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("result is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("result differs (-want +got):\n%s", d)
	}
}

func TestSB80_CallResultPassthroughAndErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	mixed := &mcp.Tool{
		Name: "mixed", Description: "text, image and structured output",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}
	f.addTool(mixed, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{
			Content: []mcp.Content{
				&mcp.TextContent{Text: "first"},
				&mcp.ImageContent{Data: []byte{0x89, 'P', 'N', 'G'}, MIMEType: "image/png"},
				&mcp.TextContent{Text: "last"},
			},
			StructuredContent: map[string]any{"n": 1.5, "list": []any{"a", nil}},
			Meta:              mcp.Meta{"trace": "t1"},
		}, nil
	})
	failing := &mcp.Tool{Name: "failing"}
	f.addTool(failing, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "quota exceeded"}}}, nil
	})
	rpc := &mcp.Tool{Name: "rpc"}
	f.addTool(rpc, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return nil, &jsonrpc.Error{Code: -32042, Message: "upstream refused"}
	})
	exotic := &mcp.Tool{Name: "exotic"}
	f.addTool(exotic, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		t.Error("the exotic tool is answered by the middleware")
		return nil, errors.New("unreachable")
	})
	// Content types and fields the SDK does not model, in a deliberate key
	// order and spacing: they must come back byte for byte.
	exoticResult := json.RawMessage(`{"content":[{"type":"hologram","frames":[1,2,3]},{"type":"text","text":"ok","x-extra":{"k":true}}],` +
		`"structuredContent":{"b":1,"a":[1e400]},"isError":false,"_meta":{"vendor/x":7},"extension":"kept"}`)
	f.mu.Lock()
	f.exotic = exoticResult
	f.mu.Unlock()
	c := newTestClient(t, plainClient(t), Options{})
	ctx := t.Context()

	resp, err := c.Call(ctx, pin(t, f.srv.URL, mixed, `{}`))
	if err != nil || !resp.OK {
		t.Fatalf("mixed: %v %+v", err, resp.Error)
	}
	jsonEqual(t, resp.Result, json.RawMessage(`{"content":[{"type":"text","text":"first"},`+
		`{"type":"image","data":"iVBORw==","mimeType":"image/png"},{"type":"text","text":"last"}],`+
		`"structuredContent":{"n":1.5,"list":["a",null]},"_meta":{"trace":"t1"}}`))

	resp, err = c.Call(ctx, pin(t, f.srv.URL, failing, `{}`))
	if err != nil || !resp.OK {
		t.Fatalf("isError: %v %+v", err, resp.Error)
	}
	jsonEqual(t, resp.Result, json.RawMessage(`{"content":[{"type":"text","text":"quota exceeded"}],"isError":true}`))

	resp, err = c.Call(ctx, pin(t, f.srv.URL, exotic, `{"q":1}`))
	if err != nil || !resp.OK {
		t.Fatalf("exotic: %v %+v", err, resp.Error)
	}
	if string(resp.Result) != string(exoticResult) {
		t.Errorf("exotic result not verbatim:\n got %s\nwant %s", resp.Result, exoticResult)
	}

	resp, err = c.Call(ctx, pin(t, f.srv.URL, rpc, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.OK || resp.Error == nil || resp.Error.Type != proto.ErrTypeRPCError || resp.Error.RPCCode == nil || *resp.Error.RPCCode != -32042 {
		t.Fatalf("rpc error: %+v", resp.Error)
	}
	if !strings.Contains(resp.Error.Message, "upstream refused") {
		t.Errorf("rpc message %q", resp.Error.Message)
	}

	// A definition changed upstream: refused without calling the tool.
	before := f.calls.Load()
	stale := *mixed
	stale.Description = "the description the admin approved"
	changed := pin(t, f.srv.URL, &stale, `{}`)
	resp, err = c.Call(ctx, changed)
	if err != nil {
		t.Fatal(err)
	}
	if resp.OK || resp.Error == nil || resp.Error.Type != proto.ErrTypeDefinitionChanged {
		t.Fatalf("changed definition: %+v", resp.Error)
	}
	gone := pin(t, f.srv.URL, &mcp.Tool{Name: "removed", InputSchema: json.RawMessage(`{"type":"object"}`)}, `{}`)
	resp, _ = c.Call(ctx, gone)
	if resp.Error == nil || resp.Error.Type != proto.ErrTypeDefinitionChanged {
		t.Fatalf("removed tool: %+v", resp.Error)
	}
	if n := f.calls.Load(); n != before {
		t.Errorf("tool executed %d times after DefinitionChanged", n-before)
	}
}

func TestCallHashMismatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	tool := &mcp.Tool{Name: "t"}
	f.addTool(tool, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{}, nil
	})
	c := newTestClient(t, plainClient(t), Options{})
	req := pin(t, f.srv.URL, tool, `{}`)
	req.Definition.Description = "tampered"
	if _, err := c.Call(t.Context(), req); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("err = %v, want ErrHashMismatch", err)
	}
	req = pin(t, f.srv.URL, tool, `{}`)
	req.Tool = "other"
	if _, err := c.Call(t.Context(), req); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("err = %v, want ErrInvalidRequest", err)
	}
	if f.calls.Load() != 0 || f.inits.Load() != 0 {
		t.Errorf("upstream contacted: calls %d inits %d", f.calls.Load(), f.inits.Load())
	}
}
