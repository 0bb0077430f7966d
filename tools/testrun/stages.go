package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mcpbox/mcpbox/tools/testrun/internal/deps"
	"github.com/mcpbox/mcpbox/tools/testrun/internal/gotest"
	"github.com/mcpbox/mcpbox/tools/testrun/internal/pipeline"
	"github.com/mcpbox/mcpbox/tools/testrun/internal/testdb"
)

// AllowedSkipsFile lists the skips that CI accepts (gotest.ParseAllowlist).
const AllowedSkipsFile = "tools/testrun/allowed-skips.txt"

// unitFlags are the go test flags of the unit stage's workspace modules
// (operations.md §1.4): race detector, shuffled order, no cached results, two
// packages at a time, every benchmark once.
func unitFlags() []string {
	return []string{"-json", "-race", "-shuffle=on", "-count=1", "-p", "2", "-bench", ".", "-benchtime=1x"}
}

// toolsFlags are the go test flags of the tools/ module (no -race).
func toolsFlags() []string { return []string{"-json", "-count=1", "-p", "2"} }

const (
	e2eImportPath = "github.com/mcpbox/mcpbox/tools/e2e"
	e2eTimeout    = "30m"
)

// config is what main reads from flags and the environment.
type config struct {
	root    string
	logDir  string // .cache/test-logs
	ci      bool
	envURL  string   // MCPBOX_TEST_DATABASE_URL
	environ []string // os.Environ()
	// systemURL and clusterPort override the test database defaults (tests only).
	systemURL   string
	clusterPort int
}

// state is what the stages share: the environment of every command and what
// earlier stages produced.
type state struct {
	cfg   config
	allow gotest.Allowlist
	env   []string

	binErr     error  // nil once bin/ is built
	lintBin    string // the pinned golangci-lint, absolute
	pins       []deps.Pin
	goVersion  string
	dbURL      string
	cluster    *testdb.Cluster
	unitRan    bool
	benchmarks []string
}

var errNotRun = errors.New("stage deps did not run")

func newState(cfg config) (*state, error) {
	s := &state{cfg: cfg, binErr: errNotRun}
	f, err := os.Open(filepath.Join(cfg.root, AllowedSkipsFile))
	if err != nil {
		return nil, fmt.Errorf("open allowlist: %w", err)
	}
	defer func() { _ = f.Close() }()
	if s.allow, err = gotest.ParseAllowlist(f); err != nil {
		return nil, fmt.Errorf("%s: %w", AllowedSkipsFile, err)
	}
	// Tests never read the services' own database (operations.md §1.4).
	s.env = setEnv(unsetEnv(cfg.environ, "MCPBOX_DATABASE_URL"), "GOFLAGS", addFlag(lookupEnv(cfg.environ, "GOFLAGS"), "-mod=readonly"))
	return s, nil
}

func (s *state) stages() []pipeline.Stage {
	return []pipeline.Stage{
		{Name: "deps", Run: s.deps},
		{Name: "postgres", Run: s.postgres},
		{Name: "generate", Run: s.makeTarget("check-generate")},
		{Name: "lint", Run: s.lint},
		{Name: "vuln", Run: s.vuln},
		{Name: "unit", Run: s.unit},
		{Name: "deploy", Run: s.deploy},
		{Name: "e2e", Run: s.e2e},
		{Name: "bench", Run: s.bench},
	}
}

