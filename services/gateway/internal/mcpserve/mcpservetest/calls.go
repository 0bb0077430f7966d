package mcpservetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
)

// Call is one call Calls received.
type Call struct {
	Caller caller.Caller
	// Name is the user tool or management tool name.
	Name       string
	Management bool
	Args       json.RawMessage
	// RequestID and CtxCaller are what the call's context carried.
	RequestID string
	CtxCaller caller.Caller
}

// Calls is a fake mcpserve.Calls. By default a user tool of the current
// snapshot answers "ran <name>", any other name the unknown-name text of
// §8.7, and a management tool "managed <tool>". UserFunc and MgmtFunc,
// when set, answer instead. Every call is recorded.
type Calls struct {
	// Snapshot returns the catalog the default answers check.
	Snapshot func() *catalog.Snapshot
	// UserFunc and MgmtFunc replace the default answers.
	UserFunc func(ctx context.Context, c caller.Caller, name string, args json.RawMessage) *mcp.CallToolResult
	MgmtFunc func(ctx context.Context, c caller.Caller, tool proto.ManagementTool, args json.RawMessage) *mcp.CallToolResult

	mu    sync.Mutex
	calls []Call
}

// UnknownToolText is the §8.7 text of an unknown name.
func UnknownToolText(name string) string {
	return fmt.Sprintf("Tool %q does not exist. Call mcpbox_find_tools to see the tools you can run.", name)
}

// User implements mcpserve.Calls.
func (f *Calls) User(ctx context.Context, c caller.Caller, name string, args json.RawMessage) *mcp.CallToolResult {
	f.record(ctx, c, name, false, args)
	if f.UserFunc != nil {
		return f.UserFunc(ctx, c, name, args)
	}
	if f.Snapshot != nil {
		if s := f.Snapshot(); s != nil {
			if _, ok := s.Lookup(name); ok {
				return Text("ran " + name)
			}
		}
	}
	r := Text(UnknownToolText(name))
	r.IsError = true
	return r
}

// Management implements mcpserve.Calls.
func (f *Calls) Management(ctx context.Context, c caller.Caller, tool proto.ManagementTool, args json.RawMessage) *mcp.CallToolResult {
	f.record(ctx, c, string(tool), true, args)
	if f.MgmtFunc != nil {
		return f.MgmtFunc(ctx, c, tool, args)
	}
	return Text("managed " + string(tool))
}

// Calls returns the calls received so far.
func (f *Calls) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

func (f *Calls) record(ctx context.Context, c caller.Caller, name string, mgmt bool, args json.RawMessage) {
	ctxCaller, _ := caller.FromContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{
		Caller: c, Name: name, Management: mgmt, Args: append(json.RawMessage(nil), args...),
		RequestID: obs.RequestID(ctx), CtxCaller: ctxCaller,
	})
}

// Text is a result with one text item.
func Text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}
