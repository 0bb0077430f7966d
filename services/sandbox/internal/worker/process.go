package worker

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/catalogue"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/hostpkg"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/ipc"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/lockdown"
)

// ProcessArg is the subcommand that makes the sandbox binary a worker:
// `<exe> __worker <max_memory_mb>` (sandbox.md §2).
const ProcessArg = "__worker"

// MinAddressHeadroomMB is the smallest RLIMIT_AS headroom (above the
// measured VmSize) a worker ever sets. The Go runtime reserves heap arenas
// of 64 MiB, so a headroom below 128 MiB can make an ordinary allocation
// fail with a fatal "out of memory" before the tool uses anything near its
// memory_mb. A job's memory_mb below this floor still sets the Go memory
// limit to 80 % of memory_mb, and the parent's RSS watchdog enforces
// memory_mb itself (sandbox.md §8.5).
//
// The runtime's randomized heap base (Go 1.26+) sometimes cannot extend the
// heap at its hint address and then reserves twice an arena to align one:
// under this floor about one trivial job in 450 died "out of memory" with
// 4 MiB of heap in use, and a larger floor lets RSS pass memory_mb + 20 %
// before the limit bites (SB-12). So sandbox-worker is built with
// GOEXPERIMENT=norandomizedheapbase64 (Makefile, Dockerfile; checked by
// TestWorkerBinaryHasFixedHeapBase): the worker runs only interpreted code,
// which has no unsafe, reflect or cgo, so heap address randomization buys it
// nothing, and one failure in 6,000 became none in 6,000.
const MinAddressHeadroomMB = 128

// Exit codes of ProcessMain. Any exit without a result frame is classified
// by the parent (§10 row 14); the codes only help reading logs.
const (
	exitOK       = 0
	exitSetup    = 2 // environment, arguments, interpreter or lockdown failed
	exitProtocol = 3 // the parent broke the protocol (e.g. a second job)
)

// stdoutFlushEvery is the stdout frame flush period (§7).
const stdoutFlushEvery = 50 * time.Millisecond

// ProcessMain is the worker process of sandbox.md §7–§8.2: args are the
// arguments after ProcessArg ([max_memory_mb]), environ the process
// environment (os.Environ()), stderr where set-up failures are described.
// It reads frames on fd 3 and writes frames on fd 4, locks the process down
// before it reports ready, runs exactly one job and returns the exit code;
// the caller exits with it at once, without waiting for the tool's
// goroutines.
func ProcessMain(args, environ []string, stderr io.Writer) int {
	in := os.NewFile(3, "ipc-in")
	out := os.NewFile(4, "ipc-out")
	if in == nil || out == nil {
		_, _ = fmt.Fprintln(stderr, "worker: fds 3 and 4 are not open")
		return exitSetup
	}
	return serve(args, environ, in, out, stderr)
}

