package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timings of the stack.
const (
	bannerTimeout = 120 * time.Second // devstack migrates, then starts five services, each ready before the next
	stopTimeout   = 60 * time.Second  // from SIGINT to SIGKILL (devstack stops each service within its 10 s)
	tailLines     = 30                // lines of the stack's log quoted when it fails
)

// bannerLine is the end of devstack's banner: every service answered /readyz.
const bannerLine = "Press Ctrl-C to stop."

// stackSpec says how to start devstack.
type stackSpec struct {
	root, bin, data string
	portOffset      int
	logPath         string
	env             []string // the whole environment of devstack
}

// devstack is a running tools/devstack on the e2e ports.
type devstack struct {
	cmd     *exec.Cmd
	log     *lockedLog
	logFile *os.File
	done    chan struct{}
	waitErr error
}

// devstackArgs is devstack's command line: the e2e stack of tools/e2e (operations.md §1), its sandbox built with
// -tags e2e, the system PostgreSQL probe off (the database comes in MCPBOX_DATABASE_URL).
func devstackArgs(s stackSpec) []string {
	return []string{
		"-root", s.root, "-bin", s.bin, "-data", s.data, "-port-offset", strconv.Itoa(s.portOffset),
		"-sandbox-bin", filepath.Join(s.bin, "sandbox-e2e"), "-probe-addr", "off",
	}
}

// stackEnv is devstack's environment: the caller's, without the variables loadstack sets, plus the fresh database,
// the stateless gateway of gateway.md §15 and extra (KEY=value; a later entry wins).
func stackEnv(environ []string, dbURL string, extra ...string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MCPBOX_DATABASE_URL", "MCPBOX_GATEWAY_SESSION_MODE", "MCPBOX_DEV_PORT_OFFSET":
			continue
		}
		out = append(out, kv)
	}
	return append(append(out, "MCPBOX_DATABASE_URL="+dbURL, "MCPBOX_GATEWAY_SESSION_MODE=stateless"), extra...)
}

// startStack starts devstack in its own process group (an interrupt reaches loadstack alone, which stops the stack
// once, in order) and waits for its banner.
func startStack(ctx context.Context, s stackSpec) (*devstack, error) {
	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("stack log: %w", err)
	}
	d := &devstack{log: &lockedLog{file: f, path: s.logPath}, logFile: f, done: make(chan struct{})}
	// Not tied to ctx: stop ends it with SIGINT, as a developer would, even after an interrupt.
	d.cmd = exec.CommandContext(context.WithoutCancel(ctx), filepath.Join(s.bin, "devstack"), devstackArgs(s)...)
	d.cmd.Env = s.env
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.cmd.WaitDelay = 5 * time.Second
	if err := d.cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start devstack: %w", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.done)
	}()
	deadline := time.NewTimer(bannerTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !d.log.contains(bannerLine) {
		select {
		case <-d.done:
			_ = f.Close()
			return nil, fmt.Errorf("devstack exited before its banner (%w); the end of %s:\n%s", d.waitErr, s.logPath, d.log.tail(tailLines))
		case <-deadline.C:
			_ = d.stop()
			return nil, fmt.Errorf("no devstack banner within %s; the end of %s:\n%s", bannerTimeout, s.logPath, d.log.tail(tailLines))
		case <-ctx.Done():
			_ = d.stop()
			return nil, fmt.Errorf("interrupted while the stack started: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return d, nil
}

// pid is devstack's process id; its children are the services.
func (d *devstack) pid() int { return d.cmd.Process.Pid }

// exited reports whether devstack ended (a service died and it stopped the rest).
func (d *devstack) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends devstack one SIGINT, waits for it to stop every service, and kills its process group after
// stopTimeout. It returns devstack's exit error.
func (d *devstack) stop() error {
	defer func() { _ = d.logFile.Close() }()
	if d.exited() {
		return d.waitErr
	}
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal devstack: %w", err)
	}
	select {
	case <-d.done:
		return d.waitErr
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-d.pid(), syscall.SIGKILL)
		<-d.done
		return fmt.Errorf("devstack did not stop within %s after SIGINT; its process group was killed", stopTimeout)
	}
}

// lockedLog is the stack's log file, which loadstack also searches for the banner and quotes on failure.
type lockedLog struct {
	mu   sync.Mutex
	file *os.File
	path string
	buf  bytes.Buffer // the start of the log, up to maxKept bytes
}

// maxKept bounds the start of the log kept in memory, where the config lines and the banner are.
const maxKept = 4 << 20

// tailBytes is how much of the end of the log file tail reads.
const tailBytes = 64 << 10

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < maxKept {
		l.buf.Write(p[:min(len(p), maxKept-l.buf.Len())])
	}
	n, err := l.file.Write(p)
	if err != nil {
		return n, fmt.Errorf("stack log: %w", err)
	}
	return n, nil
}

func (l *lockedLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Contains(l.buf.Bytes(), []byte(s))
}

// tail returns the last n lines of the log file.
func (l *lockedLog) tail(n int) string {
	f, err := os.Open(l.path)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	defer func() { _ = f.Close() }()
	var off int64
	if st, err := f.Stat(); err == nil && st.Size() > tailBytes {
		off = st.Size() - tailBytes
	}
	b := make([]byte, tailBytes)
	k, _ := f.ReadAt(b, off)
	return lastLines(string(b[:k]), n)
}

// lastLines returns the last n lines of s, indented.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	return "    " + strings.Join(lines, "\n    ")
}

// readDevEnv reads the KEY=value lines of the stack's dev.env (it holds secrets: callers take single keys).
func readDevEnv(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dev.env: %w", err)
	}
	return parseDevEnv(string(raw)), nil
}

// parseDevEnv parses KEY=value lines, skipping comments and blank lines; a later line wins.
func parseDevEnv(s string) map[string]string {
	env := map[string]string{}
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[strings.TrimSpace(k)] = v
		}
	}
	return env
}

// head returns the start of the log kept in memory (the config lines and the banner).
func (l *lockedLog) head() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
