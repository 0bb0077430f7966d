package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcpbox/mcpbox/tools/testrun/internal/gotest"
)

var summaryRE = regexp.MustCompile(`^summary: (\d+) passed, (\d+) failed, (\d+) skipped$`)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func stage(name string, res Result, logText string) Stage {
	return Stage{Name: name, Run: func(_ context.Context, log io.Writer) Result {
		_, _ = io.WriteString(log, logText)
		return res
	}}
}

// TestOPS9_SummaryAndExitStatus checks the last line's format, the counting
// of go test and other stages, and that any failure exits non-zero (OPS-9).
func TestOPS9_SummaryAndExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		stages   []Stage
		summary  string
		exitCode int
	}{
		{
			name: "all passed",
			stages: []Stage{
				stage("deps", Result{Status: Passed}, ""),
				stage("unit", Result{Status: Passed, Tests: &gotest.Counts{Passed: 41, Skipped: 2}}, ""),
				stage("e2e", Result{Status: Skipped, Note: "no tools/e2e"}, ""),
			},
			summary:  "summary: 42 passed, 0 failed, 2 skipped",
			exitCode: 0,
		},
		{
			name: "a failing check stage counts one failure",
			stages: []Stage{
				stage("deps", Result{Status: Passed}, ""),
				stage("lint", Result{Status: Failed}, "lint output\nfile.go:1: bad\n"),
				stage("unit", Result{Status: Passed, Tests: &gotest.Counts{Passed: 3}}, ""),
			},
			summary:  "summary: 4 passed, 1 failed, 0 skipped",
			exitCode: 1,
		},
		{
			name: "a go test stage that failed without a failed test counts one",
			stages: []Stage{
				stage("unit", Result{Status: Failed, Tests: &gotest.Counts{Passed: 5}}, "go: cannot find main module\n"),
			},
			summary:  "summary: 5 passed, 1 failed, 0 skipped",
			exitCode: 1,
		},
		{
			name: "failed tests count themselves",
			stages: []Stage{
				stage("unit", Result{Status: Failed, Tests: &gotest.Counts{Passed: 5, Failed: 2, Skipped: 1}}, ""),
			},
			summary:  "summary: 5 passed, 2 failed, 1 skipped",
			exitCode: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			r := &Runner{LogDir: t.TempDir(), Out: &out}
			rep := r.Run(t.Context(), tt.stages)
			var printed bytes.Buffer
			rep.Print(&printed)
			last := lastLine(printed.String())
			if !summaryRE.MatchString(last) {
				t.Fatalf("last line %q does not match %s", last, summaryRE)
			}
			if last != tt.summary {
				t.Errorf("last line = %q, want %q", last, tt.summary)
			}
			if got := rep.ExitCode(); got != tt.exitCode {
				t.Errorf("ExitCode() = %d, want %d", got, tt.exitCode)
			}
		})
	}
}

func TestReportPrintsFailingTailsAndTable(t *testing.T) {
	t.Parallel()
	var logText strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&logText, "line %d\n", i)
	}
	r := &Runner{LogDir: t.TempDir(), Out: io.Discard, Budget: time.Nanosecond}
	rep := r.Run(t.Context(), []Stage{
		stage("lint", Result{Status: Failed, Note: "make lint failed", Details: []string{"pkg TestX"}}, logText.String()),
		stage("vuln", Result{Status: Passed}, "quiet\n"),
	})
	var out bytes.Buffer
	rep.Print(&out)
	got := out.String()
	for _, want := range []string{"line 61\n", "line 100\n", "---- lint: failures ----\npkg TestX\n", "warning: make test took", "stage", "lint", "failed", "make lint failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"line 60\n", "quiet"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("report contains %q (only the last %d lines of failing logs belong):\n%s", unwanted, TailLines, got)
		}
	}
	b, err := os.ReadFile(filepath.Join(r.LogDir, "vuln.log"))
	if err != nil || string(b) != "quiet\n" {
		t.Errorf("vuln.log = %q, %v", b, err)
	}
}

// TestSIGTERMMarksTheRunningStageTimeout cancels the run as main does on
// SIGTERM: the running stage is timeout, later stages are not run, and the
// report still ends with the summary (operations.md §8).
func TestSIGTERMMarksTheRunningStageTimeout(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(t.Context())
	r := &Runner{LogDir: t.TempDir(), Out: io.Discard}
	rep := r.Run(ctx, []Stage{
		stage("deps", Result{Status: Passed}, ""),
		{Name: "unit", Run: func(ctx context.Context, log io.Writer) Result {
			cancel(ErrTerminated)
			<-ctx.Done()
			return Result{Status: Failed, Tests: &gotest.Counts{Passed: 7}}
		}},
		stage("e2e", Result{Status: Passed}, ""),
	})
	var got []Status
	for _, s := range rep.Stages {
		got = append(got, s.Result.Status)
	}
	if diff := cmp.Diff([]Status{Passed, Timeout, NotRun}, got); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
	if rep.ExitCode() == 0 {
		t.Error("ExitCode() = 0 after SIGTERM")
	}
	var out bytes.Buffer
	rep.Print(&out)
	if last := lastLine(out.String()); last != "summary: 8 passed, 1 failed, 0 skipped" {
		t.Errorf("last line = %q", last)
	}
}

func TestExecKillsTheProcessGroupOnCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var log bytes.Buffer
	start := time.Now()
	// The shell's child sleep is in the same process group and must die too,
	// or Wait would block on the inherited output pipe.
	err := Exec(ctx, &lockedWriter{w: &log}, Command{Args: []string{"sh", "-c", "sleep 30 & sleep 30"}})
	if err == nil {
		t.Fatal("Exec = nil error after cancellation")
	}
	if d := time.Since(start); d > KillGrace+3*time.Second {
		t.Errorf("Exec took %s after cancellation", d)
	}
	if !strings.Contains(log.String(), "$ sh -c sleep 30 & sleep 30") {
		t.Errorf("log lacks the command line:\n%s", log.String())
	}
}
