package catalog

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// GW-52: invalid names, reserved names and duplicates are skipped and
// counted; the rest are served.
func TestGW52_InvalidEntriesSkippedAndCounted(t *testing.T) {
	t.Parallel()
	longest := "s" + strings.Repeat("x", 23) + "__" + "t" + strings.Repeat("y", 37) // 64
	cases := []struct {
		name   string
		reason RejectReason
	}{
		{"weather__forecast", ""},
		{longest, ""},
		{"a1_b2__c3_d4", ""},
		{longest + "z", RejectName},             // 65 characters
		{"weather__fore-cast", RejectName},      // invalid character
		{"Weather__forecast", RejectName},       // uppercase
		{"weather_forecast", RejectName},        // no separator
		{"weather___forecast", RejectName},      // triple underscore
		{"weather__forecast_", RejectName},      // trailing underscore
		{"", RejectName},                        // empty
		{"mcpbox__list", RejectReserved},        // management prefix
		{"mcpboxer__x", RejectReserved},         // prefix, not a word
		{"mcpbox_list_servers", RejectReserved}, // a management name
		{"dup__a", RejectDuplicate},
		{"dup__a", RejectDuplicate},
		{"dup__b", ""},
	}
	var tools []proto.CatalogTool
	want := map[RejectReason]int{}
	var served []string
	for _, tc := range cases {
		tools = append(tools, tool(tc.name))
		if tc.reason == "" {
			served = append(served, tc.name)
		} else {
			want[tc.reason]++
		}
	}
	slices.Sort(served)
	src := newFakeSource(7, tools...)
	h := start(t, src, testOptions(), nil)
	eventually(t, "revision 7", revisionIs(h.c, 7))

	s := h.c.Current()
	var got []string
	for _, e := range s.Tools() {
		got = append(got, e.Name)
	}
	if !slices.Equal(got, served) {
		t.Errorf("served %q, want %q", got, served)
	}
	for _, tc := range cases {
		_, ok := s.Lookup(tc.name)
		if ok != (tc.reason == "") {
			t.Errorf("Lookup(%q) = %v, want %v", tc.name, ok, tc.reason == "")
		}
	}
	for _, r := range s.Rejected() {
		if r.Detail == "" {
			t.Errorf("rejection of %q has no detail", r.Name)
		}
	}
	for _, reason := range rejectReasons() {
		if got := h.value(t, "mcpbox_gateway_catalog_rejected_entries", "reason", string(reason)); got != float64(want[reason]) {
			t.Errorf("rejected_entries{reason=%q} = %v, want %d", reason, got, want[reason])
		}
	}
	if got := h.value(t, "mcpbox_gateway_catalog_tools"); got != float64(len(served)) {
		t.Errorf("catalog_tools = %v, want %d", got, len(served))
	}
}

// GW-52: each skipped entry is logged once per revision: a 304 or the same
// revision again logs nothing, a new revision logs again.
func TestGW52_RejectionsLoggedOncePerRevision(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1, tool("ok__a"), tool("bad-name__x"), tool("mcpbox__y"))
	opts := testOptions()
	opts.Poll = 5 * time.Millisecond
	h := start(t, src, opts, nil)
	eventually(t, "revision 1", revisionIs(h.c, 1))
	eventually(t, "two unchanged polls", func() bool { return h.refreshes(t, TriggerPoll, resultUnchanged) >= 2 })
	if n := h.logLines("catalog entry skipped"); n != 2 {
		t.Errorf("%d per-entry lines for revision 1, want 2", n)
	}
	if n := h.logLines("catalog entries skipped"); n != 1 {
		t.Errorf("%d summary lines for revision 1, want 1", n)
	}
	src.setCatalog(2, tool("ok__a"), tool("bad-name__x"), tool("mcpbox__y"))
	eventually(t, "revision 2", revisionIs(h.c, 2))
	// The lines are written after the snapshot is swapped in: wait for them,
	// then for two more polls of revision 2, which must add none.
	eventually(t, "revision 2's lines", func() bool { return h.logLines("catalog entry skipped") >= 4 })
	polls := h.refreshes(t, TriggerPoll, resultUnchanged)
	eventually(t, "two unchanged polls of revision 2", func() bool { return h.refreshes(t, TriggerPoll, resultUnchanged) >= polls+2 })
	if n := h.logLines("catalog entry skipped"); n != 4 {
		t.Errorf("%d per-entry lines after revision 2, want 4", n)
	}
}

