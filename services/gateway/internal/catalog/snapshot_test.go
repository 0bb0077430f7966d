package catalog

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

func TestSnapshotOrderLookupWithheld(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	withOutput := tool("b__x")
	withOutput.OutputSchema = json.RawMessage(`{"type":"object"}`)
	cat := proto.Catalog{
		Revision: 9,
		// Unsorted on purpose; '_' sorts after digits and before letters.
		Tools: []proto.CatalogTool{tool("b__x"), tool("a_b__x"), tool("a__x"), tool("a1__x")},
		Withheld: []proto.WithheldTool{
			{ToolID: "t1", Name: "w__draft", Version: 2, Reason: proto.WithheldDraft},
			{ToolID: "t2", Name: "w__draft", Version: 3, Reason: proto.WithheldRejected},
			{ToolID: "t3", Name: "w__stopped", Version: 1, Reason: proto.WithheldServerStopped},
		},
	}
	cat.Tools[0] = withOutput
	s := BuildSnapshot(cat, at)
	if s.Revision() != 9 || !s.FetchedAt().Equal(at) {
		t.Errorf("revision %d at %v, want 9 at %v", s.Revision(), s.FetchedAt(), at)
	}
	var names []string
	for _, e := range s.Tools() {
		names = append(names, e.Name)
	}
	if want := []string{"a1__x", "a__x", "a_b__x", "b__x"}; !slices.Equal(names, want) {
		t.Errorf("order %q, want %q", names, want)
	}
	if s.Len() != 4 || s.WithheldLen() != 2 {
		t.Errorf("Len %d, WithheldLen %d; want 4, 2", s.Len(), s.WithheldLen())
	}
	e, ok := s.Lookup("b__x")
	if !ok || string(e.OutputSchema) != `{"type":"object"}` || e.ServerName != "b" {
		t.Errorf("Lookup(b__x) = %+v, %v", e, ok)
	}
	if _, ok := s.Lookup("c__x"); ok {
		t.Error("Lookup(c__x) found an entry")
	}
	if w, ok := s.Withheld("w__draft"); !ok || w.Reason != proto.WithheldDraft || w.ToolID != "t1" {
		t.Errorf("Withheld(w__draft) = %+v, %v; want the first entry", w, ok)
	}
	if _, ok := s.Withheld("a__x"); ok {
		t.Error("a callable tool is reported withheld")
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	base := []proto.CatalogTool{tool("s__keep"), tool("s__gone"), tool("s__desc"), tool("s__ver"), tool("s__id"), tool("s__schema")}
	prev := BuildSnapshot(proto.Catalog{Revision: 1, Tools: base}, time.Now())

	desc, ver, id, schema := tool("s__desc"), tool("s__ver"), tool("s__id"), tool("s__schema")
	desc.Description = "New words."
	ver.Version, ver.Hash = 2, "sha256:"+strings.Repeat("1", 64)
	id.ToolID = "00000000-0000-4000-8000-0000000000ff"
	schema.InputSchema = json.RawMessage(`{"type":"object","properties":{"b":{"type":"string"}}}`)
	next := BuildSnapshot(proto.Catalog{Revision: 2, Tools: []proto.CatalogTool{
		tool("s__keep"), desc, ver, id, schema, tool("s__new"),
	}}, time.Now())

	removed, changed := Diff(prev, next)
	if want := []string{"s__gone"}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	var names []string
	for _, e := range changed {
		names = append(names, e.Name)
	}
	if want := []string{"s__desc", "s__id", "s__new", "s__schema", "s__ver"}; !slices.Equal(names, want) {
		t.Errorf("changed %q, want %q", names, want)
	}

	removed, changed = Diff(nil, next)
	if len(removed) != 0 || len(changed) != next.Len() {
		t.Errorf("Diff(nil, next) = %d removed, %d changed; want 0, %d", len(removed), len(changed), next.Len())
	}
	removed, changed = Diff(next, next)
	if len(removed) != 0 || len(changed) != 0 {
		t.Errorf("Diff(next, next) = %q, %d changed; want nothing", removed, len(changed))
	}
	removed, changed = Diff(prev, nil)
	if len(removed) != prev.Len() || len(changed) != 0 {
		t.Errorf("Diff(prev, nil) = %d removed, %d changed; want %d, 0", len(removed), len(changed), prev.Len())
	}
}
