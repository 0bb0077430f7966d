package mcpserve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
)

// MetaTool is the _meta key of a user tool definition: {"id", "version",
// "server"} (gateway.md §7.5).
const MetaTool = "io.mcpbox/tool"

// ToolMeta is the value of _meta["io.mcpbox/tool"].
type ToolMeta struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Server  string `json:"server"`
}

// toolDef is one registered tool: the SDK's *mcp.Tool and the JSON that
// tools/list serves for it. The JSON is built once per definition from the
// raw catalog fields, so listing never re-encodes schemas and serves
// annotations exactly as the catalog has them (the SDK's ToolAnnotations
// struct would drop unknown members and add false hints).
type toolDef struct {
	tool *mcp.Tool
	raw  json.RawMessage
	// mgmt is set for the 30 management tools.
	mgmt proto.ManagementTool
}

// wireTool is the served JSON of a tool definition.
type wireTool struct {
	Name         string          `json:"name"`
	Title        string          `json:"title,omitempty"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
	Annotations  json.RawMessage `json:"annotations,omitempty"`
	Meta         map[string]any  `json:"_meta,omitempty"`
}

// marshalCompact encodes v without HTML escaping: the bytes are JSON for
// MCP clients, never HTML.
func marshalCompact(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode tool definition: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// userToolDef builds the definition of a catalog entry (gateway.md §7.5):
// name, description, inputSchema, outputSchema and annotations when the
// catalog has them (as given), and _meta["io.mcpbox/tool"]. External tools
// are served as pinned: the catalog carries nothing else of them.
func userToolDef(e *catalog.Entry) (toolDef, error) {
	meta := map[string]any{MetaTool: ToolMeta{ID: e.ToolID, Version: e.Version, Server: e.ServerName}}
	raw, err := marshalCompact(wireTool{
		Name: e.Name, Description: e.Description, InputSchema: e.InputSchema,
		OutputSchema: e.OutputSchema, Annotations: e.Annotations, Meta: meta,
	})
	if err != nil {
		return toolDef{}, err
	}
	t := &mcp.Tool{Name: e.Name, Description: e.Description, InputSchema: e.InputSchema, Meta: meta}
	if e.OutputSchema != nil {
		t.OutputSchema = e.OutputSchema
	}
	if e.Annotations != nil {
		// Only for the SDK's own encoding, used if a listing races a
		// registration; unknown members are ignored there.
		var a mcp.ToolAnnotations
		if json.Unmarshal(e.Annotations, &a) == nil {
			t.Annotations = &a
		}
	}
	return toolDef{tool: t, raw: raw}, nil
}

// managementToolDef builds the definition of a management tool from its
// proto definition (local: Def, remote: RemoteDef).
func managementToolDef(d proto.ManagementToolDef) (toolDef, error) {
	raw, err := marshalCompact(d)
	if err != nil {
		return toolDef{}, err
	}
	destructive, openWorld := d.Annotations.DestructiveHint, d.Annotations.OpenWorldHint
	t := &mcp.Tool{
		Name: string(d.Name), Title: d.Title, Description: d.Description, InputSchema: d.InputSchema,
		Annotations: &mcp.ToolAnnotations{
			ReadOnlyHint: d.Annotations.ReadOnlyHint, IdempotentHint: d.Annotations.IdempotentHint,
			DestructiveHint: &destructive, OpenWorldHint: &openWorld,
		},
	}
	return toolDef{tool: t, raw: raw, mgmt: d.Name}, nil
}

// toolTable is the registrar's record of one SDK server's tools: what the
// middleware routes by and what tools/list serves.
type toolTable struct {
	mu   sync.RWMutex
	defs map[string]toolDef
}

func newToolTable() *toolTable { return &toolTable{defs: map[string]toolDef{}} }

func (t *toolTable) get(name string) (toolDef, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	d, ok := t.defs[name]
	return d, ok
}

func (t *toolTable) set(name string, d toolDef) {
	t.mu.Lock()
	t.defs[name] = d
	t.mu.Unlock()
}

func (t *toolTable) remove(names ...string) {
	t.mu.Lock()
	for _, n := range names {
		delete(t.defs, n)
	}
	t.mu.Unlock()
}

// rawOf returns the served JSON of a tool the SDK listed: the registered
// definition's, or (when a registration raced the listing, so the SDK
// holds another *mcp.Tool) the SDK's own encoding of it.
func (t *toolTable) rawOf(tool *mcp.Tool) (json.RawMessage, error) {
	if d, ok := t.get(tool.Name); ok && d.tool == tool {
		return d.raw, nil
	}
	return marshalCompact(tool)
}
