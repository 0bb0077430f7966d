package lockdown

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Controls: without lockdown the probes' calls succeed, so the refusals seen
// in TestForbiddenOperationsRefused come from the filter and the limits,
// not from the probes being wrong.
func TestProbesSucceedWithoutLockdown(t *testing.T) {
	t.Parallel()
	byName := map[string]probe{}
	for _, p := range probes() {
		byName[p.name] = p
	}
	for _, name := range []string{"openat", "mmap_exec", "mprotect_exec", "kill_parent", "socket", "alloc_past_as", "workload"} {
		rep := byName[name].run()
		if !rep.OK {
			t.Errorf("%s without lockdown: %+v", name, rep)
		}
	}
}

// SB-40 (lockdown layer): /proc/<parent>/environ, which holds the token, is
// unreadable from a same-uid child once the parent has called HardenParent,
// and readable when it has not (the control). Production runs without
// capabilities; as root the stand-in parent and its child run as nobody,
// since a capability-holding parent is protected whatever its dumpability.
func TestParentEnvironUnreadableAfterHardening(t *testing.T) {
	t.Parallel()
	exe := testExe(t)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		exe = worldExecutableCopy(t, exe)
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	for _, mode := range []string{"harden", "control"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), exe, parentSimArg, mode)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			cmd.Dir = "/"
			cmd.Env = []string{"MCPBOX_SANDBOX_TOKEN=parent-token-0123456789abcdef0123456789"}
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("parent stand-in: %v", err)
			}
			var res ProbeResult
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("output %q: %v", out, err)
			}
			if mode == "harden" && !res.Passed {
				t.Fatalf("hardened parent's environ: %+v", res)
			}
			if mode == "control" && (res.Passed || res.Got != "ok") {
				t.Fatalf("unhardened parent's environ should be readable: %+v", res)
			}
		})
	}
}

// worldExecutableCopy copies the test binary where an unprivileged uid can
// execute it (go test's build directory is private).
func worldExecutableCopy(t *testing.T, exe string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lockdown-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "lockdown.test")
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}
