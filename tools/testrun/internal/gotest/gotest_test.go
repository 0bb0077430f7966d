package gotest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fixtures are recorded `go test -json` output:
//   - mixed.jsonl: package mixed has a pass, a fail, a skip and a table with a
//     passing, a skipped and a nested failing subtest; buildfail does not
//     compile; mainfail's tests pass but its TestMain exits 3; notests has no
//     test files.
//   - bench.jsonl: one passing test and one benchmark run with -benchtime=1x.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustAllowlist(t *testing.T, text string) Allowlist {
	t.Helper()
	a, err := ParseAllowlist(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestOPS9_CountsFromRecordedStreams checks the counting rules on recorded
// streams, including CI's skip allowlist (OPS-9).
func TestOPS9_CountsFromRecordedStreams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
		strict  bool
		allow   string
		want    Counts
		skips   []string
	}{
		{
			// 3 passes (TestPass, TestTable/ok, mainfail TestOK); 4 failed tests
			// (TestFail, TestTable, TestTable/nested, TestTable/nested/deep) plus one
			// each for buildfail and mainfail, which failed without a failing test;
			// 2 skips (TestSkip, TestTable/skipped).
			name: "local", fixture: "mixed.jsonl",
			want: Counts{Passed: 3, Failed: 6, Skipped: 2},
		},
		{
			name: "CI, empty allowlist", fixture: "mixed.jsonl", strict: true,
			want:  Counts{Passed: 3, Failed: 8, Skipped: 0},
			skips: []string{"example.com/fx/mixed TestSkip", "example.com/fx/mixed TestTable/skipped"},
		},
		{
			name: "CI, one skip allowed", fixture: "mixed.jsonl", strict: true,
			allow: "example.com/fx/mixed TestTable/skipped  # needs a database\n",
			want:  Counts{Passed: 3, Failed: 7, Skipped: 1},
			skips: []string{"example.com/fx/mixed TestSkip"},
		},
		{
			name: "benchmarks are not tests", fixture: "bench.jsonl",
			want: Counts{Passed: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tally := NewTally(&bytes.Buffer{}, tt.strict, mustAllowlist(t, tt.allow))
			if _, err := tally.Write(readFixture(t, tt.fixture)); err != nil {
				t.Fatal(err)
			}
			tally.Flush()
			if diff := cmp.Diff(tt.want, tally.Counts()); diff != "" {
				t.Errorf("counts mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.skips, tally.UnexpectedSkips()); diff != "" {
				t.Errorf("unexpected skips mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTallyNamesFailures(t *testing.T) {
	t.Parallel()
	tally := NewTally(nil, false, Allowlist{})
	_, _ = tally.Write(readFixture(t, "mixed.jsonl"))
	want := []string{
		"example.com/fx/buildfail (package: build failure or failure outside a test)",
		"example.com/fx/mainfail (package: build failure or failure outside a test)",
		"example.com/fx/mixed TestFail",
		"example.com/fx/mixed TestTable",
		"example.com/fx/mixed TestTable/nested",
		"example.com/fx/mixed TestTable/nested/deep",
	}
	if diff := cmp.Diff(want, tally.Failures()); diff != "" {
		t.Errorf("failures mismatch (-want +got):\n%s", diff)
	}
}

func TestTallyReportsFailureOutput(t *testing.T) {
	t.Parallel()
	tally := NewTally(nil, false, Allowlist{})
	_, _ = tally.Write(readFixture(t, "mixed.jsonl"))
	reports := strings.Join(tally.Reports(), "\n====\n")
	for _, want := range []string{
		"FAIL example.com/fx/mixed TestFail\n",
		"mixed_test.go:7: boom",
		"FAIL example.com/fx/mixed TestTable/nested/deep\n",
		"deep failure",
		"FAIL example.com/fx/buildfail\n",
		"undefined: undefinedFunction",
		"FAIL example.com/fx/mainfail\n",
	} {
		if !strings.Contains(reports, want) {
			t.Errorf("reports lack %q:\n%s", want, reports)
		}
	}
	if strings.Contains(reports, "TestPass") {
		t.Errorf("reports include a passing test:\n%s", reports)
	}
}

func TestTallyRendersOutputAndBenchmarks(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	tally := NewTally(&out, false, Allowlist{})
	raw := readFixture(t, "bench.jsonl")
	// Feed it in awkward pieces: the tally must reassemble lines.
	for len(raw) > 0 {
		n := min(7, len(raw))
		_, _ = tally.Write(raw[:n])
		raw = raw[n:]
	}
	_, _ = tally.Write([]byte("go: downloading example.com/x v1.0.0"))
	tally.Flush()
	got := out.String()
	for _, want := range []string{"=== RUN   TestOK\n", "--- PASS: TestOK", "ok  \texample.com/fx/bench", "go: downloading example.com/x v1.0.0\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"Action"`) {
		t.Errorf("rendered output contains raw JSON:\n%s", got)
	}
	b := tally.Benchmarks()
	if len(b) != 1 || !strings.HasPrefix(b[0], "example.com/fx/bench BenchmarkLoop") || !strings.HasSuffix(b[0], "ns/op") {
		t.Errorf("Benchmarks() = %q, want one BenchmarkLoop line", b)
	}
}

func TestParseAllowlist(t *testing.T) {
	t.Parallel()
	a := mustAllowlist(t, "# header\n\nexample.com/p TestA/sub  # why\n  example.com/q TestB\n")
	if a.Len() != 2 || !a.Allows("example.com/p", "TestA/sub") || !a.Allows("example.com/q", "TestB") {
		t.Errorf("allowlist = %+v, want the two entries", a)
	}
	if a.Allows("example.com/p", "TestA") {
		t.Error("a subtest entry must not allow its parent")
	}
	for _, bad := range []string{"TestOnlyName\n", "example.com/p TestA extra\n"} {
		if _, err := ParseAllowlist(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseAllowlist(%q) = nil error, want one naming the line", bad)
		}
	}
}

func TestAllowlistFileParses(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("..", "..", "allowed-skips.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := ParseAllowlist(f); err != nil {
		t.Errorf("tools/testrun/allowed-skips.txt: %v", err)
	}
}

// TestStreamsFeedOneTallyConcurrently: two recorded streams written at the
// same time, in odd-sized chunks that split lines, count as if each had been
// fed alone (the e2e stage runs tools/e2e and the browser suites at once).
func TestStreamsFeedOneTallyConcurrently(t *testing.T) {
	t.Parallel()
	mixed, bench := readFixture(t, "mixed.jsonl"), readFixture(t, "bench.jsonl")
	tally := NewTally(&bytes.Buffer{}, false, Allowlist{})
	var wg sync.WaitGroup
	for _, data := range [][]byte{mixed, bench} {
		wg.Go(func() {
			s := tally.Stream()
			for i := 0; i < len(data); i += 7 {
				_, _ = s.Write(data[i:min(i+7, len(data))])
			}
			s.Flush()
		})
	}
	wg.Wait()
	if diff := cmp.Diff(Counts{Passed: 4, Failed: 6, Skipped: 2}, tally.Counts()); diff != "" {
		t.Errorf("counts mismatch (-want +got):\n%s", diff)
	}
}
