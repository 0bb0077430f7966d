package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

// Exit statuses of loadstack.
const (
	exitMet         = 0
	exitFail        = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// pauseBetweenRuns separates two loadgen runs by default (-pause).
const pauseBetweenRuns = 5 * time.Second

// run is loadstack without the process around it: args without the program name, the caller's environment, and
// the exit status as the result.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, envValue(environ, "MCPBOX_TEST_DATABASE_URL"), stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitMet
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "loadstack: %v\nrun `loadstack -h` for the flags\n", err)
		return exitUsage
	}
	root := o.root
	if root == "" {
		if root, err = repo.RootFromWD(); err != nil {
			_, _ = fmt.Fprintf(stderr, "loadstack: %v\n", err)
			return exitUsage
		}
	}
	if err := o.resolve(root); err != nil {
		_, _ = fmt.Fprintf(stderr, "loadstack: %v\n", err)
		return exitUsage
	}
	l := &loadstack{opt: o, args: args, environ: environ, stdout: stdout, stderr: stderr}
	verdicts, err := l.run(ctx)
	return l.finish(ctx, verdicts, err)
}

// loadstack is one `make load`, `make bench` (stack part) or `make soak`.
type loadstack struct {
	opt            options
	args           []string // the command line, for the bench report
	environ        []string
	stdout, stderr io.Writer
	// problems are the -bench and -soak findings that fail the run: scenarios with errors, bounds exceeded.
	problems []string
}

// say prints one progress line on stderr; stdout carries the JSON reports.
func (l *loadstack) say(format string, args ...any) {
	_, _ = fmt.Fprintf(l.stderr, "loadstack: "+format+"\n", args...)
}

// run makes the database and the stack, seeds, makes the runs, and always stops the stack and drops the database.
func (l *loadstack) run(ctx context.Context) (verdicts []verdict, err error) {
	for _, p := range []string{filepath.Join(l.opt.bin, "devstack"), filepath.Join(l.opt.bin, "sandbox-e2e"), l.opt.loadgen} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s is missing (make load builds it with make build): %w", p, err)
		}
	}
	if err := ensureDir(l.opt.out); err != nil {
		return nil, err
	}
	l.say("machine: %d CPUs, load average %s (/proc/loadavg)", runtime.NumCPU(), loadavg())
	db, err := createDB(ctx, l.opt.adminDB)
	if err != nil {
		return nil, err
	}
	l.say("database %s created on the test server", db.name)
	defer func() {
		if derr := db.drop(); derr != nil {
			err = errors.Join(err, derr)
		} else {
			l.say("database %s dropped", db.name)
		}
	}()
	data, err := os.MkdirTemp("", "mcpbox-load-")
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(data) }()
	var (
		target *fetchTarget
		extra  []string
	)
	if l.remote() {
		extra = edgeLimitsEnv()
	}
	if l.opt.bench {
		if target, err = startFetchTarget(ctx); err != nil {
			return nil, err
		}
		defer target.close()
		extra = append(extra, "MCPBOX_SANDBOX_E2E_LOOPBACK="+target.hostPort())
	}
	logPath := filepath.Join(l.opt.out, "devstack-"+time.Now().UTC().Format("20060102T150405Z")+".log")
	l.say("starting the e2e stack (port offset %d, stateless gateway); its log: %s", l.opt.portOffset, logPath)
	st, err := startStack(ctx, stackSpec{
		root: l.opt.root, bin: l.opt.bin, data: data, portOffset: l.opt.portOffset, logPath: logPath,
		env: stackEnv(l.environ, db.url, extra...),
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		l.say("stopping the stack")
		if serr := st.stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("devstack did not stop cleanly: %w; the end of %s:\n%s", serr, logPath, st.log.tail(tailLines)))
		} else {
			l.say("stack stopped")
		}
	}()
	return l.session(ctx, st, db, data, logPath, target)
}

// remote reports whether the run goes through the edge (-bench, -soak).
func (l *loadstack) remote() bool { return l.opt.bench || l.opt.soak > 0 }

// session checks the stack, seeds it and makes the runs.
func (l *loadstack) session(ctx context.Context, st *devstack, db *freshDB, data, logPath string, target *fetchTarget) ([]verdict, error) {
	if !st.log.contains(`"MCPBOX_GATEWAY_SESSION_MODE":"stateless"`) {
		return nil, fmt.Errorf("the gateway's config line does not say session mode stateless; see %s", logPath)
	}
	urls, err := parseBanner(st.log.head())
	if err != nil {
		return nil, fmt.Errorf("%w; see %s", err, logPath)
	}
	env, err := readDevEnv(filepath.Join(data, "dev.env"))
	if err != nil {
		return nil, err
	}
	if env["MCPBOX_SETUP_CODE"] == "" {
		return nil, errors.New("dev.env has no MCPBOX_SETUP_CODE")
	}
	adm, err := newAdmin(ctx, urls.admin, env["MCPBOX_SETUP_CODE"])
	if err != nil {
		return nil, err
	}
	mc, err := connectMCP(ctx, urls.localMCP, nil)
	if err != nil {
		return nil, err
	}
	defer mc.close()
	sd := &seeder{mcp: mc, admin: adm}
	cpu := newCPUWatch(ctx, st.pid(), db.name)
	start := time.Now()
	if err := sd.seedAdd(ctx); err != nil {
		return nil, fmt.Errorf("seed %s: %w", addTool, err)
	}
	l.say("seeded %s (created, publication requested, approved, server started; one call returned the sum) in %s", addTool, since(start))
	if l.remote() {
		return nil, l.remoteSession(ctx, remoteSetup{st: st, urls: urls, admin: adm, seeder: sd, target: target, logPath: logPath})
	}
	idle := cpu.snapshot()
	if err := l.pause(ctx); err != nil {
		return nil, err
	}
	l.say("%s over %s before the first run", idleRates(idle, cpu.snapshot(), cpu.ticksPerSec), l.opt.pause)
	var verdicts []verdict
	for i, r := range runsOf(l.opt) {
		if i > 0 {
			// The previous run's execution records drain and the sandbox refills its warm set.
			if err := l.pause(ctx); err != nil {
				return verdicts, err
			}
		}
		if r.method == "list" {
			start := time.Now()
			if err := sd.seedList(ctx, 1, l.opt.listTools, func(s string) { l.say("%s", s) }); err != nil {
				return verdicts, fmt.Errorf("seed %d tools: %w", l.opt.listTools, err)
			}
			l.say("seeded %d user tools (%s) in %s", l.opt.listTools, describeSeed(l.opt.listTools), since(start))
		}
		if st.exited() {
			return verdicts, fmt.Errorf("the stack stopped on its own; the end of %s:\n%s", logPath, st.log.tail(tailLines))
		}
		v, err := l.loadRun(ctx, r, urls.localMCP, cpu)
		if err != nil {
			return verdicts, err
		}
		verdicts = append(verdicts, v)
		if ctx.Err() != nil {
			return verdicts, fmt.Errorf("interrupted: %w", ctx.Err())
		}
	}
	return verdicts, nil
}

