package main

import (
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestToolCodeIsGoWithADocumentedMain(t *testing.T) {
	t.Parallel()
	for _, about := range []string{"", listToolAbout(7, 499)} {
		src := toolCode(about)
		f, err := parser.ParseFile(token.NewFileSet(), "tool.go", src, parser.ParseComments)
		if err != nil {
			t.Fatalf("%q: %v", about, err)
		}
		if f.Name.Name != "tool" {
			t.Errorf("package %s", f.Name.Name)
		}
		if !strings.Contains(src, "// Main adds a and b"+about+".\nfunc Main(") {
			t.Errorf("Main's doc comment does not end in %q:\n%s", about, src)
		}
	}
}

func TestListToolNamesSortAsNumbersAndAreUnique(t *testing.T) {
	t.Parallel()
	var names []string
	for i := 1; i <= 499; i++ {
		names = append(names, listToolName(i))
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != 499 {
		t.Errorf("names are not sorted and unique: %v … %v", names[:3], names[496:])
	}
	if names[0] != "tool_0001" || describeSeed(500) != "load__add and list__tool_0001 … list__tool_0499" || describeSeed(1) != addTool {
		t.Errorf("first %s, seed %q", names[0], describeSeed(500))
	}
}

func TestBatchesAndBulkItems(t *testing.T) {
	t.Parallel()
	tools := make([]toolVersion, 250)
	for i := range tools {
		tools[i] = toolVersion{ID: listToolName(i), Version: 1, Hash: "sha256:x"}
	}
	bs := batches(bulkItems(tools), maxBulk)
	if len(bs) != 3 || len(bs[0]) != 100 || len(bs[2]) != 50 || bs[2][49].ID != listToolName(249) {
		t.Fatalf("batches of %d", len(bs))
	}
	if it := bs[0][0]; it.Kind != "tool" || it.Version != 1 || it.Hash != "sha256:x" {
		t.Errorf("item %+v", it)
	}
	if len(batches([]int(nil), 100)) != 0 {
		t.Error("batches of nothing")
	}
}

func TestRunsOfAndLoadgenArgs(t *testing.T) {
	t.Parallel()
	o := options{
		runs: []string{runP1, runP2}, p1Rates: []float64{100, 250}, p1Duration: time.Minute, p1Warmup: 5 * time.Second,
		p2Rate: 50, p2Duration: 20 * time.Second, p2Warmup: 5 * time.Second, era: "initialize", workers: 8,
	}
	runs := runsOf(o)
	if len(runs) != 3 || runs[0].name() != "p1-100" || runs[1].name() != "p1-250" || runs[2].name() != "p2-50" {
		t.Fatalf("runs %+v", runs)
	}
	if runs[1].requests() != 16250 || runs[2].requests() != 1250 {
		t.Errorf("requests %d, %d", runs[1].requests(), runs[2].requests())
	}
	p1 := strings.Join(loadgenArgs(runs[1], o, "http://127.0.0.1:18002/mcp", "/o/p1.json"), " ")
	if p1 != `gateway -url http://127.0.0.1:18002/mcp -era initialize -method call -rate 250 -duration 1m0s -warmup 5s -workers 8 -out /o/p1.json -tool load__add -args {"a":1,"b":2}` {
		t.Errorf("P1 args: %s", p1)
	}
	p2 := strings.Join(loadgenArgs(runs[2], o, "http://127.0.0.1:18002/mcp", "/o/p2.json"), " ")
	if p2 != `gateway -url http://127.0.0.1:18002/mcp -era initialize -method list -rate 50 -duration 20s -warmup 5s -workers 8 -out /o/p2.json` {
		t.Errorf("P2 args: %s", p2)
	}
	if got := reportPath("/o", runs[0], time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)); got != "/o/gateway-p1-100-20261128T093000Z.json" {
		t.Errorf("report path %s", got)
	}
	if got := runsOf(options{runs: []string{runP2}, p1Rates: []float64{250}, p2Rate: 50}); len(got) != 1 || got[0].method != "list" {
		t.Errorf("P2 alone: %+v", got)
	}
}

func TestContainsAll(t *testing.T) {
	t.Parallel()
	if !containsAll([]string{"a", "b"}, []string{"b"}) || containsAll([]string{"a"}, []string{"a", "c"}) || !containsAll(nil, nil) {
		t.Error("containsAll")
	}
}
