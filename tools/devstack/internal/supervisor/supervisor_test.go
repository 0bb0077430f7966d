package supervisor_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/console"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/supervisor"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func sh(name, script string, stop time.Duration) supervisor.Spec {
	return supervisor.Spec{Name: name, Path: "/bin/sh", Args: []string{"-c", script}, StopTimeout: stop}
}

func TestStopReverseOrderAndKillAfterTimeout(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	s := supervisor.New(console.New(&out))
	// "stubborn" ignores SIGTERM and is killed after its StopTimeout; its child sleeps in the same
	// process group and goes with it.
	stubborn, err := s.Start(sh("stubborn", `trap "" TERM; echo up; sleep 60 & wait; sleep 60`, 300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	polite, err := s.Start(sh("polite", `trap "echo bye; exit 0" TERM; echo up; while :; do sleep 0.05; done`, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, "stubborn | up")
	waitFor(t, &out, "polite   | up")
	start := time.Now()
	s.Stop(context.Background())
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %s", d)
	}
	for _, p := range []*supervisor.Proc{stubborn, polite} {
		select {
		case <-p.Done():
		default:
			t.Errorf("%s still running", p.Name())
		}
		groupGone(t, p)
	}
	text := out.String()
	if i, j := strings.Index(text, "stopping polite"), strings.Index(text, "stopping stubborn"); i < 0 || j < i {
		t.Errorf("not stopped in reverse order:\n%s", text)
	}
	if !strings.Contains(text, "polite   | bye") || !strings.Contains(text, "stubborn did not stop within 300ms; killing it") {
		t.Errorf("output:\n%s", text)
	}
}

func TestWaitReady(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	s := supervisor.New(console.New(&out))
	ready := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ready.Close()
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	client := &http.Client{Timeout: time.Second}

	p, err := s.Start(sh("ok", "sleep 60", time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := supervisor.WaitReady(context.Background(), client, p, []string{ready.URL}, 5*time.Second); err != nil {
		t.Errorf("ready: %v", err)
	}
	err = supervisor.WaitReady(context.Background(), client, p, []string{ready.URL, notReady.URL}, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not answer 200 within 300ms") || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("not ready: %v", err)
	}

	dying, err := s.Start(sh("dying", "echo oops; exit 4", time.Second))
	if err != nil {
		t.Fatal(err)
	}
	err = supervisor.WaitReady(context.Background(), client, dying, []string{notReady.URL}, 10*time.Second)
	if !errors.Is(err, supervisor.ErrExited) {
		t.Errorf("dying: %v, want ErrExited", err)
	}
	if tail := dying.Tail(); len(tail) != 1 || tail[0] != "oops" {
		t.Errorf("tail %v", tail)
	}
	exited := <-s.Exited()
	if exited != dying || !strings.Contains(exited.Err().Error(), "exit status 4") {
		t.Errorf("exited %v: %v", exited.Name(), exited.Err())
	}
	s.Kill()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Error("Kill left a child running")
	}
}

func waitFor(t *testing.T, out *lockedBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", s, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// groupGone waits (briefly: init reaps the orphaned grandchild) until p's process group is empty.
func groupGone(t *testing.T, p *supervisor.Proc) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := syscall.Kill(-p.Pid(), 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s's process group survives: %v", p.Name(), err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart starts an exited child again in its place: its pid file names the new process, Stop still
// goes in reverse start order, and the pid files are gone once the children have exited.
func TestRestartKeepsStopOrderAndPidFile(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	s := supervisor.New(console.New(&out))
	dir := t.TempDir()
	spec := func(name string) supervisor.Spec {
		sp := sh(name, `trap "echo bye; exit 0" TERM; echo up; while :; do sleep 0.05; done`, 5*time.Second)
		sp.PidFile = filepath.Join(dir, "run", name+".pid")
		return sp
	}
	first, err := s.Start(spec("first"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Start(spec("second"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readPid(t, filepath.Join(dir, "run", "first.pid")); got != first.Pid() {
		t.Errorf("first.pid holds %d, want %d", got, first.Pid())
	}
	if err := syscall.Kill(first.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if exited := <-s.Exited(); exited != first {
		t.Fatalf("exited %s, want first", exited.Name())
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "first.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("first.pid outlived its process: %v", err)
	}
	again, err := s.Restart(first)
	if err != nil {
		t.Fatal(err)
	}
	if again.Pid() == first.Pid() || readPid(t, filepath.Join(dir, "run", "first.pid")) != again.Pid() {
		t.Errorf("after the restart first.pid holds %d; old pid %d, new pid %d",
			readPid(t, filepath.Join(dir, "run", "first.pid")), first.Pid(), again.Pid())
	}
	for deadline := time.Now().Add(5 * time.Second); strings.Count(out.String(), "| up\n") < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted child did not start:\n%s", out.String())
		}
	}
	s.Stop(context.Background())
	text := out.String()
	if i, j := strings.Index(text, "stopping second"), strings.Index(text, "stopping first"); i < 0 || j < i {
		t.Errorf("not stopped in reverse start order after the restart:\n%s", text)
	}
	for _, p := range []*supervisor.Proc{again, second} {
		<-p.Done()
		groupGone(t, p)
	}
	for _, name := range []string{"first", "second"} {
		if _, err := os.Stat(filepath.Join(dir, "run", name+".pid")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s.pid remains after the stop: %v", name, err)
		}
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}
