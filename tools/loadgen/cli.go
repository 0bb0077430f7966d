package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

// Exit statuses of loadgen.
const (
	exitPass  = 0 // every step passed
	exitFail  = 1 // a step failed, or the run could not be made
	exitUsage = 2 // bad command line
)

// maxRequestsPerStep bounds rate × (warmup + duration): every sample of a step is kept in memory.
const maxRequestsPerStep = 10_000_000

// usageText is printed after a usage error and for -h.
const usageText = `usage: loadgen sandbox [flags]
       loadgen gateway [flags]   (loadgen gateway -h for its flags)
       loadgen bare [flags]      (loadgen bare -h for its flags)

Targets:
  sandbox   start bin/sandbox on 127.0.0.1 and load POST /v1/execute with the trivial tool (sandbox.md §16)
  gateway   load a running gateway's /mcp on loopback with tools/call or tools/list (gateway.md §15), open or
            closed loop
  bare      serve a bare go-sdk MCP server with the same trivial tool on loopback, for loadgen gateway to compare

Flags:
`

// config is loadgen's command line.
type config struct {
	target      string        // what is loaded: "sandbox"
	bin         string        // binary of the target ("" = <repo>/bin/<target>)
	rates       []float64     // offered rates per second, one step each, in order
	duration    time.Duration // measured window of each step
	warmup      time.Duration // time before the window whose requests are not counted
	cpus        string        // taskset CPU list; "" runs unpinned
	out         string        // report path ("" = <repo>/.cache/load/<target>-<UTC time>.json)
	maxInflight int           // requests in flight at most; a send beyond it is dropped
	env         []string      // extra MCPBOX_SANDBOX_* settings of the target, KEY=VALUE
}

// envFlag collects repeated -env KEY=VALUE flags.
type envFlag struct{ vals *[]string }

func (f envFlag) String() string {
	if f.vals == nil {
		return ""
	}
	return strings.Join(*f.vals, " ")
}

func (f envFlag) Set(v string) error {
	key, _, ok := strings.Cut(v, "=")
	switch {
	case !ok || !strings.HasPrefix(key, "MCPBOX_SANDBOX_"):
		return fmt.Errorf("%q: want MCPBOX_SANDBOX_<NAME>=<value>", v)
	case key == "MCPBOX_SANDBOX_TOKEN" || key == "MCPBOX_SANDBOX_LISTEN":
		return fmt.Errorf("%q: loadgen sets %s itself", v, key)
	}
	*f.vals = append(*f.vals, v)
	return nil
}

// usageError is a bad command line (exit status 2); its text names the flag at fault.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// run is loadgen without the process around it: args without the program name, the caller's environment (only PATH
// is passed on to the target), and the exit status as the result.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "gateway" {
		return runGateway(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "bare" {
		return runBare(ctx, args[1:], stdout, stderr)
	}
	cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitPass
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: %v\nrun `loadgen sandbox -h` for the flags\n", err)
		return exitUsage
	}
	root, err := repo.RootFromWD()
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return exitUsage
	}
	if err := cfg.resolvePaths(root, time.Now()); err != nil {
		_, _ = fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return exitUsage
	}
	switch cfg.target {
	case "sandbox":
		return runSandbox(ctx, cfg, root, envValue(environ, "PATH"), stdout, stderr)
	default: // parseArgs accepts only the targets above
		_, _ = fmt.Fprintf(stderr, "loadgen: unknown target %q\n", cfg.target)
		return exitUsage
	}
}

