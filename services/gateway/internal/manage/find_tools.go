package manage

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"unicode"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
	"github.com/mcpbox/mcpbox/services/gateway/internal/toolcall"
)

// FindNote is the note of every mcpbox_find_tools result (gateway.md
// §10.4, tool 29).
const FindNote = "Call these by name if your tool list shows them; otherwise use mcpbox_run_tool."

// Scores of a query token (gateway.md §10.4, tool 29).
const (
	nameScore        = 3
	descriptionScore = 1
)

// findArgs are mcpbox_find_tools' arguments, already validated.
type findArgs struct {
	Query  string `json:"query"`
	Server string `json:"server"`
	Limit  *int   `json:"limit"`
}

// FoundTool is one tool of a mcpbox_find_tools result; absent schemas and
// annotations are null.
type FoundTool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Server       string          `json:"server"`
	InputSchema  json.RawMessage `json:"input_schema"`
	OutputSchema json.RawMessage `json:"output_schema"`
	Annotations  json.RawMessage `json:"annotations"`
}

// FindResult is the result of mcpbox_find_tools.
type FindResult struct {
	Tools           []FoundTool `json:"tools"`
	TotalMatches    int         `json:"total_matches"`
	CatalogRevision int64       `json:"catalog_revision"`
	Note            string      `json:"note"`
}

// findTools searches the current snapshot (a stale one too: what it lists
// says so when called). Before the first load it answers like a user-tool
// call: still loading.
func (s *Service) findTools(args json.RawMessage) (*mcp.CallToolResult, proto.Outcome) {
	var a findArgs
	if err := json.Unmarshal(args, &a); err != nil { // validated against the schema: cannot happen
		return errorText(toolcall.NotAnObjectText(string(proto.MgmtFindTools))), proto.OutcomeInvalidArguments
	}
	snap, _ := s.cat.CheckCatalog()
	if snap == nil {
		return errorText(toolcall.LoadingText), proto.OutcomeUnavailable
	}
	limit := proto.DefaultFindLimit
	if a.Limit != nil {
		limit = *a.Limit
	}
	return success(encode(Find(snap, a.Query, a.Server, limit))), proto.OutcomeOK
}

// Find ranks the callable tools of snap for query (gateway.md §10.4, tool
// 29): the query is lower-cased and split on non-alphanumerics; each
// distinct token scores 3 when the lower-cased exposed name contains it and
// 1 when the lower-cased description does. Tools scoring 0 are left out
// unless the query has no token (empty, or only separators: it then lists
// everything). Higher scores come first, ties by name. server, when not
// empty, keeps only that server's tools; total_matches counts the matches
// before limit cuts them.
func Find(snap *catalog.Snapshot, query, server string, limit int) FindResult {
	tokens := queryTokens(query)
	type match struct {
		e     *catalog.Entry
		score int
	}
	var matches []match
	tools := snap.Tools()
	for i := range tools {
		e := &tools[i]
		if server != "" && e.ServerName != server {
			continue
		}
		score := 0
		name, desc := strings.ToLower(e.Name), strings.ToLower(e.Description)
		for _, t := range tokens {
			if strings.Contains(name, t) {
				score += nameScore
			}
			if strings.Contains(desc, t) {
				score += descriptionScore
			}
		}
		if score > 0 || len(tokens) == 0 {
			matches = append(matches, match{e: e, score: score})
		}
	}
	slices.SortStableFunc(matches, func(a, b match) int { // snapshot order is name order: stable keeps it for ties
		return cmp.Compare(b.score, a.score)
	})
	out := FindResult{
		Tools: make([]FoundTool, 0, min(len(matches), max(limit, 0))), TotalMatches: len(matches),
		CatalogRevision: snap.Revision(), Note: FindNote,
	}
	for _, m := range matches[:min(len(matches), max(limit, 0))] {
		out.Tools = append(out.Tools, FoundTool{
			Name: m.e.Name, Description: m.e.Description, Server: m.e.ServerName,
			InputSchema: m.e.InputSchema, OutputSchema: orNull(m.e.OutputSchema), Annotations: orNull(m.e.Annotations),
		})
	}
	return out
}

// queryTokens splits a lower-cased query on non-alphanumerics, each token
// once.
func queryTokens(query string) []string {
	fields := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	slices.Sort(fields)
	return slices.Compact(fields)
}

// orNull is raw, or JSON null when absent.
func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// encode marshals a result without HTML escaping.
func encode(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return json.RawMessage("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
