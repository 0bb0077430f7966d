package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/canon"
)

// tools/list limits (sandbox.md §4.5, fixed on purpose).
const (
	maxToolPages = 20
	maxTools     = 1000
)

// rawTool is one entry of tools/list with its fields as the upstream sent
// them.
type rawTool struct {
	Name         string          `json:"name"`
	Title        string          `json:"title"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema"`
	Annotations  json.RawMessage `json:"annotations"`
}

// listTools follows nextCursor up to maxToolPages pages or maxTools tools,
// reading each page's raw result from the observer.
func listTools(ctx context.Context, cs *mcp.ClientSession, obs *observer) ([]rawTool, error) {
	var tools []rawTool
	cursor := ""
	for page := 0; ; page++ {
		if page == maxToolPages {
			return nil, fmt.Errorf("%w: tools/list has more than %d pages, the limit", errProtocol, maxToolPages)
		}
		obs.result(methodListTools) // forget any earlier page
		if _, err := cs.ListTools(ctx, &mcp.ListToolsParams{Cursor: cursor}); err != nil {
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		raw, ok := obs.result(methodListTools)
		if !ok {
			return nil, fmt.Errorf("%w: tools/list returned no result", errProtocol)
		}
		var res struct {
			Tools      []rawTool `json:"tools"`
			NextCursor string    `json:"nextCursor"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return nil, fmt.Errorf("%w: tools/list result is not valid: %w", errProtocol, err)
		}
		for _, t := range res.Tools {
			if t.Name == "" {
				return nil, fmt.Errorf("%w: tools/list has a tool without a name", errProtocol)
			}
		}
		tools = append(tools, res.Tools...)
		if len(tools) > maxTools {
			return nil, fmt.Errorf("%w: tools/list has more than %d tools, the limit", errProtocol, maxTools)
		}
		if res.NextCursor == "" {
			return tools, nil
		}
		cursor = res.NextCursor
	}
}

// nullIfEmpty makes an absent raw value JSON null.
func nullIfEmpty(r json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(r)) == 0 {
		return json.RawMessage("null")
	}
	return r
}

// discovered converts a tools/list entry to the discovery wire form.
func (t rawTool) discovered() proto.DiscoveredTool {
	return proto.DiscoveredTool{
		Name:         t.Name,
		Title:        t.Title,
		Description:  t.Description,
		InputSchema:  nullIfEmpty(t.InputSchema),
		OutputSchema: nullIfEmpty(t.OutputSchema),
		Annotations:  nullIfEmpty(t.Annotations),
	}
}

// definition builds the external definition of backend.md §5.3 from the
// upstream's current entry (sandbox.md §4.6).
func (t rawTool) definition(sourceID string) proto.ExternalDefinition {
	return proto.ExternalDefinition{
		Annotations: nullIfEmpty(t.Annotations),
		Description: t.Description,
		InputSchema: nullIfEmpty(t.InputSchema),
		Name:        t.Name,
		SourceID:    sourceID,
	}
}

// checkDefinition compares the pinned definition with the upstream's
// current one by canonical JSON; a difference is errDefinitionChanged.
func checkDefinition(tools []rawTool, pinned proto.ExternalDefinition) error {
	for _, t := range tools {
		if t.Name != pinned.Name {
			continue
		}
		pinned.Annotations = nullIfEmpty(pinned.Annotations)
		pinned.InputSchema = nullIfEmpty(pinned.InputSchema)
		want, err := canon.Marshal(pinned)
		if err != nil {
			return fmt.Errorf("%w: definition: %w", ErrInvalidRequest, err)
		}
		got, err := canon.Marshal(t.definition(pinned.SourceID))
		if err != nil {
			return fmt.Errorf("%w: the server's definition of %q is not valid JSON", errDefinitionChanged, t.Name)
		}
		if !bytes.Equal(want, got) {
			return fmt.Errorf("%w: the external server changed tool %q after it was approved; "+
				"refresh the source and approve the new definition", errDefinitionChanged, t.Name)
		}
		return nil
	}
	return fmt.Errorf("%w: the external server no longer offers tool %q; refresh the source", errDefinitionChanged, pinned.Name)
}