// parseArgs reads `sandbox [flags]` and checks every value; errors are usageError or flag.ErrHelp. run hands
// `gateway [flags]` to runGateway before it.
func parseArgs(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	var cfg config
	rates := fs.String("rate", "300", "comma-separated offered rates per second, one step each, run in order until one fails")
	fs.StringVar(&cfg.bin, "bin", "", "sandbox binary (default <repo>/bin/sandbox)")
	fs.DurationVar(&cfg.duration, "duration", 60*time.Second, "measured window of each step")
	fs.DurationVar(&cfg.warmup, "warmup", 10*time.Second, "warm-up before each window; its requests are sent but not counted")
	fs.StringVar(&cfg.cpus, "cpus", "0,1", `CPUs to pin the target to with taskset -c ("" or no taskset on PATH: unpinned)`)
	fs.StringVar(&cfg.out, "out", "", "JSON report (default <repo>/.cache/load/<target>-<UTC time>.json; the target's log goes to <out>.log)")
	fs.IntVar(&cfg.maxInflight, "max-inflight", 2000, "requests in flight at most; a send beyond it is counted as dropped")
	fs.Var(envFlag{&cfg.env}, "env", "a sandbox setting for the run, MCPBOX_SANDBOX_<NAME>=<value> (repeatable), e.g. MCPBOX_SANDBOX_WARM_WORKERS=8")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.Usage()
			return config{}, flag.ErrHelp
		}
		return config{}, usageError{"missing target: the first argument is what to load, `sandbox` or `gateway` (or `bare` to serve)"}
	}
	cfg.target = args[0]
	if cfg.target != "sandbox" {
		return config{}, usageError{fmt.Sprintf("unknown target %q: want `sandbox`, `gateway` or `bare`", cfg.target)}
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return config{}, usageError{fmt.Sprintf("unexpected argument %q after the flags", fs.Arg(0))}
	}
	var err error
	if cfg.rates, err = parseRates(*rates); err != nil {
		return config{}, err
	}
	return cfg, cfg.check()
}

// check validates the numeric flags and -cpus.
func (c config) check() error {
	switch {
	case c.duration <= 0:
		return usageError{fmt.Sprintf("-duration %s: must be positive, such as 60s", c.duration)}
	case c.warmup < 0:
		return usageError{fmt.Sprintf("-warmup %s: must be zero or positive, such as 10s", c.warmup)}
	case c.maxInflight < 1:
		return usageError{fmt.Sprintf("-max-inflight %d: must be at least 1", c.maxInflight)}
	case c.cpus != "" && !cpuList().MatchString(c.cpus):
		return usageError{fmt.Sprintf(`-cpus %q: must be a taskset CPU list such as 0,1 or 0-3, or "" to run unpinned`, c.cpus)}
	}
	for _, r := range c.rates {
		if n := r * (c.warmup + c.duration).Seconds(); n > maxRequestsPerStep {
			return usageError{fmt.Sprintf("-rate %g with -warmup %s and -duration %s makes %.0f requests in one step; keep it at most %d (every sample is kept in memory)",
				r, c.warmup, c.duration, n, maxRequestsPerStep)}
		}
	}
	return nil
}

// cpuList matches a taskset -c list: numbers and ranges separated by commas.
func cpuList() *regexp.Regexp {
	return regexp.MustCompile(`^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$`)
}

// parseRates reads the -rate list: positive, finite numbers separated by commas.
func parseRates(s string) ([]float64, error) {
	var rates []float64
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		r, err := strconv.ParseFloat(part, 64)
		if err != nil || math.IsNaN(r) || math.IsInf(r, 0) {
			return nil, usageError{fmt.Sprintf("-rate %q: %q is not a number; give offered rates per second such as 100,200,300", s, part)}
		}
		if r <= 0 {
			return nil, usageError{fmt.Sprintf("-rate %q: %s is not positive; give offered rates per second such as 100,200,300", s, part)}
		}
		rates = append(rates, r)
	}
	return rates, nil
}

// resolvePaths fills the default binary and report paths under root and makes every path absolute; now names the
// default report.
func (c *config) resolvePaths(root string, now time.Time) error {
	if c.bin == "" {
		c.bin = filepath.Join(root, "bin", c.target)
	}
	if c.out == "" {
		c.out = filepath.Join(root, ".cache", "load", c.target+"-"+now.UTC().Format("20060102T150405Z")+".json")
	}
	for flagName, p := range map[string]*string{"-bin": &c.bin, "-out": &c.out} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("%s %s: %w", flagName, *p, err)
		}
		*p = abs
	}
	return nil
}

// envValue is the value of key in a KEY=value list; a later entry wins.
func envValue(environ []string, key string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}
