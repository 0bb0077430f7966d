package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/testport"

	"github.com/mcpbox/mcpbox/tools/testrun/internal/gotest"
	"github.com/mcpbox/mcpbox/tools/testrun/internal/pipeline"
	"github.com/mcpbox/mcpbox/tools/testrun/internal/testdb"
)

// helperEnv makes the test binary act as a runner process for the OPS-7
// tests: the value is the mode of its "work" stage (pass, fail or wait).
const helperEnv = "TESTRUN_OPS7_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

// helperMain runs the real postgres stage (forced onto a throwaway cluster)
// and a work stage through execute, with main's signal handling.
func helperMain(mode string) int {
	port, _ := strconv.Atoi(os.Getenv("TESTRUN_CLUSTER_PORT"))
	s := &state{
		cfg: config{systemURL: os.Getenv("TESTRUN_SYSTEM_URL"), clusterPort: port, logDir: os.Getenv("TESTRUN_LOG_DIR")},
		env: os.Environ(),
	}
	work := func(ctx context.Context, _ io.Writer) pipeline.Result {
		if s.cluster == nil {
			return pipeline.Result{Status: pipeline.Failed, Note: "no cluster"}
		}
		fmt.Printf("cluster-dir: %s\n", s.cluster.Dir())
		switch mode {
		case "pass":
			if err := testdb.Ping(ctx, s.dbURL); err != nil {
				return pipeline.Result{Status: pipeline.Failed, Note: err.Error()}
			}
			return pipeline.Result{Status: pipeline.Passed}
		case "wait":
			<-ctx.Done()
			return pipeline.Result{Status: pipeline.Passed}
		}
		return pipeline.Result{Status: pipeline.Failed, Note: "failing on purpose"}
	}
	ctx, stop := withSignals(context.Background(), os.Stdout)
	defer stop()
	r := &pipeline.Runner{LogDir: s.cfg.logDir, Out: os.Stdout}
	return execute(ctx, r, []pipeline.Stage{{Name: "postgres", Run: s.postgres}, {Name: "work", Run: work}}, s.cleanup, os.Stdout)
}

func freePort(t *testing.T) int { return testport.Port(t) }

var summaryRE = regexp.MustCompile(`(?m)^summary: (\d+) passed, (\d+) failed, (\d+) skipped\n?\z`)

