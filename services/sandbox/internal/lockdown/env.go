package lockdown

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// WorkerEnv is the whole environment of a worker (§8.1): nothing of the
// parent's environment (token, proxies, YAEGI_*) is passed on.
func WorkerEnv(procs int) []string {
	return []string{"GOMAXPROCS=" + strconv.Itoa(procs), "GOTRACEBACK=single", "TZ=UTC"}
}

// CheckEnv is the worker's first step (§8.2.1): it refuses to run with any
// environment other than WorkerEnv's.
func CheckEnv(environ []string) error {
	if len(environ) != 3 {
		return fmt.Errorf("lockdown: worker environment has %d variables, want 3", len(environ))
	}
	procs := -1
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "GOMAXPROCS="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("lockdown: bad GOMAXPROCS %q", v)
			}
			procs = n
		}
	}
	if procs < 0 || !slices.Equal(slices.Sorted(slices.Values(environ)), slices.Sorted(slices.Values(WorkerEnv(procs)))) {
		return fmt.Errorf("lockdown: unexpected worker environment (%d variables)", len(environ))
	}
	return nil
}

// Command prepares a worker process the way §8.1 says: the executable
// exe with args, the fixed environment, working directory /, stdin from
// /dev/null, its own process group, and SIGKILL when the parent's spawning
// thread dies. The caller adds ExtraFiles (the IPC pipes), stdout and stderr;
// spawn it from a goroutine locked to its OS thread (Pdeathsig is tied to
// the creating thread).
func Command(ctx context.Context, exe string, procs int, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, exe, args...) //nolint:gosec // exe is the service's own binary, never user input
	cmd.Env = WorkerEnv(procs)
	cmd.Dir = "/"
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}