// GW-53 (schema half): x-mcp-header is removed, a schema without type gets
// type object, and a schema that cannot be an object schema is skipped.
func TestGW53_InputSchemaNormalized(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string // want "" means rejected
	}{
		{
			"object kept byte for byte", `{"type":"object","properties":{"n":{"type":"number","maximum":1e400}}}`,
			`{"type":"object","properties":{"n":{"type":"number","maximum":1e400}}}`,
		},
		{"whitespace compacted", "{ \"type\" : \"object\" }", `{"type":"object"}`},
		{
			"missing type added first", `{"properties":{"a":{"type":"string"}},"required":["a"]}`,
			`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`,
		},
		{"empty schema", `{}`, `{"type":"object"}`},
		{"true schema", `true`, `{"type":"object"}`},
		{"type list with object", `{"type":["object","null"]}`, `{"type":"object"}`},
		{
			"x-mcp-header in a property", `{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`,
			`{"type":"object","properties":{"region":{"type":"string"}}}`,
		},
		{
			"x-mcp-header nested and at the root", `{"x-mcp-header":"X","type":"object","properties":{"o":{"type":"object","properties":{"k":{"type":"integer","x-mcp-header":"K"}}}}}`,
			`{"type":"object","properties":{"o":{"type":"object","properties":{"k":{"type":"integer"}}}}}`,
		},
		{
			"x-mcp-header in items, anyOf and $defs", `{"type":"object","items":{"x-mcp-header":"I"},"anyOf":[{"x-mcp-header":"A"},true],"$defs":{"d":{"x-mcp-header":"D"}}}`,
			`{"type":"object","items":{},"anyOf":[{},true],"$defs":{"d":{}}}`,
		},
		{
			"a property named x-mcp-header stays", `{"type":"object","properties":{"x-mcp-header":{"type":"string"}}}`,
			`{"type":"object","properties":{"x-mcp-header":{"type":"string"}}}`,
		},
		{
			"x-mcp-header as data stays", `{"type":"object","properties":{"h":{"const":{"x-mcp-header":"v"},"default":{"x-mcp-header":1}}}}`,
			`{"type":"object","properties":{"h":{"const":{"x-mcp-header":"v"},"default":{"x-mcp-header":1}}}}`,
		},
		{
			"html characters not escaped", `{"properties":{"a<b":{"description":"x & y <z>","x-mcp-header":"H"}}}`,
			`{"type":"object","properties":{"a<b":{"description":"x & y <z>"}}}`,
		},
		{
			"big integer kept", `{"properties":{"a":{"const":9007199254740993}}}`,
			`{"type":"object","properties":{"a":{"const":9007199254740993}}}`,
		},
		{"string type", `{"type":"string"}`, ""},
		{"type list without object", `{"type":["string","null"]}`, ""},
		{"numeric type", `{"type":1}`, ""},
		{"null", `null`, ""},
		{"empty", ``, ""},
		{"false schema", `false`, ""},
		{"array", `[{"type":"object"}]`, ""},
		{"string", `"object"`, ""},
		{"invalid JSON", `{"type":"object"`, ""},
		{"duplicate key", `{"type":"object","type":"string"}`, ""},
		{"duplicate property", `{"type":"object","properties":{"a":{},"a":{}}}`, ""},
		{"too deep", `{"type":"object","properties":{"a":` + strings.Repeat(`{"items":`, maxSchemaDepth+1) + `{}` + strings.Repeat(`}`, maxSchemaDepth+2) + `}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeInputSchema(json.RawMessage(tc.in))
			if tc.want == "" {
				if err == nil {
					t.Fatalf("NormalizeInputSchema(%s) = %s, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeInputSchema(%s): %v", tc.in, err)
			}
			if string(got) != tc.want {
				t.Errorf("NormalizeInputSchema(%s)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

// GW-53 (schema half): through a snapshot, the normalised schema is what
// the entry carries, and an entry whose schema cannot be an object schema
// is skipped with reason schema.
func TestGW53_SnapshotSchemas(t *testing.T) {
	t.Parallel()
	ext := tool("gh__issues")
	ext.Kind = proto.ToolKindExternal
	ext.InputSchema = json.RawMessage(`{"properties":{"repo":{"type":"string","x-mcp-header":"Repo"}}}`)
	ext.Annotations = json.RawMessage(`{"readOnlyHint":true}`)
	bad := tool("gh__bad")
	bad.InputSchema = json.RawMessage(`{"type":"array"}`)
	s := BuildSnapshot(proto.Catalog{Revision: 3, Tools: []proto.CatalogTool{ext, bad}}, time.Now())
	e, ok := s.Lookup("gh__issues")
	if !ok {
		t.Fatal("gh__issues not served")
	}
	if want := `{"type":"object","properties":{"repo":{"type":"string"}}}`; string(e.InputSchema) != want {
		t.Errorf("input schema %s, want %s", e.InputSchema, want)
	}
	if string(e.Annotations) != `{"readOnlyHint":true}` {
		t.Errorf("annotations %s, want them exactly as given", e.Annotations)
	}
	if e.OutputSchema != nil {
		t.Errorf("output schema %s, want nil for JSON null", e.OutputSchema)
	}
	if _, ok := s.Lookup("gh__bad"); ok {
		t.Error("gh__bad served despite its array schema")
	}
	if rs := s.Rejected(); len(rs) != 1 || rs[0].Reason != RejectSchema || !strings.Contains(rs[0].Detail, "object") {
		t.Errorf("rejections %+v, want one schema rejection", rs)
	}
}

// The errors of the normaliser are the documented sentinels where one
// applies, so rejection details stay readable.
func TestNormalizeInputSchemaErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]error{
		`nope`:              errSchemaNotJSON,
		`[]`:                errSchemaNotObject,
		`{"type":"string"}`: errSchemaType,
	} {
		if _, err := NormalizeInputSchema(json.RawMessage(in)); !errors.Is(err, want) {
			t.Errorf("NormalizeInputSchema(%s) = %v, want %v", in, err, want)
		}
	}
}
