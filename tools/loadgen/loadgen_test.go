package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

// sandboxBinary is MCPBOX_BIN_DIR/sandbox, else <repo>/bin/sandbox; a missing binary (or worker next to it) fails
// the test, since a skip would hide it.
func sandboxBinary(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MCPBOX_BIN_DIR")
	if dir == "" {
		root, err := repo.RootFromWD()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "bin")
	}
	for _, name := range []string{"sandbox", "sandbox-worker"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("no %s binary in %s (run `make build`, or set MCPBOX_BIN_DIR): %v", name, dir, err)
		}
	}
	return filepath.Join(dir, "sandbox")
}

// sandbox.md §16: one short step against the real bin/sandbox, in-process, writes a complete report. Only counts are
// asserted, never timings.
func TestLoadgenSandboxShortRun(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{
		"sandbox", "-bin", sandboxBinary(t), "-rate", "40", "-warmup", "500ms", "-duration", "2s", "-cpus", "", "-out", out,
	}, os.Environ(), &stdout, &stderr)
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	if code != exitPass && code != exitFail {
		t.Fatalf("exit status %d, want 0 or 1 (a step may fail on a loaded machine, the run must not)", code)
	}

	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var rep report
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("report does not decode: %v\n%s", err, raw)
	}
	for _, key := range []string{`"cpu_ms_per_execution"`, `"max_passing_rate"`, `"histogram"`, `"latency_ms"`} {
		if !bytes.Contains(raw, []byte(key)) {
			t.Errorf("report lacks %s", key)
		}
	}
	if rep.Error != "" {
		t.Fatalf("run error: %s\nlog %s", rep.Error, rep.Log)
	}
	if rep.Target != "sandbox" || rep.Pinned || rep.Tool.PinnedHash == "" || rep.Log != out+".log" {
		t.Errorf("target %q, pinned %v, pinned hash %q, log %q", rep.Target, rep.Pinned, rep.Tool.PinnedHash, rep.Log)
	}
	m := rep.Machine
	if m.CPUs < 1 || m.CPUModel == "" || m.Kernel == "" || !strings.HasPrefix(m.GoVersion, "go") || m.PinnedCPUs != "" || m.ClockTicks < 1 {
		t.Errorf("machine not filled in: %+v", m)
	}
	if len(rep.Steps) != 1 {
		t.Fatalf("%d steps, want 1", len(rep.Steps))
	}
	st := rep.Steps[0]
	if st.Sent < 70 || st.Sent > 90 {
		t.Errorf("sent %d, want about 80 (40/s for 2 s)", st.Sent)
	}
	if st.OK != st.Sent || st.Errors != 0 || len(st.ErrorTexts) != 0 {
		t.Errorf("ok %d of %d sent, errors %d %q, 429 %d, dropped %d", st.OK, st.Sent, st.Errors, st.ErrorTexts, st.Saturated, st.Dropped)
	}
	if st.LatencyMS.P50 <= 0 || st.LatencyMS.P99 < st.LatencyMS.P50 || st.LatencyMS.Max < st.LatencyMS.P99 {
		t.Errorf("latencies %+v", st.LatencyMS)
	}
	sum := 0
	for _, b := range st.Histogram {
		sum += b.Count
	}
	if len(st.Histogram) != len(bucketBoundsMS())+1 || sum != st.Sent {
		t.Errorf("histogram has %d buckets holding %d samples, want %d buckets holding %d", len(st.Histogram), sum, len(bucketBoundsMS())+1, st.Sent)
	}
	if st.CPUMSPerExecution <= 0 {
		t.Errorf("cpu_ms_per_execution %v, want > 0", st.CPUMSPerExecution)
	}
	if rep.TargetExit != "exit status 0" {
		t.Errorf("sandbox ended with %q, want exit status 0 after SIGTERM", rep.TargetExit)
	}
	if !strings.Contains(stdout.String(), "rate 40/s: ok ") {
		t.Errorf("no summary line in stdout")
	}
	if log, err := os.ReadFile(rep.Log); err != nil || !bytes.Contains(log, []byte(`"msg":"listening"`)) {
		t.Errorf("sandbox log %s lacks the listening line (%v)", rep.Log, err)
	}
}

// Bad command lines exit 2 before anything starts, naming the flag or argument at fault.
func TestLoadgenUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero rate", []string{"sandbox", "-rate", "0"}, "-rate"},
		{"rate not a number", []string{"sandbox", "-rate", "abc"}, "-rate"},
		{"one bad rate of several", []string{"sandbox", "-rate", "100,x,300"}, "-rate"},
		{"negative duration", []string{"sandbox", "-duration", "-1s"}, "-duration"},
		{"zero duration", []string{"sandbox", "-duration", "0s"}, "-duration"},
		{"duration not a duration", []string{"sandbox", "-duration", "soon"}, "-duration"},
		{"negative warmup", []string{"sandbox", "-warmup", "-1s"}, "-warmup"},
		{"zero max-inflight", []string{"sandbox", "-max-inflight", "0"}, "-max-inflight"},
		{"bad cpus", []string{"sandbox", "-cpus", "all"}, "-cpus"},
		{"too many samples", []string{"sandbox", "-rate", "1e6", "-duration", "1h"}, "-rate"},
		{"no target", nil, "target"},
		{"flag before target", []string{"-rate", "10"}, "target"},
		{"unknown target", []string{"edge"}, "edge"},
		{"extra argument", []string{"sandbox", "extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, nil, &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q does not name %q", stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// -h prints the usage and exits 0.
func TestLoadgenHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"sandbox", "-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, nil, &stdout, &stderr); code != exitPass {
			t.Errorf("%v: exit %d, want 0", args, code)
		}
		if !strings.Contains(stderr.String(), "-max-inflight") {
			t.Errorf("%v: usage %q lacks the flags", args, stderr.String())
		}
	}
}
