package manage

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
)

// findCatalog has a name match, a description match, a tool of another
// server and a withheld tool that would match.
func findCatalog() *catalog.Snapshot {
	alerts := catalogTool("weather", "alerts", "Severe weather warnings.", "7cef8a2d-0d8b-41f3-8a0f-9e3d2c1b0a98")
	alerts.OutputSchema = json.RawMessage(`{"type":"object"}`)
	return catalog.BuildSnapshot(proto.Catalog{
		Revision: 12,
		Tools: []proto.CatalogTool{
			catalogTool("weather", "forecast", "Forecast for a city.", goToolID),
			alerts,
			catalogTool("travel", "trains", "Train times; uses the forecast to warn about delays.", "8d0a9b3e-1e9c-42a4-9b1a-0f4e3d2c1ba9"),
			catalogTool("notes", "list", "List notes.", "9e1bac4f-2fad-43b5-8c2b-1a5f4e3d2cba"),
		},
		Withheld: []proto.WithheldTool{{
			ToolID: "ae2cbd5a-3abe-44c6-9d3c-2b6a5f4e3dcb", ServerID: goServerID, Name: "weather__forecast_v2",
			Version: 1, Reason: proto.WithheldDraft,
		}},
	}, time.Now())
}

// find calls mcpbox_find_tools and decodes its result.
func find(t *testing.T, h *harness, args string) FindResult {
	t.Helper()
	r := h.svc.Management(t.Context(), caller.Local(), proto.MgmtFindTools, json.RawMessage(args))
	if r.IsError {
		t.Fatalf("find %s: %s", args, text(t, r))
	}
	var res FindResult
	if err := json.Unmarshal([]byte(text(t, r)), &res); err != nil {
		t.Fatal(err)
	}
	if sc, ok := r.StructuredContent.(json.RawMessage); !ok || string(sc) != text(t, r) {
		t.Errorf("structuredContent differs from the text")
	}
	return res
}

// names lists the found tools' names.
func names(res FindResult) []string {
	var out []string
	for _, tl := range res.Tools {
		out = append(out, tl.Name)
	}
	return out
}

// TestGW88_FindTools: a name match ranks above a description match,
// withheld tools are left out, server and limit are honoured, input
// schemas are returned.
func TestGW88_FindTools(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cat.setSnapshot(findCatalog(), nil)

	res := find(t, h, `{"query": "Forecast!"}`)
	if asJSON(t, names(res)) != `["weather__forecast","travel__trains"]` || res.TotalMatches != 2 {
		t.Errorf("forecast: %v (total %d)", names(res), res.TotalMatches)
	}
	if res.CatalogRevision != 12 || res.Note != "Call these by name if your tool list shows them; otherwise use mcpbox_run_tool." {
		t.Errorf("revision %d, note %q", res.CatalogRevision, res.Note)
	}
	first := res.Tools[0]
	if string(first.InputSchema) != forecastSchema || first.Server != "weather" || first.Description != "Forecast for a city." ||
		string(first.OutputSchema) != "null" || string(first.Annotations) != "null" {
		t.Errorf("first tool = %+v", first)
	}

	if res := find(t, h, `{"query": "forecast", "server": "travel"}`); asJSON(t, names(res)) != `["travel__trains"]` {
		t.Errorf("server filter: %v", names(res))
	}
	if res := find(t, h, `{"query": "weather"}`); asJSON(t, names(res)) != `["weather__alerts","weather__forecast"]` {
		t.Errorf("weather (alerts also matches its description): %v", names(res))
	}
	all := find(t, h, `{"query": ""}`)
	if asJSON(t, names(all)) != `["notes__list","travel__trains","weather__alerts","weather__forecast"]` || all.TotalMatches != 4 {
		t.Errorf("empty query: %v", names(all))
	}
	if res := find(t, h, `{"query": "", "limit": 1}`); len(res.Tools) != 1 || res.TotalMatches != 4 {
		t.Errorf("limit 1: %v (total %d)", names(res), res.TotalMatches)
	}
	if res := find(t, h, `{"query": "v2 draft"}`); len(res.Tools) != 0 || res.TotalMatches != 0 {
		t.Errorf("withheld tools found: %v", names(res))
	}
	if res := find(t, h, `{"query": "alerts"}`); string(res.Tools[0].OutputSchema) != `{"type":"object"}` {
		t.Errorf("output schema = %s", res.Tools[0].OutputSchema)
	}
	if n := len(h.server.Requests("/")); n != 0 {
		t.Errorf("find_tools made %d requests", n)
	}
}

// TestFindToolsRefusesBadArgumentsAndAnEmptyCatalog: the schema applies;
// before the first load it says the catalog is loading.
func TestFindToolsRefusesBadArgumentsAndAnEmptyCatalog(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.svc.Management(t.Context(), caller.Local(), proto.MgmtFindTools, json.RawMessage(`{"query": "", "limit": 51}`))
	if !r.IsError || !strings.HasPrefix(text(t, r), "Invalid arguments for mcpbox_find_tools:\n- /limit: must be at most 50\n") {
		t.Errorf("limit 51: %q", text(t, r))
	}
	h.cat.setSnapshot(nil, catalog.ErrCatalogNotLoaded)
	r = h.svc.Management(t.Context(), caller.Local(), proto.MgmtFindTools, json.RawMessage(`{"query": ""}`))
	if !r.IsError || text(t, r) != "MCPbox is still loading its tool catalog; retry in a few seconds." {
		t.Errorf("not loaded: %q", text(t, r))
	}
}
