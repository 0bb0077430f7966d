package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleReport is a bench report with every scenario, figures spread over three decades.
func sampleReport() benchReport {
	var rs []scenarioResult
	for i, sc := range benchScenarios(500) {
		f := float64(i + 1)
		rs = append(rs, scenarioResult{Key: sc.key, Name: sc.name, Via: sc.via, CallsPerSec: 100 * f, P50: 0.4 * f, P95: 2 * f, P99: 30 * f, OK: 10})
	}
	return benchReport{
		StartedAt: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), Command: "loadstack -bench",
		Machine:   benchMachine{CPUs: 2, CPUModel: "AMD EPYC <x> & co", Kernel: "6.18", GoVersion: "go1.27.3", Revision: "0123456789abcdef", Version: "v1-dirty"},
		Settings:  benchSettings{Concurrency: 8, WarmupS: 3, DurationS: 10, Users: 8, Workers: 8, Era: "initialize", ListTools: 500},
		Scenarios: rs, Ratios: ratios(rs), Problems: []string{},
	}
}

// The chart is well-formed XML, names every scenario and percentile, has one bar per scenario and percentile
// whose widths grow with the value on the log axis, and escapes the machine's text.
func TestChartSVGIsWellFormedAndComplete(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	svg := chartSVG(r)
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var (
		texts []string
		bars  = map[string]map[string]float64{} // scenario → percentile → width
		root  string
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Local
			}
			if el.Name.Local == "rect" && attr(el, "class") == "bar" {
				w, err := strconv.ParseFloat(attr(el, "width"), 64)
				if err != nil {
					t.Fatalf("bar width %q", attr(el, "width"))
				}
				sc := attr(el, "data-scenario")
				if bars[sc] == nil {
					bars[sc] = map[string]float64{}
				}
				bars[sc][attr(el, "data-percentile")] = w
			}
		case xml.CharData:
			texts = append(texts, string(el))
		}
	}
	all := strings.Join(texts, "\n")
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	for _, want := range []string{"2026-11-27", "AMD EPYC <x> & co", "p50", "p95", "p99", "log scale"} {
		if !strings.Contains(all, want) {
			t.Errorf("the chart's text lacks %q", want)
		}
	}
	for _, s := range r.Scenarios {
		if !strings.Contains(all, s.Name) {
			t.Errorf("the chart does not name %q", s.Name)
		}
		b := bars[s.Key]
		if len(b) != 3 || !(b["p50"] < b["p95"] && b["p95"] < b["p99"]) {
			t.Errorf("%s: bars %v, want p50 < p95 < p99", s.Key, b)
		}
	}
	if len(bars) != len(r.Scenarios) {
		t.Errorf("bars for %d scenarios, want %d", len(bars), len(r.Scenarios))
	}
	// 0.4 ms to 180 ms: the axis runs over whole decades, 0.1 to 1000.
	if lo, hi := logRange(r.Scenarios); lo != 0.1 || hi != 1000 {
		t.Errorf("axis %g–%g, want 0.1–1000", lo, hi)
	}
	if got := logTicks(0.1, 10); len(got) != 7 || tickLabel(got[len(got)-1]) != "10" || tickLabel(got[1]) != "0.2" {
		t.Errorf("ticks %v", got)
	}
}

// A scenario without figures gets no bar but still a row, and the document stays well-formed.
func TestChartSVGWithoutFigures(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	r.Scenarios[2].P50, r.Scenarios[2].P95, r.Scenarios[2].P99 = 0, 0, 0
	svg := chartSVG(r)
	if err := xml.Unmarshal(svg, new(struct{})); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if bytes.Contains(svg, []byte(`data-scenario="`+r.Scenarios[2].Key+`"`)) || !bytes.Contains(svg, []byte("no data")) {
		t.Error("a scenario without figures has a bar, or no 'no data' note")
	}
}

