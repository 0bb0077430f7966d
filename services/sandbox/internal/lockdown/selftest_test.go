package lockdown

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// TestSelfTestPasses runs the start-up self-test of §8.6 for real: every
// probe in its own locked-down child of this test binary.
// SB-84 (self-test part: the isolation layers it checks hold on this host)
func TestSelfTestPasses(t *testing.T) {
	t.Parallel()
	if err := HardenParent(); err != nil {
		t.Fatal(err)
	}
	r, err := SelfTest(t.Context(), testExe(t))
	if err != nil {
		t.Fatalf("self-test failed: %v\n%+v", err, r)
	}
	if len(r.Results) != len(ProbeNames()) || !r.Passed() {
		t.Fatalf("report %+v", r)
	}
	for _, p := range r.Results {
		t.Logf("%-15s want %-17s got %s", p.Probe, p.Want, p.Got)
	}
}

// SB-41 (lockdown layer): each simulated native escape after lockdown is
// refused with EPERM or kills the process with SIGSYS (classified
// SecurityViolation), and the parent (this test process) survives.
func TestForbiddenOperationsRefused(t *testing.T) {
	t.Parallel()
	want := map[string]Expectation{
		"execve": ExpectSIGSYS, "socket": ExpectSIGSYS, "ptrace_parent": ExpectSIGSYS, "x32_abi": ExpectSIGSYS,
		"openat": ExpectEPERM, "kill_parent": ExpectEPERM, "mmap_exec": ExpectEPERM, "mprotect_exec": ExpectEPERM,
		"clone_process": ExpectEPERM, "rlimit_raise": ExpectEPERM, "alloc_past_as": ExpectENOMEM,
	}
	for name, exp := range want {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr strings.Builder
			cmd := Command(t.Context(), testExe(t), 1, SelfTestArg, name)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			x := ExitOf(cmd.ProcessState)
			if exp == ExpectSIGSYS {
				if !x.Signaled || x.Signal != syscall.SIGSYS {
					t.Fatalf("exit %+v (err %v), stdout %q, stderr %q; want SIGSYS", x, err, stdout.String(), stderr.String())
				}
				out := Classify(Observation{Exit: x})
				if out.ErrorType != proto.ErrTypeSecurityViolation || out.Class != ClassSeccomp {
					t.Fatalf("classified %+v", out)
				}
				return
			}
			var rep childReport
			if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
				t.Fatalf("no report (exit %+v): %v; stderr %q", x, err, stderr.String())
			}
			if rep.Errno != string(exp) || rep.OK {
				t.Fatalf("report %+v, want %s", rep, exp)
			}
		})
	}
}

// An allowed workload (allocation, goroutines, timers, stack growth, GC,
// JSON) still runs under the filter and the job limits.
func TestAllowedWorkloadRuns(t *testing.T) {
	t.Parallel()
	res, err := RunProbe(t.Context(), testExe(t), "workload")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed || res.Got != "ok" {
		t.Fatalf("workload: %+v", res)
	}
}

// SB-40 (lockdown layer): with the token and YAEGI_DOT_CMD in the parent's
// environment, a spawned child holds only the three fixed variables.
func TestSpawnEnvironmentIsFixed(t *testing.T) {
	t.Setenv("MCPBOX_SANDBOX_TOKEN", "parent-token-0123456789abcdef0123456789")
	t.Setenv("YAEGI_DOT_CMD", "/bin/sh")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	res, err := RunProbe(t.Context(), testExe(t), "env")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed {
		t.Fatalf("env probe: %+v", res)
	}
	// And independently of CheckEnv: the child's /proc/self/environ.
	out, err := Command(t.Context(), "/bin/cat", 3, "/proc/self/environ").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	if err := CheckEnv(got); err != nil {
		t.Fatalf("child environment %q: %v", got, err)
	}
	for _, kv := range got {
		if strings.Contains(kv, "parent-token") || strings.HasPrefix(kv, "YAEGI_") || strings.Contains(kv, "PROXY") {
			t.Fatalf("leaked %q", kv)
		}
	}
}
