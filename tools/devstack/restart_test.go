package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// -restart: a service killed after the banner is started again (the second time after a longer
// backoff), <data>/run/<service>.pid follows it, and Ctrl-C still stops everything in reverse order,
// removing the pid files.
func TestRestartFlagRestartsAKilledService(t *testing.T) {
	t.Parallel()
	r := startDevstack(t, runOpts{args: []string{"-restart"}})
	r.waitOutput(bannerEnd, 60*time.Second)
	pidFile := filepath.Join(r.data, "run", "backend.pid")
	pids := []int{r.pidOf(pidFile)}
	for n, backoff := range []string{"250ms", "500ms"} {
		if err := syscall.Kill(pids[n], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r.waitOutput("devstack | backend exited (signal: killed); restarting (restart "+strconv.Itoa(n+1)+") in "+backoff+"\n", 10*time.Second)
		deadline := time.Now().Add(10 * time.Second)
		for len(r.startsOf("backend")) < n+2 {
			if time.Now().After(deadline) {
				t.Fatalf("backend was not restarted after kill %d", n+1)
			}
			time.Sleep(20 * time.Millisecond)
		}
		pid := r.pidOf(pidFile)
		if starts := r.startsOf("backend"); pid != starts[n+1] || pid == pids[n] {
			t.Errorf("after kill %d backend.pid holds %d; the fakes started backend as %v", n+1, pid, starts)
		}
		pids = append(pids, pid)
	}
	if strings.Contains(r.out.String(), "stopping") {
		t.Errorf("a restart stopped other services:\n%s", r.out.String())
	}

	r.signal(syscall.SIGINT)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if got := strings.Join(r.rolesWith("stop"), ","); got != "edge,gateway,backend,sandbox" {
		t.Errorf("stop order %s, want edge,gateway,backend,sandbox", got)
	}
	entries, err := os.ReadDir(filepath.Join(r.data, "run"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s remains after the stop", e.Name())
	}
	r.assertGone()
}

// Without -restart the pid files exist too, one per running service.
func TestPidFilesNameTheRunningServices(t *testing.T) {
	t.Parallel()
	r := startDevstack(t, runOpts{})
	r.waitOutput(bannerEnd, 60*time.Second)
	for _, role := range []string{"sandbox", "backend", "gateway", "edge"} {
		starts := r.startsOf(role)
		if pid := r.pidOf(filepath.Join(r.data, "run", role+".pid")); len(starts) != 1 || pid != starts[0] {
			t.Errorf("%s.pid holds %d; the fake started as %v", role, pid, starts)
		}
	}
	if pid := r.pidOf(filepath.Join(r.data, "run", "devidp.pid")); syscall.Kill(pid, 0) != nil {
		t.Errorf("devidp.pid holds %d, which is not running", pid)
	}
	r.signal(syscall.SIGINT)
	if code := r.wait(30 * time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if _, err := os.Stat(filepath.Join(r.data, "run", "backend.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backend.pid remains after the stop: %v", err)
	}
}

// pidOf reads a pid file.
func (r *running) pidOf(path string) int {
	r.t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		r.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		r.t.Fatalf("%s: %v", path, err)
	}
	return pid
}

// startsOf lists the pids the fake of role recorded at each start.
func (r *running) startsOf(role string) []int {
	var out []int
	for _, e := range r.readEvents() {
		if e.role == role && e.what == "start" {
			out = append(out, e.pid)
		}
	}
	return out
}
