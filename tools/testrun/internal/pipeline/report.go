package pipeline

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mcpbox/mcpbox/tools/testrun/internal/gotest"
)

// TailLines is how much of a failing stage's log the report prints.
const TailLines = 40

// Report is the outcome of a run.
type Report struct {
	Stages []StageReport
	Total  time.Duration
	Budget time.Duration
}

// Counts adds up the summary: the test counts of go test stages, and one test
// for every other stage that passed or failed. A go test stage that failed
// without a failing test (its command could not run, say) adds one failure.
func (r *Report) Counts() gotest.Counts {
	var c gotest.Counts
	for _, s := range r.Stages {
		res := s.Result
		if res.Tests != nil {
			c.Add(*res.Tests)
			if res.Status != Passed && res.Status != Skipped && res.Tests.Failed == 0 {
				c.Failed++
			}
			continue
		}
		switch res.Status {
		case Passed:
			c.Passed++
		case Failed, Timeout, Interrupted:
			c.Failed++
		case Skipped, NotRun:
		}
	}
	return c
}

// OK reports whether the run passed: no failure counted and no stage left
// unfinished.
func (r *Report) OK() bool {
	if r.Counts().Failed > 0 {
		return false
	}
	for _, s := range r.Stages {
		if s.Result.Status != Passed && s.Result.Status != Skipped {
			return false
		}
	}
	return true
}

// ExitCode is 0 when the run passed and 1 otherwise.
func (r *Report) ExitCode() int {
	if r.OK() {
		return 0
	}
	return 1
}

// SummaryLine is the last line of the report.
func (r *Report) SummaryLine() string {
	c := r.Counts()
	return fmt.Sprintf("summary: %d passed, %d failed, %d skipped", c.Passed, c.Failed, c.Skipped)
}

// Print writes the tails of failing logs, the budget warning, the table and,
// last, the summary line.
func (r *Report) Print(w io.Writer) {
	for _, s := range r.Stages {
		switch s.Result.Status {
		case Failed, Timeout, Interrupted:
		case Passed, Skipped, NotRun:
			continue
		}
		_, _ = fmt.Fprintf(w, "\n---- %s: %s; last %d lines of %s ----\n", s.Name, s.Result.Status, TailLines, s.LogPath)
		for _, l := range tail(s.LogPath, TailLines) {
			_, _ = fmt.Fprintln(w, l)
		}
		if len(s.Result.Details) > 0 {
			_, _ = fmt.Fprintf(w, "---- %s: failures ----\n", s.Name)
			for _, d := range s.Result.Details {
				_, _ = fmt.Fprintln(w, d)
			}
		}
	}
	_, _ = fmt.Fprintln(w)
	if r.Budget > 0 && r.Total > r.Budget {
		_, _ = fmt.Fprintf(w, "warning: make test took %s, over its %s budget (operations.md §8): find the stage that grew\n",
			r.Total.Round(time.Second), r.Budget)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "stage\tresult\tseconds\ttests\tnote")
	for _, s := range r.Stages {
		tests := "-"
		if t := s.Result.Tests; t != nil {
			tests = fmt.Sprintf("%d/%d/%d", t.Passed, t.Failed, t.Skipped)
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t%s\n", s.Name, s.Result.Status, s.Duration.Seconds(), tests, s.Result.Note)
	}
	_, _ = fmt.Fprintf(tw, "total\t\t%.1f\t\t(tests: passed/failed/skipped)\n", r.Total.Seconds())
	_ = tw.Flush()
	_, _ = fmt.Fprintln(w, r.SummaryLine())
}

// tail returns the last n lines of the file at path, or a line saying why not.
func tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{fmt.Sprintf("(cannot read %s: %v)", path, err)}
	}
	defer func() { _ = f.Close() }()
	ring := make([]string, 0, n)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if len(ring) == n {
			ring = ring[1:]
		}
		ring = append(ring, strings.TrimRight(sc.Text(), "\r"))
	}
	return ring
}

// lockedWriter serialises writes from a stage's concurrent commands.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("write log: %w", err)
	}
	return n, nil
}
