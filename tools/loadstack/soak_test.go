package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The bounds: goroutines end ≤ 1.2 × start + 20, heap in use ≤ 1.5 × start + 16 MiB, RSS ≤ 1.5 × start + 32 MiB.
func TestJudgeSoakBounds(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	start := map[string]serviceSample{
		"gateway": {Goroutines: 100, HeapInuseBytes: 10 * mib, RSSBytes: 40 * mib},
		"edge":    {Goroutines: 40, HeapInuseBytes: 4 * mib, RSSBytes: 20 * mib},
	}
	atLimit := map[string]serviceSample{
		"gateway": {Goroutines: 140, HeapInuseBytes: 31 * mib, RSSBytes: 92 * mib},
		"edge":    {Goroutines: 68, HeapInuseBytes: 22 * mib, RSSBytes: 62 * mib},
	}
	if p := judgeSoak(start, atLimit); len(p) != 0 {
		t.Errorf("readings at the bounds: %q", p)
	}
	over := map[string]serviceSample{
		"gateway": {Goroutines: 141, HeapInuseBytes: 31*mib + 1, RSSBytes: 92*mib + 1},
		"edge":    {Goroutines: 30, HeapInuseBytes: 1 * mib, RSSBytes: 10 * mib},
	}
	p := judgeSoak(start, over)
	if len(p) != 3 || !strings.HasPrefix(p[0], "gateway go_goroutines grew from 100 to 141, above the bound 140 (end ≤ 1.2 × start + 20)") ||
		!strings.Contains(p[1], "gateway go_memstats_heap_inuse_bytes grew from 10.0 MiB to 31.0 MiB") || !strings.Contains(p[2], "+ 32 MiB") {
		t.Errorf("problems %q", p)
	}
	missing := judgeSoak(start, map[string]serviceSample{"gateway": start["gateway"], "backend": {}})
	if !slices.Equal(missing, []string{"backend: no reading at the start or at the end of the soak", "edge: no reading at the start or at the end of the soak"}) {
		t.Errorf("missing services: %q", missing)
	}
}

// The soak samples at the end of the warm-up, every interval, and shortly before the load ends.
func TestSoakTimes(t *testing.T) {
	t.Parallel()
	s := time.Second
	if got := soakTimes(3*s, 10*time.Minute, 30*s); len(got) != 21 || got[0] != 3*s || got[1] != 33*s || got[20] != 3*s+10*time.Minute-2*s {
		t.Errorf("10 min soak: %d samples %v … %v", len(got), got[:2], got[len(got)-1])
	}
	if got := soakTimes(s, 3*s, 30*s); !slices.Equal(got, []time.Duration{s, s + 3*s - 300*time.Millisecond}) {
		t.Errorf("3 s soak: %v", got)
	}
}

// parseMetrics reads the three gauges and the build labels from a service's exposition, and names a missing
// gauge.
func TestParseMetrics(t *testing.T) {
	t.Parallel()
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 61
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 4.718592e+06
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.1e+07
# TYPE mcpbox_gateway_build_info gauge
mcpbox_gateway_build_info{go_version="go1.27.3",revision="abc123",version="v1-dirty"} 1
# TYPE go_goroutines_other counter
go_goroutines_other_total 5
`
	s, bi, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if s != (serviceSample{Goroutines: 61, HeapInuseBytes: 4718592, RSSBytes: 21e6}) {
		t.Errorf("sample %+v", s)
	}
	if bi != (buildInfo{Version: "v1-dirty", Revision: "abc123", GoVersion: "go1.27.3"}) {
		t.Errorf("build %+v", bi)
	}
	_, _, err = parseMetrics(strings.NewReader("# TYPE go_goroutines gauge\ngo_goroutines 3\n"))
	if err == nil || !strings.Contains(err.Error(), "go_memstats_heap_inuse_bytes") && !strings.Contains(err.Error(), "process_resident_memory_bytes") {
		t.Errorf("error %v, want one naming a missing gauge", err)
	}
	if _, _, err := parseMetrics(strings.NewReader("not { metrics")); err == nil {
		t.Error("garbage parsed")
	}
}
