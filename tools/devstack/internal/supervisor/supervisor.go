// Package supervisor runs make run's services as child processes (operations.md §1.3 steps 5–7).
//
// Each child gets its own process group, so the terminal's Ctrl-C reaches devstack alone and devstack
// decides the stop order, and Pdeathsig=SIGKILL, so killing devstack leaves no orphans. Linux delivers
// Pdeathsig when the *thread* that forked the child exits, so each child is started and waited for by
// a goroutine locked to its OS thread: that thread lives exactly as long as the child.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/console"
)

// TailLines is how many of a child's last lines are kept for the report when it dies.
const TailLines = 20

// Spec describes one child.
type Spec struct {
	Name string
	Path string
	Args []string
	Env  []string
	Dir  string
	// StopTimeout is how long a child has between SIGTERM and SIGKILL.
	StopTimeout time.Duration
	// PidFile, when set, holds the child's pid while it runs: written at start, removed when it exits,
	// so a test or an operator can signal one service.
	PidFile string
}

// Proc is a started child.
type Proc struct {
	spec   Spec
	cmd    *exec.Cmd
	stream *console.Stream
	done   chan struct{}
	err    error
}

// Name returns the service name.
func (p *Proc) Name() string { return p.spec.Name }

// Pid returns the child's process id, which is also its process group id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the child has exited and its output is flushed.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err returns how the child exited, never nil; valid after Done.
func (p *Proc) Err() error {
	if p.err == nil {
		return errExitedZero
	}
	return p.err
}

var errExitedZero = errors.New("exit status 0")

// Tail returns the child's last output lines.
func (p *Proc) Tail() []string { return p.stream.Tail() }

// Supervisor starts children and stops them in reverse order.
type Supervisor struct {
	con    *console.Console
	exited chan *Proc

	mu    sync.Mutex
	procs []*Proc
}

// New returns a supervisor writing children's output to con.
func New(con *console.Console) *Supervisor {
	return &Supervisor{con: con, exited: make(chan *Proc, 64)}
}

// Exited delivers each child once it has exited, whatever the reason.
func (s *Supervisor) Exited() <-chan *Proc { return s.exited }

// Start starts a child.
func (s *Supervisor) Start(spec Spec) (*Proc, error) {
	p, err := s.spawn(spec)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

// Restart starts old's spec again in old's place, so Stop keeps the start order. old must have exited;
// anything it left in its process group is killed first.
func (s *Supervisor) Restart(old *Proc) (*Proc, error) {
	<-old.done
	killGroup(old)
	p, err := s.spawn(old.spec)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.procs {
		if q == old {
			s.procs[i] = p
			return p, nil
		}
	}
	s.procs = append(s.procs, p)
	return p, nil
}

func (s *Supervisor) spawn(spec Spec) (*Proc, error) {
	// Not CommandContext: devstack stops children itself, in order, with SIGTERM first.
	cmd := exec.CommandContext(context.Background(), spec.Path, spec.Args...)
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	stream := s.con.Stream(spec.Name, TailLines)
	cmd.Stdout = stream
	cmd.Stderr = stream
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second // a grandchild holding the output pipe must not block Wait
	p := &Proc{spec: spec, cmd: cmd, stream: stream, done: make(chan struct{})}

	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		if err := writePidFile(spec.PidFile, cmd.Process.Pid); err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		if spec.PidFile != "" {
			_ = os.Remove(spec.PidFile)
		}
		stream.Flush()
		close(p.done)
		s.exited <- p
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	return p, nil
}

// writePidFile writes pid to path (nothing when path is empty), through a temporary file so a reader
// never sees a partial number.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

// Stop stops every child in reverse start order: SIGTERM, then SIGKILL to its process group after its
// StopTimeout. It returns early, leaving the rest to Kill, when ctx ends.
func (s *Supervisor) Stop(ctx context.Context) {
	procs := s.snapshot()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		select {
		case <-p.done:
			killGroup(p) // anything the child left behind
			continue
		default:
		}
		s.con.Printf("stopping %s", p.Name())
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(p.spec.StopTimeout)
		select {
		case <-p.done:
		case <-timer.C:
			s.con.Printf("%s did not stop within %s; killing it", p.Name(), p.spec.StopTimeout)
			killGroup(p)
			<-p.done
		case <-ctx.Done():
			timer.Stop()
			return
		}
		timer.Stop()
		killGroup(p)
	}
}

// Kill sends SIGKILL to every child's process group at once and waits (at most 5 s) for them to exit.
func (s *Supervisor) Kill() {
	procs := s.snapshot()
	for _, p := range procs {
		killGroup(p)
	}
	deadline := time.After(5 * time.Second)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
			return
		}
	}
}

func (s *Supervisor) snapshot() []*Proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Proc(nil), s.procs...)
}

func killGroup(p *Proc) {
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL) // ESRCH: the group is already gone
}

// ErrExited reports a child that exited while devstack waited for it to become ready.
var ErrExited = errors.New("exited before it was ready")

// WaitReady polls every URL until each has answered 200, the child exits, timeout passes or ctx ends.
func WaitReady(ctx context.Context, client *http.Client, p *Proc, urls []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	pending := append([]string(nil), urls...)
	var last string
	for {
		var still []string
		for _, u := range pending {
			status, err := probe(ctx, client, u)
			switch {
			case ctx.Err() != nil: // keep the last real answer for the message
				still = append(still, u)
			case err != nil:
				last = fmt.Sprintf("GET %s: %v", u, err)
				still = append(still, u)
			case status != http.StatusOK:
				last = fmt.Sprintf("GET %s: status %d", u, status)
				still = append(still, u)
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s %w: %w", p.Name(), ErrExited, p.Err())
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not answer 200 within %s; last: %s", p.Name(), timeout, last)
			}
			return fmt.Errorf("waiting for %s: %w", p.Name(), ctx.Err())
		case <-tick.C:
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