func serve(args, environ []string, in io.Reader, out io.Writer, stderr io.Writer) int {
	if err := lockdown.CheckEnv(environ); err != nil {
		_, _ = fmt.Fprintln(stderr, "worker:", err)
		return exitSetup
	}
	if len(args) != 1 {
		_, _ = fmt.Fprintln(stderr, "worker: usage: __worker <max_memory_mb>")
		return exitSetup
	}
	maxMB, err := strconv.Atoi(args[0])
	if err != nil || maxMB < 1 {
		_, _ = fmt.Fprintf(stderr, "worker: bad max_memory_mb %q\n", args[0])
		return exitSetup
	}
	// The mime table is not preloaded (§8.2 step 2 says to): loading the
	// host's /usr/share/mime files cost a quarter of a worker's CPU and made
	// a tool's results depend on the host. On first use after lockdown the
	// files cannot be opened and package mime keeps its built-in table, the
	// same on every host (catalogue note of "mime").
	prep, err := Prepare()
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "worker: prepare:", err)
		return exitSetup
	}
	lk, err := lockdown.Lock(lockdown.Limits{MaxMemoryMB: max(maxMB, MinAddressHeadroomMB)})
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "worker:", err)
		return exitSetup
	}
	vm, err := lk.VMSizeKB()
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "worker:", err)
		return exitSetup
	}
	w := ipc.NewWriter(out, ipc.WorkerToParent)
	r := ipc.NewReader(in, ipc.ParentToWorker)
	if err := ipc.Warm(ipc.ParentToWorker); err != nil {
		_, _ = fmt.Fprintln(stderr, "worker:", err)
		return exitSetup
	}
	ready := &ipc.Ready{V: ipc.ProtocolVersion, PID: os.Getpid(), VMSizeKB: vm, CatalogueVersion: catalogue.Version()}
	if err := w.WriteMessage(ready); err != nil {
		_, _ = fmt.Fprintln(stderr, "worker:", err)
		return exitSetup
	}
	d := &ipcDoer{w: w, pending: map[int]chan *ipc.HTTPResponse{}}
	m, err := r.ReadMessage()
	if err == nil {
		err = d.check(m)
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "worker: waiting for job:", err)
		return exitProtocol
	}
	job, ok := m.(*ipc.Job)
	if !ok {
		_, _ = fmt.Fprintf(stderr, "worker: %s before job\n", m.MessageType())
		return exitProtocol
	}
	timeout := time.Duration(job.TimeoutMS) * time.Millisecond
	if err := lk.TightenForJob(lockdown.JobLimits{
		MemoryMB: max(job.MemoryMB, MinAddressHeadroomMB), Timeout: timeout, Procs: runtime.GOMAXPROCS(0),
	}); err != nil {
		_, _ = fmt.Fprintln(stderr, "worker:", err)
		return exitSetup
	}
	if job.MemoryMB < MinAddressHeadroomMB {
		debug.SetMemoryLimit(int64(job.MemoryMB) << 20 * 8 / 10)
	}
	protoErr := make(chan error, 1)
	go d.readLoop(r, protoErr)

	stream := newStdoutStream(w)
	started := time.Now()
	done := make(chan Result, 1)
	go func() {
		res, err := prep.Run(context.Background(), Job{
			Mode: Mode(job.Mode), Code: string(job.Code), InputType: job.InputType, Arguments: job.Arguments,
			Secrets: job.Secrets, WithheldSecrets: job.WithheldSecrets, ExtraPackages: job.ExtraPackages,
			Timeout: timeout, MaxHTTPRequests: job.MaxHTTPRequests, HTTP: d, Stdout: stream,
		})
		if err != nil {
			res = fail(proto.ErrTypeCompileError, "%v", err)
		}
		done <- res
	}()
	select {
	case err := <-protoErr:
		_, _ = fmt.Fprintln(stderr, "worker:", err)
		return exitProtocol
	case res := <-done:
		stream.close()
		pastDeadline := timeout > 0 && time.Since(started) >= timeout
		if !res.OK && res.Error != nil && (pastDeadline || !slices.Contains(ipc.WorkerErrorTypes(), res.Error.Type)) {
			// The deadline passed (a tool error then is its consequence, e.g.
			// an HTTP call cut by the deadline, SB-10), or another outcome
			// only the parent may decide: send nothing more and let the
			// parent's deadline classify the run as Timeout.
			select {}
		}
		if err := w.WriteMessage(resultMessage(res)); err != nil {
			_, _ = fmt.Fprintln(stderr, "worker: send result:", err)
			return exitProtocol
		}
		return exitOK
	}
}

// resultMessage is the result frame of res.
func resultMessage(res Result) *ipc.Result {
	m := &ipc.Result{OK: res.OK, StdoutDropped: res.StdoutDropped}
	if res.OK {
		m.JSON = res.JSON
		if len(m.JSON) == 0 { // compile mode: nothing ran, the result is null
			m.JSON = []byte("null")
		}
		return m
	}
	e := res.Error
	if e == nil {
		e = &Error{Type: proto.ErrTypeWorkerCrashed, Message: "the tool ended without a result"}
	}
	m.Error = &ipc.ResultError{
		Type: e.Type, Message: strings.ToValidUTF8(e.Message, "\uFFFD"),
		Line: e.Line, Column: e.Column, HTTPID: e.HTTPID,
	}
	return m
}

// ipcDoer is the worker's hostpkg.Doer: each request is an http_request
// frame answered by an http_response frame (§11). hostpkg already bounds
// the requests in flight to ipc.MaxInFlight.
type ipcDoer struct {
	w *ipc.Writer

	mu      sync.Mutex
	gate    ipc.JobGate
	pending map[int]chan *ipc.HTTPResponse
}