// loadRun makes one loadgen run with the CPU of the stack's parts measured around it.
func (l *loadstack) loadRun(ctx context.Context, r loadRun, url string, cpu *cpuWatch) (verdict, error) {
	out := reportPath(l.opt.out, r, time.Now())
	l.say("%s run at %s/s for %s after %s of warm-up; load average %s", r.target.name, num(r.rate), r.duration, r.warmup, loadavg())
	before := cpu.snapshot()
	rep, lgCPU, err := runLoadgen(ctx, l.opt.loadgen, loadgenArgs(r, l.opt, url, out), l.stdout, l.stderr)
	after := cpu.snapshot()
	if err != nil {
		return verdict{}, err
	}
	v := judge(r.target, rep)
	l.say("%s", v)
	l.say("%s %s/s: %s", r.target.name, num(r.rate), cpuBetween(before, after, cpu.ticksPerSec, r.requests(), lgCPU))
	l.say("report: %s", out)
	return v, nil
}

// finish prints the summary and picks the exit status.
func (l *loadstack) finish(ctx context.Context, verdicts []verdict, err error) int {
	if len(verdicts) > 0 {
		_, _ = fmt.Fprintln(l.stdout, "\nSummary (gateway.md §15):")
		for _, v := range verdicts {
			_, _ = fmt.Fprintf(l.stdout, "  %s\n", v)
		}
	}
	missed := missedTargets(l.opt, verdicts)
	for _, m := range missed {
		_, _ = fmt.Fprintf(l.stdout, "  %s\n", m)
	}
	if len(l.problems) > 0 {
		_, _ = fmt.Fprintln(l.stdout, "\nFAILED:")
		for _, p := range l.problems {
			_, _ = fmt.Fprintf(l.stdout, "  %s\n", p)
		}
	}
	switch {
	case ctx.Err() != nil:
		l.say("interrupted")
		return exitInterrupted
	case err != nil:
		l.say("%v", err)
		return exitFail
	case len(missed) > 0 || len(l.problems) > 0:
		return exitFail
	case l.remote():
		msg := "no scenario had an error"
		if l.opt.soak > 0 {
			msg = "no error; every soak bound held"
		}
		_, _ = fmt.Fprintln(l.stdout, msg)
		return exitMet
	default:
		_, _ = fmt.Fprintln(l.stdout, "  every target met")
		return exitMet
	}
}

// missedTargets names each requested target no run met.
func missedTargets(o options, vs []verdict) []string {
	var out []string
	if o.has(runP1) && !targetMet(vs, p1Target().name) {
		t := p1Target()
		out = append(out, fmt.Sprintf("P1 NOT MET: no run at %s/s for %s with 0 errors, p50 ≤ %s ms and p99 ≤ %s ms",
			num(t.rate), t.duration, num(t.p50MS), num(t.p99MS)))
	}
	if o.has(runP2) && !targetMet(vs, p2Target().name) {
		out = append(out, fmt.Sprintf("P2 NOT MET: tools/list with %d user tools did not keep p50 ≤ %s ms without errors", o.listTools, num(p2Target().p50MS)))
	}
	return out
}

// stackURLs are the addresses the banner shows.
type stackURLs struct {
	admin     string // the backend's main listener, without the trailing slash
	localMCP  string // the gateway's local /mcp
	remoteMCP string // the edge's public /mcp ("" when the banner has no Remote MCP line)
}

// parseBanner reads the Admin UI and Local MCP URLs from devstack's banner.
func parseBanner(log string) (stackURLs, error) {
	var u stackURLs
	for line := range strings.SplitSeq(log, "\n") {
		label, rest, ok := strings.Cut(strings.TrimSpace(line), "  ")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "http://") {
			continue
		}
		switch label {
		case "Admin UI":
			u.admin = strings.TrimSuffix(fields[0], "/")
		case "Local MCP":
			u.localMCP = fields[0]
		case "Remote MCP":
			u.remoteMCP = fields[0]
		}
	}
	if u.admin == "" || u.localMCP == "" {
		return stackURLs{}, errors.New("devstack's banner lacks the Admin UI or Local MCP URL")
	}
	return u, nil
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

// since is the time since start, rounded for people.
func since(start time.Time) time.Duration { return time.Since(start).Round(100 * time.Millisecond) }