// The ratios compare the edge's and the local listener's trivial calls with the bare server's.
func TestRatios(t *testing.T) {
	t.Parallel()
	rs := []scenarioResult{
		{Key: keyBare, CallsPerSec: 1000, P50: 0.5},
		{Key: keyLocal, CallsPerSec: 200, P50: 2},
		{Key: keyEdgeTrivial, CallsPerSec: 125, P50: 4},
	}
	got := ratios(rs)
	want := []ratio{{Stack: keyEdgeTrivial, Bare: keyBare, LatencyP50: 8, Throughput: 8}, {Stack: keyLocal, Bare: keyBare, LatencyP50: 4, Throughput: 5}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ratios %+v, want %+v", got, want)
	}
	rs = append(rs, scenarioResult{Key: keyBare1, CallsPerSec: 400, P50: 2}, scenarioResult{Key: keyEdge1, CallsPerSec: 100, P50: 6})
	if got := ratios(rs); len(got) != 3 || got[0] != (ratio{Stack: keyEdge1, Bare: keyBare1, LatencyP50: 3, Throughput: 4}) {
		t.Errorf("with the one-at-a-time pair: %+v", got)
	}
	if ratios(rs[1:3]) != nil {
		t.Error("ratios without the bare server")
	}
}

// The Markdown report has the table, the ratios, the machine, the date, the chart and the command.
func TestBenchMarkdown(t *testing.T) {
	t.Parallel()
	md := sampleReport().markdown("perf/stack-latency.svg")
	for _, want := range []string{
		"| scenario | calls/s | p50 ms | p95 ms | p99 ms | errors |", "| edge: tools/list, 500 tools | 700 | 2.80 | 14.0 | 210 | 0 |",
		"2026-11-27 10:00 UTC", "`0123456789ab`", "2 × AMD EPYC", "(stack p50 ÷ bare p50)", "![Latency percentiles per scenario, log scale](perf/stack-latency.svg)",
		"Command: `loadstack -bench`", "closed loop with 8 requests in flight (1 where its name says so), 3s of warm-up, then 10s measured",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
}

// replaceSection rewrites only what lies between the markers; missing, doubled or swapped markers are errors
// naming the marker.
func TestReplaceSection(t *testing.T) {
	t.Parallel()
	doc := "# Title\n\nkept before\n" + sectionBegin + "\nold figures\n" + sectionEnd + "\nkept after\n"
	got, err := replaceSection(doc, "new figures\n\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\nkept before\n" + sectionBegin + "\nnew figures\n" + sectionEnd + "\nkept after\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	again, err := replaceSection(got, "new figures")
	if err != nil || again != got {
		t.Errorf("rewriting twice changed the document: %q, %v", again, err)
	}
	for _, tc := range []struct{ doc, want string }{
		{"no markers", "marker " + sectionBegin + " is missing"},
		{sectionBegin + "\nx\n", "marker " + sectionEnd + " is missing"},
		{sectionEnd + "\n" + sectionBegin, "comes before"},
		{sectionBegin + sectionBegin + sectionEnd, "appears 2 times"},
	} {
		if _, err := replaceSection(tc.doc, "x"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.doc, err, tc.want)
		}
	}
}

// updateDocs writes the chart and the section under the root, and writes nothing when the markers are missing.
func TestUpdateDocs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	perf := filepath.Join(root, docsPerformance)
	if err := os.WriteFile(perf, []byte("# Performance\n\nno markers here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := sampleReport()
	if err := updateDocs(root, r, chartSVG(r)); err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("error %v, want a missing marker", err)
	}
	if _, err := os.Stat(filepath.Join(root, docsChart)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the chart was written although the section is missing: %v", err)
	}
	doc := "# Performance\n\n" + sectionBegin + "\n" + sectionEnd + "\n\n## Later\n"
	if err := os.WriteFile(perf, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateDocs(root, r, chartSVG(r)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(perf)
	if err != nil || !strings.Contains(string(b), "](perf/stack-latency.svg)") || !strings.HasSuffix(string(b), sectionEnd+"\n\n## Later\n") {
		t.Errorf("docs/PERFORMANCE.md: %v\n%s", err, b)
	}
	if svg, err := os.ReadFile(filepath.Join(root, docsChart)); err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Errorf("docs/perf/stack-latency.svg: %v", err)
	}
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
