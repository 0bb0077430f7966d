package toolcall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/redact"
	"github.com/mcpbox/mcpbox/services/gateway/internal/sandbox"
)

// definitionChangedHint is the Next step of a DefinitionChanged answer
// (gateway.md §8.6).
const definitionChangedHint = "the external server changed this tool after its approval; " +
	"an admin must re-discover the source and approve the new definition."

// maxTypeLabel bounds how much of an unknown content type is echoed.
const maxTypeLabel = 64

// MapExternal maps a /v1/mcp/call answer (gateway.md §8.6). The upstream
// CallToolResult is returned faithfully: every content item the SDK models
// (text, image, audio, resource_link, resource) with its annotations and
// _meta, structuredContent as the raw bytes, isError as sent, and the
// upstream _meta with io.mcpbox/execution added unless the upstream already
// uses that key. Decisions where the spec is silent:
//   - _meta values (of the result and of items) stay raw JSON, so numbers
//     survive; their keys come out sorted (a JSON object's key order is
//     not significant, and mcp.Meta is a map);
//   - tool_use and tool_result items, which the SDK models for sampling
//     only, and any other kind count as unsupported;
//   - an item of a known kind that the SDK cannot decode (bad base64, a
//     non-object _meta) becomes "[invalid <t> content omitted]";
//   - fields of an item the SDK does not model, and top-level fields other
//     than content, structuredContent, isError and _meta, are dropped;
//   - a result that is not a CallToolResult at all (not an object, content
//     not an array, isError not a boolean) is an unreadable answer:
//     outcome sandbox_error, "may have run".
func MapExternal(c Call, resp proto.MCPCallResponse) Mapped {
	em := c.meta(resp.DurationMS, "", false)
	if !resp.OK {
		return mapUpstreamError(c, resp.Error, em)
	}
	up, err := parseUpstream(resp.Result)
	if err != nil {
		return NoResult(c, sandbox.CauseInvalidAnswer)
	}
	meta := make(mcp.Meta, len(up.meta)+1)
	for k, v := range up.meta {
		meta[k] = v
	}
	if _, taken := meta[MetaExecution]; !taken {
		meta[MetaExecution] = em
	}
	content := make([]mcp.Content, 0, len(up.content))
	for _, item := range up.content {
		content = append(content, contentItem(item))
	}
	r := &mcp.CallToolResult{Meta: meta, Content: content, IsError: up.isError}
	if up.structured != nil {
		r.StructuredContent = up.structured
	}
	if !up.isError {
		return Mapped{Result: r, Outcome: proto.OutcomeOK}
	}
	return Mapped{Result: r, Outcome: proto.OutcomeToolError, ErrorCode: string(proto.OutcomeToolError), Error: firstText(content)}
}

// mapUpstreamError maps an error answer: "<type>: <message>", the hint of
// DefinitionChanged, the error object in _meta.
func mapUpstreamError(c Call, ue *proto.UpstreamError, em ExecutionMeta) Mapped {
	if ue == nil { // the client refuses such answers; be safe anyway
		return NoResult(c, sandbox.CauseInvalidAnswer)
	}
	text := string(ue.Type) + ": " + ue.Message
	if ue.Type == proto.ErrTypeDefinitionChanged {
		text += "\n\nNext step: " + definitionChangedHint
	}
	r := &mcp.CallToolResult{
		Meta:    mcp.Meta{MetaExecution: em, MetaError: ue},
		Content: []mcp.Content{&mcp.TextContent{Text: text}},
		IsError: true,
	}
	code := ue.Type.SnakeCase()
	if code == "" {
		code = string(proto.OutcomeToolError)
	}
	return Mapped{Result: r, Outcome: proto.OutcomeToolError, ErrorCode: code, Error: ue.Message}
}

// upstream is the part of an upstream CallToolResult the gateway keeps.
type upstream struct {
	meta       map[string]json.RawMessage
	content    []json.RawMessage
	structured json.RawMessage
	isError    bool
}

// errNotCallToolResult marks an upstream result of the wrong shape.
var errNotCallToolResult = errors.New("the upstream result is not a CallToolResult")

