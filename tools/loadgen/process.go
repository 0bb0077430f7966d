package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timings of the target process.
const (
	readyTimeout = 30 * time.Second // from start to the listening line and a 200 on /readyz
	stopTimeout  = 10 * time.Second // from SIGTERM to SIGKILL
	tailLines    = 20               // log lines quoted when the target fails to start
)

// procSpec says how to start the sandbox.
type procSpec struct {
	bin     string   // the sandbox binary
	taskset string   // taskset binary, "" to run unpinned
	cpus    string   // taskset -c list when taskset is set
	path    string   // PATH of the child: its only inherited variable
	logPath string   // the child's stdout and stderr go here
	env     []string // extra MCPBOX_SANDBOX_* settings, KEY=VALUE
}

// sandboxProc is a running bin/sandbox.
type sandboxProc struct {
	cmd     *exec.Cmd
	addr    string // host:port of its main listener, loopback
	token   string // its MCPBOX_SANDBOX_TOKEN
	logPath string
	log     *os.File
	exited  chan struct{} // closed when Wait returned
	waitErr error         // Wait's result, set before exited closes
}

// startSandbox starts the sandbox with a fresh token on 127.0.0.1:0, finds its address in its log and waits until
// /readyz answers 200. On failure the process is stopped and the error quotes the end of its log.
func startSandbox(ctx context.Context, spec procSpec, client *http.Client) (*sandboxProc, error) {
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	log, err := os.OpenFile(spec.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sandbox log: %w", err)
	}
	name, args := spec.bin, []string(nil)
	if spec.taskset != "" {
		// taskset execs the sandbox, so cmd.Process.Pid is the sandbox's pid.
		name, args = spec.taskset, []string{"-c", spec.cpus, spec.bin}
	}
	watch := newListenWatcher(log)
	// Not tied to ctx: stop ends the sandbox with SIGTERM, as an operator would, even after an interrupt.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), name, args...)
	cmd.Env = append([]string{"PATH=" + spec.path, "MCPBOX_SANDBOX_TOKEN=" + token, "MCPBOX_SANDBOX_LISTEN=127.0.0.1:0"}, spec.env...)
	cmd.Stdout, cmd.Stderr = watch, log
	cmd.WaitDelay = 5 * time.Second // workers holding stdout must not keep Wait waiting
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("start %s: %w", strings.Join(cmd.Args, " "), err)
	}
	p := &sandboxProc{cmd: cmd, token: token, logPath: spec.logPath, log: log, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = log.Close()
		close(p.exited)
	}()
	if err := p.awaitReady(ctx, watch, client); err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("%w\nlast lines of %s:\n%s", err, p.logPath, tail(p.logPath, tailLines))
	}
	return p, nil
}

// newToken is 32 random bytes in hex: 64 characters.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sandbox token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// awaitReady waits for the listening line, then polls /readyz until it answers 200, within readyTimeout.
func (p *sandboxProc) awaitReady(ctx context.Context, watch *listenWatcher, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	select {
	case addr := <-watch.found:
		if err := checkLoopback(addr); err != nil {
			return err
		}
		p.addr = addr
	case <-p.exited:
		return fmt.Errorf("sandbox exited before listening: %w", exitErr(p.waitErr))
	case <-ctx.Done():
		return fmt.Errorf(`no {"msg":"listening","listener":"main"} line from the sandbox within %s: %w`, readyTimeout, context.Cause(ctx))
	}
	var last string // what /readyz said last
	for {
		status, body, err := get(ctx, client, "http://"+p.addr+"/readyz")
		switch {
		case err != nil:
			last = err.Error()
		case status == http.StatusOK:
			return nil
		default:
			last = fmt.Sprintf("status %d: %s", status, truncate(strings.TrimSpace(string(body)), 500))
		}
		select {
		case <-p.exited:
			return fmt.Errorf("sandbox exited before it was ready (/readyz said %s): %w", last, exitErr(p.waitErr))
		case <-ctx.Done():
			return fmt.Errorf("sandbox not ready within %s; /readyz said %s", readyTimeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkLoopback refuses an address that is not a loopback IP: loadgen dials nothing else.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sandbox listening address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("sandbox listens on %q, not a loopback address; loadgen only dials loopback", addr)
	}
	return nil
}

// get fetches url and reads the body, at most 1 MiB.
func get(ctx context.Context, client *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("GET %s: read body: %w", url, err)
	}
	return resp.StatusCode, body, nil
}

// pid is the sandbox's process id (taskset execs it, so it is also taskset's).
func (p *sandboxProc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM, waits stopTimeout, then kills; it returns how the process ended.
func (p *sandboxProc) stop() error {
	select {
	case <-p.exited:
		return fmt.Errorf("exited before it was stopped: %w", exitErr(p.waitErr))
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("still running %s after SIGTERM; killed", stopTimeout)
	}
}

// exitErr turns a nil Wait result into an error saying so.
func exitErr(err error) error {
	if err == nil {
		return errors.New("exit status 0")
	}
	return err
}

// running reports an error when the sandbox has exited.
func (p *sandboxProc) running() error {
	select {
	case <-p.exited:
		return fmt.Errorf("the sandbox exited during the run (see %s): %w", p.logPath, exitErr(p.waitErr))
	default:
		return nil
	}
}

// listenWatcher is the sandbox's stdout: it copies everything to the log and sends the "addr" of the first JSON
// line with "msg":"listening" and "listener":"main" on found.
type listenWatcher struct {
	log   io.Writer
	found chan string // buffered; receives one address

	mu      sync.Mutex
	partial []byte // the current line so far
	done    bool   // the address was found
}

// maxLine bounds the partial line kept while searching; longer lines are not the listening line.
const maxLine = 1 << 20

// newListenWatcher copies into log.
func newListenWatcher(log io.Writer) *listenWatcher {
	return &listenWatcher{log: log, found: make(chan string, 1)}
}

// Write never fails: a full disk must not block the sandbox on a full pipe.
func (w *listenWatcher) Write(b []byte) (int, error) {
	_, _ = w.log.Write(b)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(b), nil
	}
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i]
		w.partial = w.partial[i+1:]
		if addr, ok := listeningAddr(line); ok {
			w.done, w.partial = true, nil
			w.found <- addr
			break
		}
	}
	if len(w.partial) > maxLine {
		w.partial = nil
	}
	return len(b), nil
}

// listeningAddr is the "addr" of a log line with "msg":"listening" and "listener":"main".
func listeningAddr(line []byte) (string, bool) {
	var l struct {
		Msg      string `json:"msg"`
		Listener string `json:"listener"`
		Addr     string `json:"addr"`
	}
	if json.Unmarshal(line, &l) != nil || l.Msg != "listening" || l.Listener != "main" || l.Addr == "" {
		return "", false
	}
	return l.Addr, true
}

// tail is the last n lines of the file at path, indented, or why it cannot be read.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(len(lines)-n, 0):]
	return "    " + strings.Join(lines, "\n    ")
}
