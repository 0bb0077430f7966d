package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// loadRun is one loadgen run.
type loadRun struct {
	target   target
	method   string // call or list
	rate     float64
	duration time.Duration
	warmup   time.Duration
}

// runsOf lists the loadgen runs the options ask for: P1 at each rate, then P2.
func runsOf(o options) []loadRun {
	var out []loadRun
	if o.has(runP1) {
		for _, r := range o.p1Rates {
			out = append(out, loadRun{target: p1Target(), method: "call", rate: r, duration: o.p1Duration, warmup: o.p1Warmup})
		}
	}
	if o.has(runP2) {
		out = append(out, loadRun{target: p2Target(), method: "list", rate: o.p2Rate, duration: o.p2Duration, warmup: o.p2Warmup})
	}
	return out
}

// name is the run's name in report file names: p1-250, p2-50.
func (r loadRun) name() string {
	n := "p1"
	if r.method == "list" {
		n = "p2"
	}
	return n + "-" + strconv.FormatFloat(r.rate, 'f', -1, 64)
}

// requests is the number of requests the run offers, warm-up included.
func (r loadRun) requests() int { return int(r.rate * (r.warmup + r.duration).Seconds()) }

// loadgenArgs is loadgen's command line for run against the local listener url.
func loadgenArgs(r loadRun, o options, url, out string) []string {
	args := []string{
		"gateway", "-url", url, "-era", o.era, "-method", r.method,
		"-rate", strconv.FormatFloat(r.rate, 'f', -1, 64), "-duration", r.duration.String(), "-warmup", r.warmup.String(),
		"-workers", strconv.Itoa(o.workers), "-out", out,
	}
	if r.method == "call" {
		args = append(args, "-tool", addTool, "-args", addArgs)
	}
	return args
}

// runLoadgen runs loadgen, its JSON report going to stdout and its summary to stderr, and returns the report and
// loadgen's own CPU time. loadgen exits 1 when its run fails; the report says why, so only a missing report is an
// error here. An interrupt reaches loadgen as SIGINT; it stops and still reports.
func runLoadgen(ctx context.Context, bin string, args []string, stdout, stderr io.Writer) (report, time.Duration, error) {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = io.MultiWriter(stdout, &buf), stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if buf.Len() == 0 {
		return report{}, cpu, fmt.Errorf("loadgen %v printed no report: %w", args, err)
	}
	rep, perr := parseReport(buf.Bytes())
	if perr != nil {
		return report{}, cpu, perr
	}
	return rep, cpu, nil
}

// reportPath is where loadgen writes the report of run.
func reportPath(dir string, r loadRun, now time.Time) string {
	return filepath.Join(dir, "gateway-"+r.name()+"-"+now.UTC().Format("20060102T150405Z")+".json")
}

// ensureDir creates the reports directory.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports directory: %w", err)
	}
	return nil
}

// writeFile writes a report.
func writeFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
