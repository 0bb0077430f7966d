// Package toolcall is the one call path of tools/call and mcpbox_run_tool
// (gateway.md §8). The result_*.go files map what the sandbox answered, or
// why it could not answer, to the MCP CallToolResult the LLM reads (§8.5,
// §8.6): pure functions, no I/O.
//
// Results are never decoded into Go maps: a tool's result goes out as the
// raw bytes the sandbox sent (json.RawMessage), so big integers and key
// order survive. The SDK encodes a CallToolResult with json.Marshal, which
// compacts those bytes and escapes <, > and & as \u003c, \u003e and
// \u0026 inside strings: the same JSON value, not the same bytes
// (result_test.go pins this).
package toolcall

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
)

// Keys of the gateway's entries in a result's _meta (gateway.md §8.5).
const (
	MetaExecution = "io.mcpbox/execution"
	MetaError     = "io.mcpbox/error"
)

// Call identifies the user-tool call a result belongs to.
type Call struct {
	// RequestID is the call's X-Request-Id.
	RequestID string
	// ToolID and Version are the catalog entry's.
	ToolID  string
	Version int
	// ExposedName is the name the client called (<server>__<tool>).
	ExposedName string
	// Limits are the plan's; the Timeout and MemoryLimitExceeded hints
	// name them.
	Limits proto.Limits
	// Elapsed is the gateway's measure of the call so far; it is the
	// duration_ms of results without a sandbox answer (with an answer,
	// duration_ms is the sandbox's own measure, queueing excluded).
	Elapsed time.Duration
}

// ExecutionMeta is _meta["io.mcpbox/execution"], carried by every result
// (most clients do not show _meta to the model, so stdout stays out of the
// way on success).
type ExecutionMeta struct {
	RequestID       string `json:"request_id"`
	ToolID          string `json:"tool_id"`
	Version         int    `json:"version"`
	DurationMS      int64  `json:"duration_ms"`
	Stdout          string `json:"stdout"`
	StdoutTruncated bool   `json:"stdout_truncated"`
}

// Mapped is a result with what the execution record and the metrics need.
type Mapped struct {
	// Result is what the client receives.
	Result *mcp.CallToolResult
	// Outcome is the call's outcome (gateway.md §9).
	Outcome proto.Outcome
	// ErrorCode is the record's error_code: "" for ok; for tool_error the
	// sandbox's error type in snake_case ("egress_denied"), or "tool_error"
	// for an external tool's isError; otherwise the outcome.
	ErrorCode string
	// Error is the record's error message ("" for ok).
	Error string
}

// meta returns the execution entry of c with the sandbox's figures.
func (c Call) meta(durationMS int64, stdout string, truncated bool) ExecutionMeta {
	return ExecutionMeta{
		RequestID: c.RequestID, ToolID: c.ToolID, Version: c.Version,
		DurationMS: durationMS, Stdout: stdout, StdoutTruncated: truncated,
	}
}

// MapExecute maps a /v1/execute answer (sandbox.md §4.2.4) per the table
// of gateway.md §8.5.
func MapExecute(c Call, resp proto.ExecuteResponse) Mapped {
	em := c.meta(resp.DurationMS, resp.Stdout, resp.StdoutTruncated)
	if !resp.OK {
		return mapToolError(c, resp, em)
	}
	text := resp.ContentText
	if text == "" {
		text = successText(resp.Result)
	}
	r := &mcp.CallToolResult{
		Meta:    mcp.Meta{MetaExecution: em},
		Content: []mcp.Content{&mcp.TextContent{Text: text}},
	}
	// structured: true promises an object; structuredContent must be one
	// (MCP), so a broken promise is sent as text only.
	if resp.Structured && isObject(resp.Result) {
		r.StructuredContent = json.RawMessage(bytes.Clone(resp.Result))
	}
	return Mapped{Result: r, Outcome: proto.OutcomeOK}
}

// mapToolError maps ok: false. The text is the sandbox's content_text
// (which already holds the stdout and detail sections, sandbox.md §4.2.6),
// rebuilt by ErrorText only when it is missing or does not start with
// "<type>: ", then the hint. Errors never carry structuredContent.
func mapToolError(c Call, resp proto.ExecuteResponse, em ExecutionMeta) Mapped {
	e := resp.Error
	if e == nil { // the client refuses such answers; be safe anyway
		e = &proto.ExecutionError{Type: proto.ErrTypeWorkerCrashed, Message: "the sandbox reported a failure without an error"}
	}
	text := resp.ContentText
	if !strings.HasPrefix(text, string(e.Type)+": ") {
		text = proto.FailureText(e, resp.Stdout)
	}
	if hint := NextStep(c, e); hint != "" {
		text += "\n\nNext step: " + hint
	}
	r := &mcp.CallToolResult{
		Meta:    mcp.Meta{MetaExecution: em, MetaError: e},
		Content: []mcp.Content{&mcp.TextContent{Text: text}},
		IsError: true,
	}
	return Mapped{Result: r, Outcome: proto.OutcomeToolError, ErrorCode: e.Type.SnakeCase(), Error: e.Message}
}

// successText is content_text rebuilt from result when the sandbox sent
// none: the string itself, else compact JSON (json.Compact does not escape
// HTML), else the bytes as they are.
func successText(result json.RawMessage) string {
	var s string
	if json.Unmarshal(result, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, result) == nil {
		return buf.String()
	}
	return string(result)
}

// isObject reports whether raw is a JSON object, by its first byte.
func isObject(raw json.RawMessage) bool {
	b := bytes.TrimLeft(raw, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