// cleanup stops the throwaway cluster, if one was started.
func (s *state) cleanup(ctx context.Context) {
	if s.cluster == nil {
		return
	}
	// The postgres stage's log is closed by now: append to it.
	log := io.Discard
	if s.cfg.logDir != "" {
		f, err := os.OpenFile(filepath.Join(s.cfg.logDir, "postgres.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			defer func() { _ = f.Close() }()
			log = f
		}
	}
	if err := s.cluster.Stop(ctx, log); err != nil {
		_, _ = fmt.Fprintf(os.Stderr, "testrun: stop throwaway cluster: %v\n", err)
	}
}

// deps installs what is missing (network installs in the background), builds
// the pinned tools, and builds bin/ once with `make build`.
func (s *state) deps(ctx context.Context, log io.Writer) pipeline.Result {
	facts, err := deps.Probe(ctx, s.cfg.root)
	var plan []deps.Action
	if err != nil {
		// Without facts a plan would install everything: build bin/ only.
		_, _ = fmt.Fprintf(log, "deps: probe: %v\n", err)
	} else {
		plan = deps.Plan(facts)
	}
	if err == nil && len(plan) == 0 {
		_, _ = fmt.Fprintln(log, "deps: plan: nothing to install or build")
	}
	for _, a := range plan {
		_, _ = fmt.Fprintf(log, "deps: plan: %s: %s\n", a.Kind, a.Why)
	}
	if p := deps.NodePath(facts); p != "" {
		s.env = setEnv(s.env, "PATH", filepath.Join(s.cfg.root, p)+string(os.PathListSeparator)+lookupEnv(s.env, "PATH"))
	}
	s.pins, s.goVersion = facts.Pins, facts.GoVersion
	for _, p := range facts.Pins {
		if p.Name == "golangci-lint" {
			s.lintBin = filepath.Join(s.cfg.root, p.Binary(facts.GoVersion))
		}
	}
	network, build := deps.Split(plan)
	ex := &deps.Executor{Root: s.cfg.root, Env: s.env, Privilege: facts.Privilege}
	netDone := make(chan error, 1)
	go func() { netDone <- ex.Run(ctx, log, network) }()
	buildErr := ex.Run(ctx, log, build)
	s.binErr = pipeline.Exec(ctx, log, pipeline.Command{Dir: s.cfg.root, Env: s.env, Args: []string{"make", "--no-print-directory", "build"}})
	netErr := <-netDone

	var notes []string
	if len(plan) > 0 {
		notes = append(notes, fmt.Sprintf("%d installs/builds", len(plan)))
	}
	if s.binErr != nil {
		notes = append(notes, "bin/ build failed")
	} else {
		notes = append(notes, "bin/ built")
	}
	if err := errors.Join(err, buildErr, netErr, s.binErr); err != nil {
		_, _ = fmt.Fprintf(log, "deps: %v\n", err)
		return pipeline.Result{Status: pipeline.Failed, Note: strings.Join(notes, "; ")}
	}
	return pipeline.Result{Status: pipeline.Passed, Note: strings.Join(notes, "; ")}
}

// postgres chooses the test database and exports MCPBOX_TEST_DATABASE_URL.
func (s *state) postgres(ctx context.Context, log io.Writer) pipeline.Result {
	choice, err := testdb.Select(ctx, testdb.Options{
		EnvURL:    s.cfg.envURL,
		SystemURL: s.cfg.systemURL,
		Cluster:   testdb.ClusterOptions{Port: s.cfg.clusterPort},
		Log:       log,
	})
	if err != nil {
		_, _ = fmt.Fprintf(log, "postgres: %v\n", err)
		return pipeline.Result{Status: pipeline.Failed, Note: "no test database"}
	}
	s.dbURL, s.cluster = choice.URL, choice.Cluster
	s.env = setEnv(s.env, "MCPBOX_TEST_DATABASE_URL", choice.URL)
	note := string(choice.Source)
	if choice.Cluster != nil {
		note = fmt.Sprintf("%s on 127.0.0.1:%d", choice.Source, choice.Cluster.Port())
	}
	return pipeline.Result{Status: pipeline.Passed, Note: note}
}

// makeTarget runs `make <target>` as a pass/fail stage.
func (s *state) makeTarget(target string) func(context.Context, io.Writer) pipeline.Result {
	return func(ctx context.Context, log io.Writer) pipeline.Result {
		if err := s.makeRun(ctx, log, target); err != nil {
			return pipeline.Result{Status: pipeline.Failed, Note: "make " + target + " failed"}
		}
		return pipeline.Result{Status: pipeline.Passed, Note: "make " + target}
	}
}

func (s *state) makeRun(ctx context.Context, log io.Writer, target string) error {
	return pipeline.Exec(ctx, log, pipeline.Command{Dir: s.cfg.root, Env: s.env, Args: []string{"make", "--no-print-directory", target}})
}

// lint runs `make lint` with the golangci-lint that deps built.
func (s *state) lint(ctx context.Context, log io.Writer) pipeline.Result {
	if s.lintBin == "" {
		return pipeline.Result{Status: pipeline.Failed, Note: "no golangci-lint pin in tools/pins"}
	}
	if _, err := os.Stat(s.lintBin); err != nil {
		_, _ = fmt.Fprintf(log, "lint: %v\n", err)
		return pipeline.Result{Status: pipeline.Failed, Note: "golangci-lint was not built (see deps.log)"}
	}
	return s.makeTarget("lint")(ctx, log)
}

// needs reports why a stage that needs the database or bin/ cannot run.
func (s *state) needs(db, bin bool) string {
	var why []string
	if db && s.dbURL == "" {
		why = append(why, "needs the test database (stage postgres failed)")
	}
	if bin && s.binErr != nil {
		why = append(why, "needs bin/ (stage deps could not build it)")
	}
	return strings.Join(why, "; ")
}

// unit runs every workspace module's tests with -race (benchmarks once), then
// the tools/ module's tests except tools/e2e.
func (s *state) unit(ctx context.Context, log io.Writer) pipeline.Result {
	if why := s.needs(true, true); why != "" {
		return pipeline.Result{Status: pipeline.Failed, Note: why}
	}
	s.unitRan = true
	bin := filepath.Join(s.cfg.root, "bin")
	env := setEnv(setEnv(s.env, "MCPBOX_SANDBOX_TEST_WORKER", filepath.Join(bin, "sandbox-worker")), "MCPBOX_BIN_DIR", bin)
	tally := gotest.NewTally(log, s.cfg.ci, s.allow)
	var errs []error
	mods, err := s.lines(ctx, s.cfg.root, env, "go", "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		errs = append(errs, err)
	}
	for _, m := range mods {
		// A module whose packages cannot be listed still runs go test, which says why.
		if pkgs, err := s.lines(ctx, m, env, "go", "list", "-e", "./..."); err == nil && len(pkgs) == 0 {
			_, _ = fmt.Fprintf(log, "unit: %s has no packages\n", m)
			continue
		}
		c := pipeline.Command{Dir: m, Env: env, Args: append(append([]string{"go", "test"}, unitFlags()...), "./..."), Stdout: tally}
		errs = append(errs, pipeline.Exec(ctx, log, c))
	}
	toolsDir := filepath.Join(s.cfg.root, "tools")
	toolsEnv := setEnv(env, "GOWORK", "off")
	pkgs, err := s.lines(ctx, toolsDir, toolsEnv, "go", "list", "-e", "./...")
	errs = append(errs, err)
	var keep []string
	for _, p := range pkgs {
		if p != e2eImportPath && !strings.HasPrefix(p, e2eImportPath+"/") {
			keep = append(keep, p)
		}
	}
	if len(keep) > 0 {
		c := pipeline.Command{Dir: toolsDir, Env: toolsEnv, Args: append(append([]string{"go", "test"}, toolsFlags()...), keep...), Stdout: tally}
		errs = append(errs, pipeline.Exec(ctx, log, c))
	}
	tally.Flush()
	s.benchmarks = tally.Benchmarks()
	return testResult(tally, errors.Join(errs...), "")
}

// deploy runs the deploy/ module's tests (GOWORK=off), then promtool on the
// Prometheus rules when they exist.
func (s *state) deploy(ctx context.Context, log io.Writer) pipeline.Result {
	dir := filepath.Join(s.cfg.root, "deploy")
	env := setEnv(s.env, "GOWORK", "off")
	tally := gotest.NewTally(log, s.cfg.ci, s.allow)
	pkgs, err := s.lines(ctx, dir, env, "go", "list", "-e", "./...")
	errs := []error{err}
	note := ""
	if err == nil && len(pkgs) == 0 {
		note = "deploy has no packages yet"
		_, _ = fmt.Fprintln(log, "deploy: "+note)
	} else if err == nil {
		c := pipeline.Command{Dir: dir, Env: env, Args: []string{"go", "test", "-json", "-count=1", "./..."}, Stdout: tally}
		errs = append(errs, pipeline.Exec(ctx, log, c))
	}
	tally.Flush()
	res := testResult(tally, errors.Join(errs...), note)
	rules := filepath.Join(dir, "prometheus", "rules.yaml")
	if _, err := os.Stat(rules); err == nil {
		// Each promtool run counts as one test.
		for _, args := range [][]string{
			{"promtool", "check", "rules", "rules.yaml"},
			{"promtool", "test", "rules", "rules_test.yaml"},
		} {
			if err := pipeline.Exec(ctx, log, pipeline.Command{Dir: filepath.Dir(rules), Env: s.env, Args: args}); err != nil {
				res.Tests.Failed++
				res.Status = pipeline.Failed
				res.Details = append(res.Details, strings.Join(args, " ")+" failed")
			} else {
				res.Tests.Passed++
			}
		}
	}
	return res
}

// e2e runs tools/e2e and the browser-tagged tests against bin/ and the test
// database.
func (s *state) e2e(ctx context.Context, log io.Writer) pipeline.Result {
	toolsDir := filepath.Join(s.cfg.root, "tools")
	_, err := os.Stat(filepath.Join(toolsDir, "e2e"))
	hasE2E := err == nil
	var browser []string
	for _, d := range deps.BrowserTestDirs(s.cfg.root) {
		if !strings.HasPrefix(d, filepath.Join(toolsDir, "e2e")) {
			browser = append(browser, d)
		}
	}
	if !hasE2E && len(browser) == 0 {
		return pipeline.Result{Status: pipeline.Skipped, Note: "no tools/e2e and no browser-tagged tests yet"}
	}
	if why := s.needs(true, true); why != "" {
		return pipeline.Result{Status: pipeline.Failed, Note: why}
	}
	env := setEnv(setEnv(s.env, "MCPBOX_BIN_DIR", filepath.Join(s.cfg.root, "bin")), "MCPBOX_UI_TESTS", "1")
	tally := gotest.NewTally(log, s.cfg.ci, s.allow)
	var cmds []pipeline.Command
	if hasE2E {
		cmds = append(cmds, pipeline.Command{
			Dir: toolsDir, Env: setEnv(env, "GOWORK", "off"),
			Args: []string{"go", "test", "-json", "-count=1", "-timeout", e2eTimeout, "-tags", "browser", "./e2e/..."},
		})
	}
	for _, d := range browser {
		denv := env
		if rel, _ := filepath.Rel(s.cfg.root, d); strings.HasPrefix(rel, "tools"+string(filepath.Separator)) || strings.HasPrefix(rel, "deploy"+string(filepath.Separator)) {
			denv = setEnv(env, "GOWORK", "off")
		}
		cmds = append(cmds, pipeline.Command{Dir: d, Env: denv, Args: []string{"go", "test", "-json", "-count=1", "-timeout", e2eTimeout, "-tags", "browser", "."}})
	}
	// One after the other: run at once (they share no port or database), the
	// browser suites' live-update checks (UI-11's 3 s, UI-37's swap before
	// the live refresh) met the fault tests' restarts on the same two cores
	// and failed in 2 of 3 clean-clone runs.
	errs := make([]error, len(cmds))
	for i, c := range cmds {
		stream := tally.Stream()
		c.Stdout = stream
		errs[i] = pipeline.Exec(ctx, log, c)
		stream.Flush()
	}
	tally.Flush()
	return testResult(tally, errors.Join(errs...), "")
}

// bench reports the benchmark lines the unit stage's binaries printed; it
// compares no timings (make bench does).
func (s *state) bench(_ context.Context, log io.Writer) pipeline.Result {
	if !s.unitRan {
		return pipeline.Result{Status: pipeline.Skipped, Note: "stage unit did not run"}
	}
	for _, b := range s.benchmarks {
		_, _ = fmt.Fprintln(log, b)
	}
	return pipeline.Result{Status: pipeline.Passed, Note: fmt.Sprintf("%d benchmarks ran once in stage unit", len(s.benchmarks))}
}

func testResult(t *gotest.Tally, err error, note string) pipeline.Result {
	c := t.Counts()
	res := pipeline.Result{Status: pipeline.Passed, Tests: &c, Note: note, Details: t.Reports()}
	for _, skip := range t.UnexpectedSkips() {
		res.Details = append(res.Details, "SKIP "+skip+": not in "+AllowedSkipsFile+", so it counts as failed under CI")
	}
	if err != nil || c.Failed > 0 {
		res.Status = pipeline.Failed
	}
	if err != nil && c.Failed == 0 {
		res.Details = append(res.Details, err.Error())
	}
	return res
}

// lines runs a command and returns its non-empty output lines.
func (s *state) lines(ctx context.Context, dir string, env []string, args ...string) ([]string, error) {
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("(cd %s && %s): %w: %s", dir, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var lines []string
	for l := range strings.Lines(out.String()) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

func unsetEnv(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return out
}

func setEnv(env []string, key, value string) []string {
	return append(unsetEnv(env, key), key+"="+value)
}

func addFlag(flags, flag string) string {
	for _, f := range strings.Fields(flags) {
		if f == flag {
			return flags
		}
	}
	return strings.TrimSpace(flags + " " + flag)
}