// check runs the job gate on a parent frame.
func (d *ipcDoer) check(m ipc.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gate.Check(m)
}

// readLoop delivers http_response frames; anything else from the parent
// (a second job, a malformed frame) ends the worker.
func (d *ipcDoer) readLoop(r *ipc.Reader, protoErr chan<- error) {
	for {
		m, err := r.ReadMessage()
		if err == nil {
			err = d.check(m)
		}
		if err != nil {
			protoErr <- err
			return
		}
		resp, ok := m.(*ipc.HTTPResponse)
		if !ok {
			continue
		}
		d.mu.Lock()
		ch := d.pending[resp.ID]
		delete(d.pending, resp.ID)
		d.mu.Unlock()
		if ch != nil {
			ch <- resp
		}
	}
}

// Do sends req to the parent and waits for its answer or ctx; on ctx it
// sends http_cancel.
func (d *ipcDoer) Do(ctx context.Context, req hostpkg.BrokerRequest) (hostpkg.BrokerResponse, error) {
	ch := make(chan *ipc.HTTPResponse, 1)
	d.mu.Lock()
	d.pending[req.ID] = ch
	d.gate.Sent(req.ID)
	d.mu.Unlock()
	timeoutMS := req.Timeout.Milliseconds()
	if req.Timeout > 0 && timeoutMS == 0 {
		timeoutMS = 1
	}
	err := d.w.WriteMessage(&ipc.HTTPRequest{
		ID: req.ID, Method: req.Method, URL: req.URL, Header: req.Header,
		TimeoutMS: max(timeoutMS, 0), Body: req.Body,
	})
	if err != nil {
		d.forget(req.ID)
		return hostpkg.BrokerResponse{}, fmt.Errorf("send request: %w", err)
	}
	select {
	case resp := <-ch:
		if resp.Error != nil {
			return hostpkg.BrokerResponse{}, &hostpkg.RefusedError{Kind: resp.Error.Kind, Message: resp.Error.Message}
		}
		return hostpkg.BrokerResponse{Status: resp.Status, Header: resp.Header, Body: resp.Body, Truncated: resp.Truncated}, nil
	case <-ctx.Done():
		d.forget(req.ID)
		_ = d.w.WriteMessage(&ipc.HTTPCancel{ID: req.ID})
		return hostpkg.BrokerResponse{}, fmt.Errorf("request cancelled: %w", ctx.Err())
	}
}

func (d *ipcDoer) forget(id int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.pending, id)
}

// stdoutStream forwards the tool's output as stdout frames of at most
// ipc.MaxStdoutChunk bytes, every stdoutFlushEvery and when a chunk is
// full. The capture in front of it stops forwarding after StdoutKeep.
type stdoutStream struct {
	w *ipc.Writer

	mu     sync.Mutex
	buf    []byte
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

func newStdoutStream(w *ipc.Writer) *stdoutStream {
	s := &stdoutStream{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go s.tick()
	return s
}

// Write buffers p and sends every full chunk; it never fails, so tool code
// never sees an error from printing.
func (s *stdoutStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return len(p), nil
	}
	s.buf = append(s.buf, p...)
	for len(s.buf) >= ipc.MaxStdoutChunk {
		s.send(s.buf[:ipc.MaxStdoutChunk])
		s.buf = s.buf[ipc.MaxStdoutChunk:]
	}
	return len(p), nil
}

// send writes one frame; s.mu is held, so frames keep their order.
func (s *stdoutStream) send(p []byte) {
	if len(p) == 0 {
		return
	}
	_ = s.w.WriteMessage(&ipc.Stdout{Data: append([]byte(nil), p...)})
}

func (s *stdoutStream) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.send(s.buf)
	s.buf = s.buf[:0]
}

func (s *stdoutStream) tick() {
	defer close(s.done)
	t := time.NewTicker(stdoutFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.flush()
		}
	}
}

// close flushes what is buffered and stops forwarding: the result frame is
// the last one the worker sends.
func (s *stdoutStream) close() {
	close(s.stop)
	<-s.done
	s.flush()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}
