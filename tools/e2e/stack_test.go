package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// e2eOffset moves every dev port by 10000 (operations.md §1): the e2e stack
// never meets a `make run` on the dev ports.
const e2eOffset = "10000"

// Stack is one devstack run from bin/ on the e2e ports, with a fresh test
// database and a temporary .data directory.
type Stack struct {
	cmd  *exec.Cmd
	out  *lifecycletest.Logs
	data string
	done chan error
}

// startStackWith runs devstack with data as its .data directory and env
// added to the test's environment (without MCPBOX_DATABASE_URL unless given).
func startStackWith(t *testing.T, data string, env ...string) *Stack {
	t.Helper()
	return startDevstack(t, devstackRun{
		data: data, offset: e2eOffset, env: env,
		inherit: func(kv string) bool { return !strings.HasPrefix(kv, "MCPBOX_DATABASE_URL=") },
	})
}

// devstackRun says how to start one devstack from bin/.
type devstackRun struct {
	data    string
	offset  string             // -port-offset
	args    []string           // more flags
	inherit func(string) bool  // which KEY=VALUE of the test's environment devstack gets
	env     []string           // added after them
	stopped func(t *testing.T) // runs at cleanup once devstack has stopped (or was killed)
}

// startDevstack starts devstack with the e2e sandbox, no PostgreSQL probe
// and r's settings, stops it with SIGINT at cleanup (as a developer would;
// SIGKILL after 40 s), prints its output when the test failed, and returns
// once its banner says every service is ready.
func startDevstack(t *testing.T, r devstackRun) *Stack {
	t.Helper()
	bin := binDir(t)
	devstack := filepath.Join(bin, "devstack")
	if _, err := os.Stat(devstack); err != nil {
		t.Fatalf("bin/devstack missing (make build builds it): %v", err)
	}
	s := &Stack{out: &lifecycletest.Logs{}, data: r.data, done: make(chan error, 1)}
	args := append([]string{
		"-root", repoRoot(t), "-bin", bin, "-data", r.data, "-port-offset", r.offset,
		"-sandbox-bin", filepath.Join(bin, "sandbox-e2e"), "-probe-addr", "off",
	}, r.args...)
	// Not tied to the test context: the cleanup stops it.
	s.cmd = exec.CommandContext(context.WithoutCancel(t.Context()), devstack, args...)
	for _, kv := range os.Environ() {
		if r.inherit(kv) {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	s.cmd.Env = append(s.cmd.Env, r.env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Signal(os.Interrupt)
			select {
			case err := <-s.done:
				t.Logf("devstack stopped at cleanup: %v", err)
			case <-time.After(40 * time.Second):
				_ = s.cmd.Process.Kill()
			}
		}
		if r.stopped != nil {
			r.stopped(t)
		}
		if t.Failed() {
			t.Logf("devstack output:\n%s", s.out.String())
		}
	})
	deadline := time.After(120 * time.Second)
	for !strings.Contains(s.out.String(), "Press Ctrl-C to stop.") {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("devstack exited before its banner: %v\n%s", err, s.out.String())
		case <-deadline:
			t.Fatalf("no banner within 120 s:\n%s", s.out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return s
}

// Stop sends SIGINT and returns devstack's exit error within 30 s.
func (s *Stack) Stop(t *testing.T) error {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("devstack did not stop within 30 s after SIGINT:\n%s", s.out.String())
		return nil
	}
}

// ServiceLines returns each JSON log line of the four services, by service.
func (s *Stack) ServiceLines(t *testing.T) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(s.out.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, text, ok := strings.Cut(sc.Text(), " | ")
		name = strings.TrimSpace(name)
		if !ok || !isService(name) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			t.Errorf("%s log line is not one JSON object: %q", name, text)
			continue
		}
		out[name] = append(out[name], m)
	}
	return out
}

func isService(name string) bool {
	for _, s := range services() {
		if s == name {
			return true
		}
	}
	return false
}

// get fetches url with optional header pairs.
func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// portFree reports whether nothing listens on addr any more.
func portFree(addr string) bool {
	d := net.Dialer{Timeout: 200 * time.Millisecond}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	_ = c.Close()
	return false
}
