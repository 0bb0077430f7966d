// Package gotest counts the results in `go test -json` streams for the test
// runner's summary (operations.md §1.4).
//
// Every pass, fail or skip event that names a test counts once, so subtests
// count as well as their parents. A package that fails without a failing test
// (a build failure, a panic in TestMain, a timeout) counts as one failure. With
// strict skips (CI=true), a skip that the allowlist does not name counts as a
// failure, so a missing browser or database cannot hide.
//
// A Tally is an io.Writer: the runner points go test's stdout at it, and it
// writes the human-readable output of each event to the stage log.
package gotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Counts is the number of tests that passed, failed and were skipped.
type Counts struct {
	Passed  int
	Failed  int
	Skipped int
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Passed += o.Passed
	c.Failed += o.Failed
	c.Skipped += o.Skipped
}

// event is the part of test2json's TestEvent the tally reads.
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

// benchLine matches a benchmark result line such as
// "BenchmarkParse-2   \t       1\t     601.0 ns/op".
var benchLine = regexp.MustCompile(`^Benchmark\S*\s+\d+\s+.*/op`)

// Tally consumes one or more `go test -json` streams.
type Tally struct {
	mu      sync.Mutex
	out     io.Writer
	strict  bool
	allow   Allowlist
	partial []byte

	counts          Counts
	failedTests     map[string]int // package → failed test events
	failedPackages  map[string]bool
	failedNames     []string
	unexpectedSkips []string
	benchmarks      []string

	// output holds the output of each running test and of each package
	// (key "<package> <test>", or the package alone) until it passes; the
	// output of failures is kept for the report, up to maxReports of them.
	output  map[string][]string
	reports []string
}

// Limits of the failure reports.
const (
	maxReports     = 20
	maxReportLines = 30
)

// NewTally returns a Tally that renders each event's output to out (which may
// be io.Discard). With strict set, a skip missing from allow counts as failed.
func NewTally(out io.Writer, strict bool, allow Allowlist) *Tally {
	return &Tally{
		out:            out,
		strict:         strict,
		allow:          allow,
		failedTests:    map[string]int{},
		failedPackages: map[string]bool{},
		output:         map[string][]string{},
	}
}

// Write feeds stream bytes to the tally; it never fails on malformed input:
// lines that are not JSON events are copied to the output as they are.
func (t *Tally) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.line(t.partial[:i+1])
		t.partial = t.partial[i+1:]
	}
	return len(p), nil
}

// Stream returns a writer for one of several `go test -json` streams that
// feed the tally at the same time: it hands the tally whole lines only, so
// lines of concurrent streams never mix. Flush it when its stream ends.
func (t *Tally) Stream() *Stream { return &Stream{t: t} }

// Stream is one stream's writer into a Tally (see Tally.Stream).
type Stream struct {
	t       *Tally
	partial []byte
}

// Write buffers p and passes every complete line on to the tally.
func (s *Stream) Write(p []byte) (int, error) {
	s.partial = append(s.partial, p...)
	if i := bytes.LastIndexByte(s.partial, '\n'); i >= 0 {
		_, _ = s.t.Write(s.partial[:i+1])
		s.partial = append(s.partial[:0], s.partial[i+1:]...)
	}
	return len(p), nil
}

// Flush passes a final line that had no newline on to the tally.
func (s *Stream) Flush() {
	if len(s.partial) > 0 {
		_, _ = s.t.Write(append(s.partial, '\n'))
		s.partial = nil
	}
}

// Flush processes a final line that had no newline.
func (t *Tally) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.partial) > 0 {
		t.line(append(t.partial, '\n'))
		t.partial = nil
	}
}

func (t *Tally) line(raw []byte) {
	var ev event
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &ev) != nil || ev.Action == "" {
		t.write(raw)
		return
	}
	key := ev.Package
	if ev.Test != "" {
		key += " " + ev.Test
	}
	switch ev.Action {
	case "output", "build-output":
		t.write([]byte(ev.Output))
		if ev.Action == "build-output" {
			// "example.com/p [example.com/p.test]": report it with the package.
			key, _, _ = strings.Cut(ev.ImportPath, " ")
		}
		t.output[key] = append(t.output[key], strings.TrimRight(ev.Output, "\n"))
		if ev.Test != "" && benchLine.MatchString(ev.Output) {
			t.benchmarks = append(t.benchmarks, ev.Package+" "+strings.TrimSpace(ev.Output))
		}
	case "pass":
		delete(t.output, key)
		if ev.Test != "" {
			t.counts.Passed++
		}
	case "fail":
		if ev.Test == "" {
			t.failedPackages[ev.Package] = true
			if t.failedTests[ev.Package] == 0 {
				t.report(key)
			}
			delete(t.output, key)
			return
		}
		t.counts.Failed++
		t.failedTests[ev.Package]++
		t.failedNames = append(t.failedNames, key)
		t.report(key)
	case "skip":
		delete(t.output, key)
		if ev.Test == "" {
			return // a package without test files
		}
		if t.strict && !t.allow.Allows(ev.Package, ev.Test) {
			t.counts.Failed++
			t.failedTests[ev.Package]++
			t.unexpectedSkips = append(t.unexpectedSkips, ev.Package+" "+ev.Test)
			t.write(fmt.Appendf(nil, "testrun: skip of %s %s is not in tools/testrun/allowed-skips.txt (CI): counted as failed\n", ev.Package, ev.Test))
			return
		}
		t.counts.Skipped++
	}
}

// report keeps the last lines of a failure's output.
func (t *Tally) report(key string) {
	lines := t.output[key]
	delete(t.output, key)
	if len(t.reports) >= maxReports {
		return
	}
	if len(lines) > maxReportLines {
		lines = append([]string{"  ..."}, lines[len(lines)-maxReportLines:]...)
	}
	t.reports = append(t.reports, "FAIL "+key+"\n"+strings.Join(lines, "\n"))
}

// Reports returns, for the first failures, the name and the last lines of
// output of each failed test, and of each package that failed without a
// failing test (its build errors, say).
func (t *Tally) Reports() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.reports...)
}

func (t *Tally) write(p []byte) {
	if t.out != nil {
		_, _ = t.out.Write(p)
	}
}

// Counts returns the totals so far: test events, plus one failure for each
// package that failed without a failing test.
func (t *Tally) Counts() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.counts
	for pkg := range t.failedPackages {
		if t.failedTests[pkg] == 0 {
			c.Failed++
		}
	}
	return c
}

// Failures names each failed test ("<package> <test>") and each package that
// failed without one ("<package> (package)"), sorted.
func (t *Tally) Failures() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.failedNames...)
	out = append(out, t.unexpectedSkips...)
	for pkg := range t.failedPackages {
		if t.failedTests[pkg] == 0 {
			out = append(out, pkg+" (package: build failure or failure outside a test)")
		}
	}
	sort.Strings(out)
	return out
}

// UnexpectedSkips names the skips counted as failures under strict skips.
func (t *Tally) UnexpectedSkips() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.unexpectedSkips...)
}

// Benchmarks returns the benchmark result lines seen, each prefixed with its package.
func (t *Tally) Benchmarks() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.benchmarks...)
}
