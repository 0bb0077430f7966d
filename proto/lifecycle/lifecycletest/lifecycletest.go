// Package lifecycletest runs a service's run function inside a test, the way
// its binary would run, on loopback ports chosen by the kernel: it waits for
// the "listening" log lines and hands back each listener's base URL and the
// service's log output.
package lifecycletest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/lifecycle"
)

// Logs is a log sink safe for concurrent writes.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines decodes every complete line as a JSON object; a line that is not
// one fails the test.
func (l *Logs) Lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimRight(l.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not one JSON object: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// WaitListening returns the address the listener name bound, from its
// "listening" log line, waiting up to 10 s.
func (l *Logs) WaitListening(t testing.TB, name string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(l.String(), "\n") {
			var m struct{ Msg, Listener, Addr string }
			if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "listening" && m.Listener == name {
				return m.Addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("listener %s never bound; logs:\n%s", name, l.String())
	return ""
}

// Service is a run function running in the background of a test.
type Service struct {
	Logs *Logs
	stop context.CancelFunc
	done chan error
	once sync.Once
	err  error
}

// Start runs run(ctx, args, environ, logs) in a goroutine. The service stops
// when the test ends (or Stop is called); Stop's error is its run's result.
func Start(t testing.TB, run lifecycle.RunFunc, args []string, env map[string]string) *Service {
	t.Helper()
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{Logs: &Logs{}, stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, args, environ, s.Logs) }()
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// Stop cancels the service and returns run's error (nil after a clean
// shutdown). Later calls return the same result.
func (s *Service) Stop() error {
	s.once.Do(func() {
		s.stop()
		select {
		case s.err = <-s.done:
		case <-time.After(30 * time.Second):
			s.err = context.DeadlineExceeded
		}
	})
	return s.err
}

// Get sends a GET with optional headers and returns status and body.
func Get(t testing.TB, url string, header ...string) (int, string) {
	t.Helper()
	return Do(t, http.MethodGet, url, header...)
}

// Do sends a request without a body. header holds name, value pairs.
func Do(t testing.TB, method, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Run runs run to completion (a subcommand, or a start that must fail) and
// returns its logs and error.
func Run(t testing.TB, run lifecycle.RunFunc, args []string, env map[string]string) (*Logs, error) {
	t.Helper()
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logs := &Logs{}
	return logs, run(ctx, args, environ, logs)
}
