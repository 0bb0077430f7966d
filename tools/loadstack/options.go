package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names of the runs (gateway.md §15).
const (
	runP1 = "p1" // tools/call of the trivial tool, end to end through the real sandbox
	runP2 = "p2" // tools/list with -list-tools user tools
)

// defaultAdminDB is the test server of operations.md §1.4 when MCPBOX_TEST_DATABASE_URL is unset.
const defaultAdminDB = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// options are loadstack's command line.
type options struct {
	root, bin  string // repository root; service binaries (default <root>/bin)
	loadgen    string // the loadgen binary
	out        string // reports and the stack's log (default <root>/.cache/load)
	adminDB    string // a connection string of the test server whose user may CREATE DATABASE
	portOffset int    // added to every dev port (operations.md §1: the e2e stack uses 10000)
	runs       []string
	p1Rates    []float64 // offered rates of P1, one run each, in order
	p1Duration time.Duration
	p1Warmup   time.Duration
	p2Rate     float64
	p2Duration time.Duration
	p2Warmup   time.Duration
	listTools  int    // user tools in the catalog during P2, load__add included
	era        string // loadgen -era
	workers    int    // loadgen -workers
	benchOut   bool   // -out was not given and a -bench or -soak run writes to .cache/bench

	// -bench (make bench): the scenarios of bench.go, closed loop, with their table, chart and reports.
	bench         bool
	benchDuration time.Duration // measured window of each scenario
	benchWarmup   time.Duration // warm-up before each window
	concurrency   int           // requests in flight in each scenario
	users         int           // remote users (devidp tokens) the edge scenarios spread their requests over
	pause         time.Duration // between two loadgen runs
	updateDocs    bool          // also write docs/perf/stack-latency.svg and the section of docs/PERFORMANCE.md

	// -soak (make soak): the trivial tool through the edge at half the capacity for this long; 0 is no soak.
	soak         time.Duration
	soakRate     float64       // the soak's rate; 0 measures the capacity first and takes half
	soakProbe    time.Duration // the closed-loop run that measures the capacity
	soakInterval time.Duration // between two samples of every service's metrics
}

// usageError is a bad command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// parseArgs reads the command line; testDB is MCPBOX_TEST_DATABASE_URL. Errors are usageError or flag.ErrHelp.
func parseArgs(args []string, testDB string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var runs, rates string
	var outSet, runsSet bool
	if testDB == "" {
		testDB = defaultAdminDB
	}
	fs.StringVar(&o.root, "root", "", "repository root (default: the directory above the working directory holding go.work)")
	fs.StringVar(&o.bin, "bin", "", "service binaries, devstack and sandbox-e2e (default <root>/bin; make build)")
	fs.StringVar(&o.loadgen, "loadgen", "", "the tools/loadgen binary (required)")
	fs.StringVar(&o.out, "out", "", "directory of the reports and the stack's log (default <root>/.cache/load)")
	fs.StringVar(&o.adminDB, "db", testDB, "test PostgreSQL server whose user may CREATE DATABASE (default MCPBOX_TEST_DATABASE_URL, else postgres@127.0.0.1:5432)")
	fs.IntVar(&o.portOffset, "port-offset", 10000, "added to every dev port; the e2e ports by default")
	fs.StringVar(&runs, "runs", "p1,p2", "which runs to make, comma-separated: p1, p2")
	fs.StringVar(&rates, "p1-rates", "250", "offered rates of P1 per second, comma-separated, one run each (the target is 250)")
	fs.DurationVar(&o.p1Duration, "p1-duration", 60*time.Second, "measured window of each P1 run")
	fs.DurationVar(&o.p1Warmup, "p1-warmup", 5*time.Second, "warm-up before each P1 window")
	fs.Float64Var(&o.p2Rate, "p2-rate", 50, "offered rate of P2 per second")
	fs.DurationVar(&o.p2Duration, "p2-duration", 20*time.Second, "measured window of P2")
	fs.DurationVar(&o.p2Warmup, "p2-warmup", 5*time.Second, "warm-up before the P2 window")
	fs.IntVar(&o.listTools, "list-tools", 500, "user tools in the catalog during P2, load__add included")
	fs.StringVar(&o.era, "era", "initialize", "MCP era of loadgen's clients: initialize or modern")
	fs.IntVar(&o.workers, "workers", 8, "MCP clients of each loadgen run")
	fs.BoolVar(&o.bench, "bench", false, "make bench's stack part instead of P1/P2: each scenario closed loop through the edge, the local listener and a bare go-sdk server; table, chart and reports in -out (default <root>/.cache/bench)")
	fs.DurationVar(&o.benchDuration, "bench-duration", 10*time.Second, "measured window of each -bench scenario")
	fs.DurationVar(&o.benchWarmup, "bench-warmup", 3*time.Second, "warm-up before each -bench window")
	fs.IntVar(&o.concurrency, "concurrency", 8, "requests in flight in each -bench scenario and in the -soak capacity probe")
	fs.IntVar(&o.users, "users", 8, "remote users (one devidp token each) the edge runs spread their requests over; the gateway limits each to 10,000 calls a minute")
	fs.DurationVar(&o.pause, "pause", pauseBetweenRuns, "pause between two loadgen runs (execution records drain, the sandbox refills its warm set)")
	fs.BoolVar(&o.updateDocs, "update-docs", false, "with -bench: also write docs/perf/stack-latency.svg and the generated section of docs/PERFORMANCE.md")
	fs.DurationVar(&o.soak, "soak", 0, "soak for this long (e.g. 10m): the trivial tool through the edge, open loop at half the capacity, every service's goroutines and memory sampled and bounded; 0: no soak")
	fs.Float64Var(&o.soakRate, "soak-rate", 0, "the soak's rate per second; 0 measures the capacity with a closed-loop run of -soak-probe first and takes half")
	fs.DurationVar(&o.soakProbe, "soak-probe", 10*time.Second, "measured window of the soak's capacity probe")
	fs.DurationVar(&o.soakInterval, "soak-interval", 30*time.Second, "between two samples of the services' metrics during the soak")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return options{}, err
		}
		return options{}, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return options{}, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	fs.Visit(func(f *flag.Flag) {
		outSet = outSet || f.Name == "out"
		runsSet = runsSet || f.Name == "runs"
	})
	remote := o.bench || o.soak > 0
	if remote && runsSet {
		return options{}, usageError{"-runs: P1 and P2 are not made with -bench or -soak; run them separately"}
	}
	o.benchOut = !outSet && remote
	var err error
	if !remote {
		if o.runs, err = parseRuns(runs); err != nil {
			return options{}, err
		}
	}
	if o.p1Rates, err = parseRates(rates); err != nil {
		return options{}, err
	}
	return o, o.check()
}