// TestOPS7_ThrowawayClusterRemovedOnEveryExit runs a runner process whose
// test database is a throwaway cluster (nothing answers on its "system"
// address) and checks that the cluster's directory is gone and its port
// closed after a pass, a failure and a SIGTERM (OPS-7).
func TestOPS7_ThrowawayClusterRemovedOnEveryExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode       string
		sigterm    bool
		wantExit   int
		wantStatus string
	}{
		{mode: "pass", wantExit: 0, wantStatus: "passed"},
		{mode: "fail", wantExit: 1, wantStatus: "failed"},
		{mode: "wait", sigterm: true, wantExit: 1, wantStatus: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			logDir := t.TempDir()
			cmd := exec.CommandContext(t.Context(), os.Args[0])
			cmd.Env = append(os.Environ(),
				helperEnv+"="+tt.mode,
				"TESTRUN_CLUSTER_PORT="+strconv.Itoa(port),
				fmt.Sprintf("TESTRUN_SYSTEM_URL=postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", freePort(t)),
				"TESTRUN_LOG_DIR="+logDir,
			)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = cmd.Stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			dir := ""
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				out.WriteString(line + "\n")
				if d, ok := strings.CutPrefix(line, "cluster-dir: "); ok {
					dir = d
					if _, err := os.Stat(dir); err != nil {
						t.Errorf("cluster directory %s missing while the stage runs: %v", dir, err)
					}
					if tt.sigterm {
						if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			err = cmd.Wait()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if dir == "" {
				t.Fatalf("runner never reported its cluster:\n%s", out.String())
			}
			if code != tt.wantExit {
				t.Errorf("exit code = %d, want %d\n%s", code, tt.wantExit, out.String())
			}
			if !regexp.MustCompile(`(?m)^work\s+` + tt.wantStatus + `\s`).MatchString(out.String()) {
				t.Errorf("table lacks work %s:\n%s", tt.wantStatus, out.String())
			}
			if !summaryRE.MatchString(out.String()) {
				t.Errorf("output does not end with the summary line:\n%s", out.String())
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cluster directory %s survives the runner (stat: %v)", dir, err)
			}
			if strings.Contains(out.String(), "stop throwaway cluster") {
				t.Errorf("stopping the cluster reported an error:\n%s", out.String())
			}
			if pgLog, err := os.ReadFile(filepath.Join(logDir, "postgres.log")); err != nil || !strings.Contains(string(pgLog), "server stopped") {
				t.Errorf("postgres.log does not show pg_ctl stopping the server (%v):\n%s", err, pgLog)
			}
			d := net.Dialer{Timeout: time.Second}
			if c, err := d.DialContext(t.Context(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				_ = c.Close()
				t.Errorf("something still listens on the cluster port %d", port)
			}
		})
	}
}

// writeModule writes a throwaway module with a passing test, a failing
// test, a skipped test and a table of subtests.
func writeModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/tiny\n\ngo 1.26.0\n",
		"tiny_test.go": `package tiny

import "testing"

func TestPass(t *testing.T) {}

func TestFail(t *testing.T) { t.Error("boom") }

func TestSkip(t *testing.T) { t.Skip("no chromium") }

func TestTable(t *testing.T) {
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {})
	}
}
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runTiny runs go test -json on the module for real inside a runner, behind
// a passing check stage, and returns the report's output and exit status.
func runTiny(t *testing.T, dir string, strict bool, allow string) (string, int) {
	t.Helper()
	al, err := gotest.ParseAllowlist(strings.NewReader(allow))
	if err != nil {
		t.Fatal(err)
	}
	env := setEnv(setEnv(os.Environ(), "GOWORK", "off"), "GOFLAGS", "-mod=mod")
	unit := func(ctx context.Context, log io.Writer) pipeline.Result {
		tally := gotest.NewTally(log, strict, al)
		err := pipeline.Exec(ctx, log, pipeline.Command{Dir: dir, Env: env, Stdout: tally, Args: []string{"go", "test", "-json", "-count=1", "./..."}})
		tally.Flush()
		return testResult(tally, err, "")
	}
	check := func(context.Context, io.Writer) pipeline.Result { return pipeline.Result{Status: pipeline.Passed} }
	var out bytes.Buffer
	r := &pipeline.Runner{LogDir: t.TempDir(), Out: &out}
	code := execute(t.Context(), r, []pipeline.Stage{{Name: "check", Run: check}, {Name: "unit", Run: unit}}, func(context.Context) {}, &out)
	return out.String(), code
}

// TestOPS9_RealGoTestRun runs go test on a throwaway module for real: the
// last line is the summary with every test and subtest counted, the failure
// exits non-zero, and under CI a skip counts as failed unless allowlisted
// (OPS-9).
func TestOPS9_RealGoTestRun(t *testing.T) {
	t.Parallel()
	dir := writeModule(t)
	tests := []struct {
		name   string
		strict bool
		allow  string
		want   string
	}{
		// check + TestPass + TestTable + TestTable/a + TestTable/b pass; TestFail fails.
		{name: "local", want: "summary: 5 passed, 1 failed, 1 skipped"},
		{name: "CI", strict: true, want: "summary: 5 passed, 2 failed, 0 skipped"},
		{name: "CI with the skip allowed", strict: true, allow: "example.com/tiny TestSkip  # no chromium here\n", want: "summary: 5 passed, 1 failed, 1 skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, code := runTiny(t, dir, tt.strict, tt.allow)
			m := summaryRE.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("output does not end with a summary line:\n%s", out)
			}
			if passed, _ := strconv.Atoi(m[1]); passed == 0 {
				t.Errorf("passed = 0")
			}
			if got := strings.TrimSpace(m[0]); got != tt.want {
				t.Errorf("summary = %q, want %q\n%s", got, tt.want, out)
			}
			if code == 0 {
				t.Errorf("exit code 0 with a failing test")
			}
		})
	}
}

func TestEnvHelpers(t *testing.T) {
	t.Parallel()
	env := []string{"A=1", "MCPBOX_DATABASE_URL=postgres://prod", "GOFLAGS=-buildvcs=false"}
	s, err := newStateForTest(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if v := lookupEnv(s.env, "MCPBOX_DATABASE_URL"); v != "" {
		t.Errorf("MCPBOX_DATABASE_URL = %q in the stage environment; tests must never see it", v)
	}
	if v := lookupEnv(s.env, "GOFLAGS"); v != "-buildvcs=false -mod=readonly" {
		t.Errorf("GOFLAGS = %q", v)
	}
	if v := lookupEnv(setEnv(s.env, "A", "2"), "A"); v != "2" {
		t.Errorf("setEnv did not replace A: %q", v)
	}
}

func newStateForTest(t *testing.T, environ []string) (*state, error) {
	t.Helper()
	root := t.TempDir()
	p := filepath.Join(root, AllowedSkipsFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("# empty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return newState(config{root: root, environ: environ})
}
