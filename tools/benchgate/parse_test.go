package main

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		name string
		ns   float64
		ok   bool
	}{
		{"BenchmarkBareSDKCall-2   	    2725	    590381 ns/op	  416109 B/op	     348 allocs/op", "BenchmarkBareSDKCall", 590381, true},
		{"BenchmarkX-16 1000 12.5 ns/op", "BenchmarkX", 12.5, true},
		{"BenchmarkNoProcs 10 7 ns/op", "BenchmarkNoProcs", 7, true},
		{"BenchmarkSub/case-a-2 10 7 ns/op", "BenchmarkSub/case-a", 7, true},
		{"BenchmarkX-2 10 3 MB/s 7 ns/op", "BenchmarkX", 7, true},
		{"BenchmarkX-2 10 100 B/op 3 allocs/op", "", 0, false},
		{"BenchmarkX-2 --- FAIL: something went wrong", "", 0, false},
		{"BenchmarkX-2 0 7 ns/op", "", 0, false},
		{"BenchmarkX-2 10 NaN ns/op", "", 0, false},
		{"BenchmarkX-2 10 -7 ns/op", "", 0, false},
		{"BenchmarkX-2 10 +Inf ns/op", "", 0, false},
		{"pkg: github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve", "", 0, false},
		{"ok  	github.com/mcpbox/mcpbox/proto/canon	3.112s", "", 0, false},
		{"PASS", "", 0, false},
	}
	for _, tt := range tests {
		name, ns, ok := parseLine(tt.line)
		if name != tt.name || ns != tt.ns || ok != tt.ok {
			t.Errorf("parseLine(%q) = %q, %g, %v; want %q, %g, %v", tt.line, name, ns, ok, tt.name, tt.ns, tt.ok)
		}
	}
}

func TestParseCollectsRunsByName(t *testing.T) {
	t.Parallel()
	in := "goos: linux\nBenchmarkA-2 10 5 ns/op\nsome test log line\nBenchmarkB-2 10 7 ns/op\nBenchmarkA-2 10 6 ns/op\nPASS\n"
	got, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{"BenchmarkA": {5, 6}, "BenchmarkB": {7}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// parse reads untrusted text: it never panics, and every value it returns is a positive finite ns/op of a name
// that starts with Benchmark.
func FuzzParse(f *testing.F) {
	f.Add("BenchmarkBareSDKCall-2   	    2725	    590381 ns/op	  416109 B/op	     348 allocs/op\n")
	f.Add("BenchmarkX-2 10 3 MB/s 7 ns/op\nBenchmarkX-2 10 8 ns/op\n")
	f.Add("Benchmark- 1 1 ns/op\nBenchmark-2-3 1 1e308 ns/op\n")
	f.Add("BenchmarkZ 1 1.7e308 ns/op\nBenchmarkZ 1 1.6e308 ns/op\n")
	f.Add("goos: linux\nPASS\nok x 1s\n")
	f.Add(strings.Repeat("x", 70000) + "\nBenchmarkY-2 1 2 ns/op\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parse(strings.NewReader(in))
		if err != nil {
			return // a line beyond maxLineBytes
		}
		for name, vs := range got {
			if !strings.HasPrefix(name, "Benchmark") || len(vs) == 0 {
				t.Fatalf("name %q with %d values", name, len(vs))
			}
			for _, v := range vs {
				if !(v > 0) || math.IsInf(v, 0) {
					t.Fatalf("%s: value %g", name, v)
				}
			}
			if m := median(vs); !(m > 0) || math.IsInf(m, 0) {
				t.Fatalf("%s: median %g of %v", name, m, vs)
			}
		}
	})
}
