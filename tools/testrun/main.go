// Command testrun is `make test` (operations.md §1.4). It runs the stages
// deps, postgres, generate, lint, vuln, unit, deploy, e2e and bench in order,
// logs each to .cache/test-logs/<stage>.log, prints the tail of every failing
// log and a table, and ends with the line
//
//	summary: <passed> passed, <failed> failed, <skipped> skipped
//
// A failing stage does not stop later ones. SIGTERM (the timeout in .ci/run)
// or SIGINT marks the running stage timeout or interrupted, stops the
// throwaway test cluster and still prints the table and summary. The exit
// status is 1 on any failure.
//
// The Makefile builds it into .cache/bin/testrun and runs
//
//	testrun -root <repository root>
//
// Environment: CI=true turns a skip missing from tools/testrun/allowed-skips.txt
// into a failure; MCPBOX_TEST_DATABASE_URL picks the test database.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
	"github.com/mcpbox/mcpbox/tools/testrun/internal/pipeline"
)

// budget is the total a cold run should stay under (operations.md §8).
const budget = 35 * time.Minute

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

func run(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("testrun", flag.ContinueOnError)
	fs.SetOutput(out)
	root := fs.String("root", "", "repository root (default: the nearest directory above the working directory holding go.work)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *root == "" {
		r, err := repo.RootFromWD()
		if err != nil {
			_, _ = fmt.Fprintf(out, "testrun: %v; pass -root\n", err)
			return 2
		}
		*root = r
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		_, _ = fmt.Fprintf(out, "testrun: %v\n", err)
		return 2
	}
	cfg := config{
		root:    abs,
		logDir:  filepath.Join(abs, ".cache", "test-logs"),
		ci:      isCI(os.Getenv("CI")),
		envURL:  os.Getenv("MCPBOX_TEST_DATABASE_URL"),
		environ: os.Environ(),
	}
	st, err := newState(cfg)
	if err != nil {
		_, _ = fmt.Fprintf(out, "testrun: %v\nsummary: 0 passed, 1 failed, 0 skipped\n", err)
		return 1
	}
	ctx, stop := withSignals(context.Background(), out)
	defer stop()
	runner := &pipeline.Runner{LogDir: cfg.logDir, Out: out, Budget: budget}
	return execute(ctx, runner, st.stages(), st.cleanup, out)
}

// execute runs the stages, then cleanup (which stops the throwaway cluster),
// then prints the report; it returns the exit status. main and the OPS-7
// helper process share it.
func execute(ctx context.Context, r *pipeline.Runner, stages []pipeline.Stage, cleanup func(context.Context), out io.Writer) int {
	rep := r.Run(ctx, stages)
	cleanup(context.WithoutCancel(ctx))
	rep.Print(out)
	return rep.ExitCode()
}

// withSignals returns a context cancelled with pipeline.ErrTerminated on
// SIGTERM and pipeline.ErrInterrupted on SIGINT. Later signals are absorbed so
// that cleanup and the report still run.
func withSignals(parent context.Context, out io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
	go func() {
		for s := range ch {
			cause := pipeline.ErrInterrupted
			if s == syscall.SIGTERM {
				cause = pipeline.ErrTerminated
			}
			if ctx.Err() == nil {
				_, _ = fmt.Fprintf(out, "testrun: %v: stopping the running stage, then reporting\n", cause)
			}
			cancel(cause)
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(ch)
		cancel(nil)
	}
}

func isCI(v string) bool {
	return v != "" && v != "false" && v != "0"
}
