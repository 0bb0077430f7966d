// Package pipeline runs the stages of `make test` in order, logs each to
// .cache/test-logs/<stage>.log, and reports a table and the final summary line
// (operations.md §1.4):
//
//	summary: <passed> passed, <failed> failed, <skipped> skipped
//
// A failing stage does not stop later ones. When the context is cancelled
// with ErrTerminated (SIGTERM, e.g. from .ci/run's timeout) or ErrInterrupted
// (SIGINT), the running stage is marked timeout or interrupted, later stages
// are not run, and the report is still produced.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mcpbox/mcpbox/tools/testrun/internal/gotest"
)

// Cancellation causes; main cancels the run's context with one of these.
var (
	ErrTerminated  = errors.New("terminated (SIGTERM)")
	ErrInterrupted = errors.New("interrupted (SIGINT)")
)

// Status is a stage's outcome.
type Status string

// Stage outcomes.
const (
	Passed      Status = "passed"
	Failed      Status = "failed"
	Skipped     Status = "skipped"
	Timeout     Status = "timeout"
	Interrupted Status = "interrupted"
	NotRun      Status = "not run"
)

// Result is what a stage reports.
type Result struct {
	Status Status
	// Note is a short line for the table ("throwaway cluster on 127.0.0.1:15433").
	Note string
	// Tests holds the counts of a stage that runs go test; nil for other
	// stages, which count as one test each.
	Tests *gotest.Counts
	// Details are printed after a failing stage's log tail: each failed
	// test with its last lines of output, unexpected skips, errors.
	Details []string
}

// Stage is one step of the run. Run writes its log to log; it should return
// promptly once ctx is cancelled.
type Stage struct {
	Name string
	Run  func(ctx context.Context, log io.Writer) Result
}

// StageReport is a stage's row in the final table.
type StageReport struct {
	Name     string
	Result   Result
	Duration time.Duration
	LogPath  string
}

// Runner runs stages.
type Runner struct {
	// LogDir receives <stage>.log; it is created when missing.
	LogDir string
	// Out receives progress lines and the report.
	Out io.Writer
	// Budget is the total time past which the report warns; zero disables the warning.
	Budget time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run runs the stages in order and returns the report. It never stops early
// for a failure, only for a cancelled ctx.
func (r *Runner) Run(ctx context.Context, stages []Stage) *Report {
	rep := &Report{Budget: r.Budget}
	start := r.now()
	if err := os.MkdirAll(r.LogDir, 0o750); err != nil {
		_, _ = fmt.Fprintf(r.Out, "testrun: create %s: %v\n", r.LogDir, err)
	}
	for _, st := range stages {
		if ctx.Err() != nil {
			rep.Stages = append(rep.Stages, StageReport{Name: st.Name, Result: Result{Status: NotRun}})
			continue
		}
		rep.Stages = append(rep.Stages, r.runStage(ctx, st))
	}
	rep.Total = r.now().Sub(start)
	return rep
}

func (r *Runner) runStage(ctx context.Context, st Stage) StageReport {
	path := filepath.Join(r.LogDir, st.Name+".log")
	_, _ = fmt.Fprintf(r.Out, "==> %s (log: %s)\n", st.Name, path)
	begin := r.now()
	res := r.call(ctx, st, path)
	if err := context.Cause(ctx); err != nil {
		// The stage ran into the end of the run: whatever it reported, it did not finish.
		res.Status = Interrupted
		if errors.Is(err, ErrTerminated) {
			res.Status = Timeout
		}
		res.Note = err.Error()
	}
	d := r.now().Sub(begin)
	_, _ = fmt.Fprintf(r.Out, "<== %s: %s in %.1fs%s\n", st.Name, res.Status, d.Seconds(), notePart(res.Note))
	return StageReport{Name: st.Name, Result: res, Duration: d, LogPath: path}
}

func (r *Runner) call(ctx context.Context, st Stage, path string) (res Result) {
	f, err := os.Create(path)
	if err != nil {
		return Result{Status: Failed, Note: fmt.Sprintf("create log: %v", err)}
	}
	defer func() { _ = f.Close() }()
	log := &lockedWriter{w: f}
	defer func() {
		if p := recover(); p != nil {
			_, _ = fmt.Fprintf(log, "testrun: stage %s panicked: %v\n", st.Name, p)
			res = Result{Status: Failed, Note: fmt.Sprintf("panic: %v", p)}
		}
	}()
	return st.Run(ctx, log)
}

func notePart(note string) string {
	if note == "" {
		return ""
	}
	return " (" + note + ")"
}
