package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mcpbox/mcpbox/services/sandbox/internal/ipc"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/lockdown"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/procfs"
)

// WorkerArg is the subcommand the worker executable is started with
// (worker.ProcessArg; repeated here so the pool does not import the
// interpreter).
const WorkerArg = "__worker"

const (
	// tailCap is the size of the stdout and stderr tail buffers (§8.1).
	tailCap = 64 << 10
	// readyTimeout bounds a spawn from start to the ready frame.
	readyTimeout = 30 * time.Second
	// reapDelay bounds cmd.Wait's wait for the output pipes after the
	// process ended.
	reapDelay = time.Second
)

// proc is one worker process.
type proc struct {
	cmd  *exec.Cmd
	pid  int
	born time.Time

	toWorker   *os.File // parent end of fd 3
	fromWorker *os.File // parent end of fd 4
	r          *ipc.Reader
	w          *ipc.Writer
	checker    *ipc.Checker
	ready      ipc.Ready

	stderr *tail
	stdout *tail

	exited   chan struct{} // closed once reaped
	state    *os.ProcessState
	killMu   sync.Mutex
	killed   bool // the parent sent SIGKILL before the process ended
	jobsSent int  // job frames written (SB-66 instrumentation)
}

// spawnRequest asks the spawner thread to start cmd.
type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// spawner starts every worker from one goroutine locked to its OS thread:
// Pdeathsig is delivered when the creating thread exits, so that thread
// must live as long as the pool (§8.1). It returns when stop closes, and
// the thread then ends with it.
func spawner(reqs <-chan spawnRequest, stop <-chan struct{}) {
	runtime.LockOSThread()
	// Never unlocked: the thread exits with this goroutine.
	for {
		select {
		case <-stop:
			return
		case r := <-reqs:
			r.done <- r.cmd.Start()
		}
	}
}

// start spawns one worker and waits for its ready frame.
func (p *Pool) start(ctx context.Context) (*proc, error) {
	begin := time.Now()
	pr, err := p.startProc(ctx)
	if err != nil {
		p.m.spawnFailures.Inc()
		p.noteSpawn(false)
		return nil, err
	}
	p.m.spawnSeconds.Observe(time.Since(begin).Seconds())
	p.noteSpawn(true)
	return pr, nil
}

func (p *Pool) startProc(ctx context.Context) (*proc, error) {
	toR, toW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pool: pipe: %w", err)
	}
	fromR, fromW, err := os.Pipe()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("pool: pipe: %w", err), toR.Close(), toW.Close())
	}
	cmd := lockdown.Command(context.Background(), p.cfg.WorkerExe, p.cfg.WorkerProcs,
		WorkerArg, strconv.Itoa(p.cfg.MaxMemoryMB))
	cmd.ExtraFiles = []*os.File{toR, fromW}
	pr := &proc{
		cmd: cmd, toWorker: toW, fromWorker: fromR,
		stderr: &tail{}, stdout: &tail{}, exited: make(chan struct{}),
		checker: ipc.NewChecker(),
	}
	cmd.Stderr, cmd.Stdout = pr.stderr, pr.stdout
	cmd.WaitDelay = reapDelay
	req := spawnRequest{cmd: cmd, done: make(chan error, 1)}
	select {
	case p.spawnReqs <- req:
		err = <-req.done
	case <-p.stopSpawner:
		err = ErrNotReady
	}
	// The child holds its own copies; the parent keeps only its ends.
	closeErr := errors.Join(toR.Close(), fromW.Close())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("pool: start worker: %w", err), closeErr, toW.Close(), fromR.Close())
	}
	pr.pid, pr.born = cmd.Process.Pid, time.Now()
	pr.r = ipc.NewReader(fromR, ipc.WorkerToParent)
	pr.w = ipc.NewWriter(toW, ipc.ParentToWorker)
	go pr.reap()

	ready, err := pr.awaitReady(ctx)
	if err == nil && p.cfg.CatalogueVersion != "" && ready.CatalogueVersion != p.cfg.CatalogueVersion {
		err = fmt.Errorf("%s has package catalogue %s, the sandbox %s: install the worker executable built with this sandbox",
			p.cfg.WorkerExe, ready.CatalogueVersion, p.cfg.CatalogueVersion)
	}
	if err != nil {
		pr.kill()
		<-pr.exited
		pr.closePipes()
		return nil, fmt.Errorf("pool: worker %d: %w (stderr: %q)", pr.pid, err, lastLine(pr.stderr.bytes()))
	}
	pr.ready = ready
	return pr, nil
}

