package mcpserve

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Cache hints of modern-era tools/list results (gateway.md §7.5): modern
// clients re-fetch within 30 s even without push, and never share the list
// between users.
const (
	ListTTLMs      = 30000
	ListCacheScope = "private"
)

// toolsResult is the tools/list result the gateway serves: the SDK's
// ListToolsResult with every tool as its registered raw JSON. The SDK keeps
// listing (order, pages, cursors); this only changes the encoding. The
// modern-era fields the SDK would set on its own result type (resultType)
// are set here, with the cache hints; an initialize-era result keeps the
// SDK's values. (The SDK's sending middleware sees only server-to-client
// messages, so a result is finished here.)
type toolsResult struct {
	mcp.ResultBase
	ResultType string            `json:"resultType,omitempty"`
	TTLMs      int               `json:"ttlMs"`
	CacheScope string            `json:"cacheScope"`
	NextCursor string            `json:"nextCursor,omitempty"`
	Tools      []json.RawMessage `json:"tools"`
}

// listTools runs the SDK's tools/list and re-encodes its page.
func listTools(ctx context.Context, s *server, next mcp.MethodHandler, req mcp.Request) (mcp.Result, error) {
	res, err := next(ctx, methodListTools, req)
	if err != nil {
		return res, err
	}
	lr, ok := res.(*mcp.ListToolsResult)
	if !ok {
		return res, nil
	}
	out := &toolsResult{
		ResultBase: mcp.ResultBase{Meta: lr.Meta},
		TTLMs:      lr.TTLMs, CacheScope: lr.CacheScope, NextCursor: lr.NextCursor,
		Tools: make([]json.RawMessage, 0, len(lr.Tools)),
	}
	if isModern(req) {
		out.ResultType, out.TTLMs, out.CacheScope = "complete", ListTTLMs, ListCacheScope
	}
	for _, t := range lr.Tools {
		raw, err := s.tools.rawOf(t)
		if err != nil {
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		out.Tools = append(out.Tools, raw)
	}
	return out, nil
}