// check validates the values parseArgs could not.
func (o options) check() error {
	switch {
	case o.loadgen == "":
		return usageError{"-loadgen: required, the tools/loadgen binary (make load builds it)"}
	case o.portOffset < 0 || o.portOffset > 50000:
		return usageError{fmt.Sprintf("-port-offset %d: must be 0–50000", o.portOffset)}
	case o.p1Duration <= 0 || o.p2Duration <= 0:
		return usageError{"-p1-duration and -p2-duration must be positive"}
	case o.p1Warmup < 0 || o.p2Warmup < 0:
		return usageError{"-p1-warmup and -p2-warmup must be zero or positive"}
	case !(o.p2Rate > 0) || math.IsInf(o.p2Rate, 0):
		return usageError{fmt.Sprintf("-p2-rate %g: must be a positive number", o.p2Rate)}
	case o.listTools < 1 || o.listTools > 2000:
		return usageError{fmt.Sprintf("-list-tools %d: must be 1–2000", o.listTools)}
	case o.era != "initialize" && o.era != "modern":
		return usageError{fmt.Sprintf("-era %q: want initialize or modern", o.era)}
	case o.workers < 1:
		return usageError{fmt.Sprintf("-workers %d: must be at least 1", o.workers)}
	case o.benchDuration <= 0 || o.soakProbe <= 0 || o.soakInterval <= 0:
		return usageError{"-bench-duration, -soak-probe and -soak-interval must be positive"}
	case o.benchWarmup < 0 || o.pause < 0 || o.soak < 0:
		return usageError{"-bench-warmup, -pause and -soak must be zero or positive"}
	case o.concurrency < 1 || o.concurrency > 1024:
		return usageError{fmt.Sprintf("-concurrency %d: must be 1–1024", o.concurrency)}
	case o.users < 1 || o.users > maxUsers:
		return usageError{fmt.Sprintf("-users %d: must be 1–%d (the remote allowlist holds at most %d addresses)", o.users, maxUsers, maxUsers)}
	case o.soakRate < 0 || math.IsInf(o.soakRate, 0) || math.IsNaN(o.soakRate):
		return usageError{fmt.Sprintf("-soak-rate %g: must be 0 (measure) or a positive rate per second", o.soakRate)}
	case o.updateDocs && !o.bench:
		return usageError{"-update-docs: only with -bench"}
	}
	return nil
}

// parseRuns reads -runs: p1 and p2, each at most once, made in the order P1, P2.
func parseRuns(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if part != runP1 && part != runP2 {
			return nil, usageError{fmt.Sprintf("-runs %q: %q is not a run; want p1, p2 or p1,p2", s, part)}
		}
		if !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	slices.Sort(out)
	return out, nil
}

// parseRates reads -p1-rates: positive, finite numbers separated by commas.
func parseRates(s string) ([]float64, error) {
	var out []float64
	for part := range strings.SplitSeq(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || !(r > 0) || math.IsInf(r, 0) {
			return nil, usageError{fmt.Sprintf("-p1-rates %q: %q is not a positive rate per second, such as 100,150,250", s, part)}
		}
		out = append(out, r)
	}
	return out, nil
}

// resolve fills the default paths under root and makes every path absolute.
func (o *options) resolve(root string) error {
	if o.root == "" {
		o.root = root
	}
	if o.bin == "" {
		o.bin = filepath.Join(o.root, "bin")
	}
	if o.out == "" && o.benchOut {
		o.out = filepath.Join(o.root, ".cache", "bench")
	}
	if o.out == "" {
		o.out = filepath.Join(o.root, ".cache", "load")
	}
	for _, p := range []*string{&o.root, &o.bin, &o.out, &o.loadgen} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("path %s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}

// has reports whether run is among the runs to make.
func (o options) has(run string) bool { return slices.Contains(o.runs, run) }