// awaitReady reads and checks the ready frame, killing the worker when it
// does not come in time.
func (pr *proc) awaitReady(ctx context.Context) (ipc.Ready, error) {
	type got struct {
		m   ipc.Message
		err error
	}
	ch := make(chan got, 1)
	go func() {
		m, err := pr.r.ReadMessage()
		ch <- got{m, err}
	}()
	t := time.NewTimer(readyTimeout)
	defer t.Stop()
	select {
	case g := <-ch:
		if g.err != nil {
			return ipc.Ready{}, fmt.Errorf("no ready frame: %w", g.err)
		}
		if err := pr.checker.Check(g.m); err != nil {
			return ipc.Ready{}, err
		}
		rd, ok := g.m.(*ipc.Ready)
		if !ok {
			return ipc.Ready{}, fmt.Errorf("%w: %s instead of ready", ipc.ErrOutOfOrder, g.m.MessageType())
		}
		return *rd, nil
	case <-t.C:
		pr.kill()
		<-ch
		return ipc.Ready{}, errors.New("no ready frame in time")
	case <-ctx.Done():
		pr.kill()
		<-ch
		return ipc.Ready{}, ctx.Err()
	}
}

// reap waits for the process (wait4 with rusage) and closes exited.
func (pr *proc) reap() {
	_ = pr.cmd.Wait()
	pr.state = pr.cmd.ProcessState
	close(pr.exited)
}

// kill sends SIGKILL to the worker's process group (it is its leader).
func (pr *proc) kill() {
	pr.killMu.Lock()
	defer pr.killMu.Unlock()
	select {
	case <-pr.exited:
		return
	default:
	}
	pr.killed = true
	_ = unix.Kill(-pr.pid, syscall.SIGKILL)
}

// killedByParent reports whether the parent's SIGKILL ended the worker.
func (pr *proc) killedByParent() bool {
	pr.killMu.Lock()
	defer pr.killMu.Unlock()
	return pr.killed
}

// alive reports whether the process has not been reaped.
func (pr *proc) alive() bool {
	select {
	case <-pr.exited:
		return false
	default:
		return true
	}
}

func (pr *proc) closePipes() {
	_ = pr.toWorker.Close()
	_ = pr.fromWorker.Close()
}

// maxRSSKB is the peak RSS from the wait rusage.
func (pr *proc) maxRSSKB() int64 {
	if pr.state == nil {
		return 0
	}
	if ru, ok := pr.state.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}

// rssKB reads VmRSS of a live worker from /proc (the watchdog, §8.5).
func rssKB(pid int) (int64, bool) {
	m, err := procfs.ReadStatm(pid)
	return m.ResidentKB, err == nil
}

// tail keeps the first and the last tailCap/2 bytes written to it: the
// classification of a crash needs the start of a runtime dump ("panic: ",
// "fatal error: ") even when a huge panic value pushed it out of a plain
// tail (SB-22), and a message needs the end.
type tail struct {
	mu      sync.Mutex
	head    []byte
	buf     []byte
	dropped int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if room := tailCap/2 - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head = append(t.head, p[:k]...)
		p = p[k:]
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailCap/2; over > 0 {
		t.dropped += over
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return n, nil
}

func (t *tail) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := bytes.Clone(t.head)
	if t.dropped > 0 {
		out = append(out, fmt.Sprintf("\n... [%d bytes omitted] ...\n", t.dropped)...)
	}
	return append(out, t.buf...)
}

// lastLine is the last non-empty line of b, for spawn error messages.
func lastLine(b []byte) string {
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