// parseUpstream splits the raw result by exact key (encoding/json would
// match struct fields case-insensitively). JSON null counts as absent.
func parseUpstream(raw json.RawMessage) (upstream, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return upstream{}, errNotCallToolResult
	}
	var u upstream
	decode := func(key string, into any) error {
		v, ok := fields[key]
		if !ok || isNull(v) {
			return nil
		}
		if err := json.Unmarshal(v, into); err != nil {
			return fmt.Errorf("%w: %s: %w", errNotCallToolResult, key, err)
		}
		return nil
	}
	if err := errors.Join(decode("content", &u.content), decode("isError", &u.isError), decode("_meta", &u.meta)); err != nil {
		return upstream{}, err
	}
	if v, ok := fields["structuredContent"]; ok && !isNull(v) {
		u.structured = bytes.Clone(v)
	}
	return u, nil
}

// isNull reports whether a raw value is JSON null.
func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// contentItem turns one upstream item into the SDK's type, decoded by the
// SDK itself (as an SDK client would), with its _meta kept raw.
func contentItem(raw json.RawMessage) mcp.Content {
	var fields map[string]json.RawMessage
	var typ string
	if json.Unmarshal(raw, &fields) != nil || json.Unmarshal(fields["type"], &typ) != nil {
		return unsupported(typ)
	}
	switch typ {
	case "text", "image", "audio", "resource_link", "resource":
	default:
		return unsupported(typ)
	}
	var one mcp.CallToolResult
	wrapped := append(append([]byte(`{"content":[`), raw...), "]}"...)
	if err := one.UnmarshalJSON(wrapped); err != nil || len(one.Content) != 1 {
		return &mcp.TextContent{Text: "[invalid " + typ + " content omitted]"}
	}
	item := one.Content[0]
	keepRawMeta(item, fields)
	return item
}

// keepRawMeta replaces the _meta the SDK decoded into Go values (numbers
// as float64) by the raw values, for the item and an embedded resource.
func keepRawMeta(item mcp.Content, fields map[string]json.RawMessage) {
	m := rawMeta(fields["_meta"])
	switch v := item.(type) {
	case *mcp.TextContent:
		v.Meta = m
	case *mcp.ImageContent:
		v.Meta = m
	case *mcp.AudioContent:
		v.Meta = m
	case *mcp.ResourceLink:
		v.Meta = m
	case *mcp.EmbeddedResource:
		v.Meta = m
		var res map[string]json.RawMessage
		if v.Resource != nil && json.Unmarshal(fields["resource"], &res) == nil {
			v.Resource.Meta = rawMeta(res["_meta"])
		}
	}
}

// rawMeta is a _meta object with raw values, nil when absent or not an
// object.
func rawMeta(v json.RawMessage) mcp.Meta {
	var m map[string]json.RawMessage
	if len(v) == 0 || json.Unmarshal(v, &m) != nil || m == nil {
		return nil
	}
	out := make(mcp.Meta, len(m))
	for k, x := range m {
		out[k] = x
	}
	return out
}

// unsupported is the placeholder of an item the gateway cannot pass on.
func unsupported(typ string) mcp.Content {
	return &mcp.TextContent{Text: "[unsupported content type " + typeLabel(typ) + " omitted]"}
}

// typeLabel echoes a content type: as is when it is a short plain token,
// else quoted and cut, so an upstream cannot inject lines into the text.
func typeLabel(typ string) string {
	plain := typ != "" && len(typ) <= maxTypeLabel
	for _, r := range typ {
		if !isTokenRune(r) {
			plain = false
			break
		}
	}
	if plain {
		return typ
	}
	label, _ := redact.CutChars(typ, maxTypeLabel)
	return strconv.Quote(label)
}

// isTokenRune reports whether r may appear in an unquoted type label.
func isTokenRune(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') ||
		r == '_' || r == '-' || r == '.' || r == '/' || r == ':'
}

// firstText is the text of the first text item, for the record's error.
func firstText(content []mcp.Content) string {
	for _, c := range content {
		if t, ok := c.(*mcp.TextContent); ok {
			return t.Text
		}
	}
	return ""
}
