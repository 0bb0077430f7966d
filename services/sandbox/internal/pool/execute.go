package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/ipc"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/lockdown"
)

const (
	// deadlineGrace is added to timeout_ms for the parent's deadline (§4.2.3).
	deadlineGrace = 500 * time.Millisecond
	// exitWait is how long the parent waits for the worker's own exit.
	exitWait = 50 * time.Millisecond
	// watchdogEvery is the RSS sampling period of busy workers (§8.5).
	watchdogEvery = 50 * time.Millisecond
	// stdoutKeep is what the parent keeps of stdout (the worker's keep
	// limit, worker.StdoutKeep: 1 MiB + 64 KiB).
	stdoutKeep = proto.MaxStdoutBytes + 64<<10
	// previewChars bounds Call.Preview.
	previewChars = 500
	// maxJobHTTP is the largest max_http_requests (the id range).
	maxJobHTTP = ipc.MaxHTTPID
	// refusalTooMany is the http_response error kind for a request over the
	// in-flight limit.
	refusalTooMany = "too_many_in_flight"
)

// Execute admits job, runs it in a fresh worker and returns what the
// parent observed (sandbox.md §4.2.3 steps 5–10). It returns ErrSaturated
// when no capacity was found in time, ErrNotReady when draining or no
// worker could be spawned, and ctx's error when the caller left while
// queued; once a worker ran, the result is an Outcome (Cancelled when the
// caller left).
func (p *Pool) Execute(ctx context.Context, job Job) (Outcome, error) {
	if err := p.checkJob(job); err != nil {
		return Outcome{}, err
	}
	p.mu.Lock()
	if p.draining {
		p.mu.Unlock()
		return Outcome{}, ErrNotReady
	}
	p.running.Add(1)
	p.mu.Unlock()
	defer p.running.Done()

	queued := time.Now()
	err := p.admit.acquire(ctx, job.MemoryMB, p.cfg.QueueWait)
	p.m.queueWait.Observe(time.Since(queued).Seconds())
	if err != nil {
		return Outcome{}, err
	}
	defer p.admit.release(job.MemoryMB)

	pr, left := p.take()
	if left*2 >= p.cfg.Warm {
		// Still at least half full: refill when this execution ends, so the
		// spawn does not compete with it for the CPU (serial latency).
		defer p.poke()
	} else {
		p.poke()
	}
	if pr == nil {
		p.m.coldStarts.Inc()
		pr, err = p.coldStart(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return Outcome{}, ctx.Err()
			}
			return Outcome{}, fmt.Errorf("%w: %w", ErrNotReady, err)
		}
	}
	p.mu.Lock()
	p.busy++
	p.updateGauges()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.busy--
		p.updateGauges()
		p.mu.Unlock()
	}()
	out := p.run(ctx, pr, job)
	if out.Class != "" {
		p.m.crashes.WithLabelValues(out.Class).Inc()
	}
	return out, nil
}

func (p *Pool) checkJob(j Job) error {
	switch {
	case j.Mode != ipc.ModeRun && j.Mode != ipc.ModeCompile:
		return fmt.Errorf("pool: mode %q", j.Mode)
	case j.Timeout <= 0:
		return errors.New("pool: timeout must be positive")
	case j.MemoryMB < 1 || j.MemoryMB > p.cfg.MaxMemoryMB:
		return fmt.Errorf("pool: memory_mb %d outside 1…%d", j.MemoryMB, p.cfg.MaxMemoryMB)
	}
	return nil
}

// execution is the state of one job in one worker.
type execution struct {
	p   *Pool
	pr  *proc
	job Job

	ctx    context.Context // cancelled when the execution ends
	cancel context.CancelFunc
	httpWG sync.WaitGroup

	mu       sync.Mutex
	calls    map[int]*Call
	inflight map[int]context.CancelFunc
	answered chan int // ids whose response was written

	stdout  []byte
	dropped bool
	result  *ipc.Result
}

type frame struct {
	m   ipc.Message
	err error
}

// run sends the job and serves the worker until the first of result,
// worker death, deadline, cancellation (§4.2.3 steps 6–9).
func (p *Pool) run(ctx context.Context, pr *proc, job Job) Outcome {
	e := &execution{
		p: p, pr: pr, job: job, calls: map[int]*Call{}, inflight: map[int]context.CancelFunc{},
		answered: make(chan int, maxJobHTTP),
	}
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	defer e.cancel()

	msg := &ipc.Job{
		Mode: job.Mode, InputType: job.InputType, Arguments: job.Arguments, Secrets: job.Secrets,
		WithheldSecrets: job.Withheld, ExtraPackages: job.ExtraPackages,
		TimeoutMS: job.Timeout.Milliseconds(), MemoryMB: job.MemoryMB, MaxHTTPRequests: maxJobHTTP,
		Code: []byte(job.Code),
	}
	if msg.WithheldSecrets == nil {
		msg.WithheldSecrets = []string{}
	}
	if msg.ExtraPackages == nil {
		msg.ExtraPackages = []string{}
	}
	if len(msg.Arguments) == 0 {
		msg.Arguments = []byte("{}")
	}
	var obs lockdown.Observation
	if err := pr.checker.JobSent(msg); err != nil {
		obs.IPCViolation = true
	}
	baseRSS, _ := rssKB(pr.pid)
	start := time.Now()
	pr.jobsSent++
	writeErr := pr.w.WriteMessage(msg)

	frames := make(chan frame)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			m, err := pr.r.ReadMessage()
			select {
			case frames <- frame{m, err}:
			case <-e.ctx.Done():
				return
			}
			if err != nil {
				return
			}
			if _, ok := m.(*ipc.Result); ok {
				return
			}
		}
	}()

	deadline := time.NewTimer(job.Timeout + deadlineGrace)
	defer deadline.Stop()
	watchdog := time.NewTicker(watchdogEvery)
	defer watchdog.Stop()
	limitKB := baseRSS + int64(job.MemoryMB)<<10

	killNow := false
loop:
	for !obs.IPCViolation && writeErr == nil {
		select {
		case f := <-frames:
			if f.err != nil {
				if !errors.Is(f.err, ipc.ErrClosed) {
					obs.IPCViolation = true
					obs.OversizeFrame = errors.Is(f.err, ipc.ErrFrameTooLarge)
				}
				break loop
			}
			if done := e.handle(f.m, &obs); done {
				break loop
			}
		case id := <-e.answered:
			pr.checker.Responded(id)
		case <-deadline.C:
			obs.DeadlinePassed = true
			break loop
		case <-ctx.Done():
			obs.Cancelled = true
			killNow = true
			break loop
		case <-watchdog.C:
			if rss, ok := rssKB(pr.pid); ok && baseRSS > 0 && rss > limitKB {
				obs.WatchdogKilled = true
				killNow = true
				break loop
			}
		}
	}
	if obs.IPCViolation {
		killNow = true
	}
	if !killNow {
		select {
		case <-pr.exited:
		case <-time.After(exitWait):
		}
	}
	pr.kill()
	<-pr.exited
	duration := time.Since(start)
	e.cancel()
	e.httpWG.Wait()
	<-readerDone
	pr.closePipes()

	obs.ResultReceived = e.result != nil
	obs.KilledByParent = pr.killedByParent()
	obs.Exit = lockdown.ExitOf(pr.state)
	obs.CPUSoftLimit = time.Duration(p.cfg.WorkerProcs)*time.Duration(math.Ceil(job.Timeout.Seconds()))*time.Second + time.Second
	obs.Stderr = redactSecrets(pr.stderr.bytes(), job.Secrets)
	return e.outcome(obs, duration)
}

// handle serves one worker frame; it reports whether the execution is over.
func (e *execution) handle(m ipc.Message, obs *lockdown.Observation) bool {
	err := e.pr.checker.Check(m)
	if errors.Is(err, ipc.ErrTooManyInFlight) {
		if req, ok := m.(*ipc.HTTPRequest); ok {
			e.refuse(req, refusalTooMany, "too many HTTP requests in flight; wait for one to finish", nil)
			return false
		}
	}
	if err != nil {
		obs.IPCViolation = true
		obs.OversizeFrame = errors.Is(err, ipc.ErrFrameTooLarge)
		return true
	}
	switch m := m.(type) {
	case *ipc.Stdout:
		room := stdoutKeep - len(e.stdout)
		if len(m.Data) > room {
			e.dropped = true
		}
		e.stdout = append(e.stdout, m.Data[:min(max(room, 0), len(m.Data))]...)
	case *ipc.HTTPRequest:
		e.startHTTP(m)
	case *ipc.HTTPCancel:
		e.mu.Lock()
		if c := e.inflight[m.ID]; c != nil {
			c()
		}
		e.mu.Unlock()
	case *ipc.Result:
		e.result = m
		return true
	}
	return false
}

// startHTTP performs a request through the job's egress session in its own
// goroutine, which also writes the response (a worker that does not read
// cannot block the deadline).
func (e *execution) startHTTP(m *ipc.HTTPRequest) {
	if e.job.Egress == nil {
		be := &egress.BlockedError{Reason: egress.ReasonNoNetwork}
		e.refuse(m, "egress_denied", be.Error(), be)
		return
	}
	ctx, cancel := context.WithCancel(e.ctx)
	call := &Call{ID: m.ID, Method: m.Method, URL: m.URL}
	e.mu.Lock()
	e.calls[m.ID] = call
	e.inflight[m.ID] = cancel
	e.mu.Unlock()
	e.httpWG.Add(1)
	go func() {
		defer e.httpWG.Done()
		defer cancel()
		begin := time.Now()
		resp, err := e.job.Egress.Do(ctx, egress.Request{
			Method: m.Method, URL: m.URL, Header: http.Header(m.Header), Body: m.Body,
			Timeout: time.Duration(m.TimeoutMS) * time.Millisecond,
		})
		e.mu.Lock()
		call.Duration = time.Since(begin)
		call.Err = err
		if err == nil {
			call.Status, call.Header, call.Preview = resp.Status, resp.Header, preview(resp.Body)
		}
		delete(e.inflight, m.ID)
		e.mu.Unlock()
		out := &ipc.HTTPResponse{ID: m.ID}
		if err != nil {
			out.Error = &ipc.HTTPError{Kind: refusalKind(err), Message: err.Error()}
		} else {
			body := resp.Body
			if len(body) > ipc.MaxResponseBody {
				body, resp.Truncated = body[:ipc.MaxResponseBody], true
			}
			out.Status, out.Header, out.Truncated, out.Body = resp.Status, resp.Header, resp.Truncated, body
			if out.Header == nil {
				out.Header = map[string][]string{}
			}
		}
		_ = e.pr.w.WriteMessage(out)
		e.answered <- m.ID
	}()
}

// refuse answers a request with an error without performing it.
func (e *execution) refuse(m *ipc.HTTPRequest, kind, msg string, err error) {
	e.mu.Lock()
	if err != nil {
		e.calls[m.ID] = &Call{ID: m.ID, Method: m.Method, URL: m.URL, Err: err}
	}
	e.mu.Unlock()
	e.httpWG.Add(1)
	go func() {
		defer e.httpWG.Done()
		_ = e.pr.w.WriteMessage(&ipc.HTTPResponse{ID: m.ID, Error: &ipc.HTTPError{Kind: kind, Message: msg}})
		if kind != refusalTooMany {
			e.answered <- m.ID
		}
	}()
}

// refusalKind is the http_response error kind of a failed request.
func refusalKind(err error) string {
	var be *egress.BlockedError
	if errors.As(err, &be) {
		return "egress_denied"
	}
	return string(egress.OutcomeOf(err))
}

// outcome classifies what was observed (§10).
func (e *execution) outcome(obs lockdown.Observation, d time.Duration) Outcome {
	c := lockdown.Classify(obs)
	out := Outcome{
		Cancelled: c.Cancelled, Stdout: e.stdout, StdoutDropped: e.dropped, Duration: d,
		Class: string(c.Class), Worker: e.stats(obs.Exit), PID: e.pr.pid, JobFrames: e.pr.jobsSent,
	}
	if e.result != nil && e.result.StdoutDropped > 0 {
		out.StdoutDropped = true
	}
	for _, id := range slices.Sorted(maps.Keys(e.calls)) {
		out.Calls = append(out.Calls, *e.calls[id])
	}
	switch {
	case c.Cancelled:
	case c.FromResult:
		out.Result = e.result
	default:
		out.Error = &proto.ExecutionError{Type: c.ErrorType, Message: e.message(c)}
	}
	return out
}

// message is the LLM-facing message of a classified failure (§4.2.5).
func (e *execution) message(c lockdown.Outcome) string {
	switch c.ErrorType {
	case proto.ErrTypeTimeout:
		ms := e.job.Timeout.Milliseconds()
		return fmt.Sprintf("Execution timed out after %s (timeout_ms=%d). Make fewer or faster calls, "+
			"paginate, or ask for a longer timeout.", e.job.Timeout.Round(time.Millisecond), ms)
	case proto.ErrTypeMemoryLimitExceeded:
		return fmt.Sprintf("Tool exceeded its %d MiB memory limit. Process less data at once, "+
			"or ask for a higher memory limit.", e.job.MemoryMB)
	}
	msg := c.Message
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg + "."
}

// stats are the kernel's figures of the ended worker.
func (e *execution) stats(x lockdown.Exit) proto.WorkerStats {
	s := proto.WorkerStats{CPUMS: x.CPUTime.Milliseconds(), MaxRSSKB: e.pr.maxRSSKB()}
	switch {
	case x.Signaled:
		name := unix.SignalName(x.Signal)
		if name == "" {
			name = strconv.Itoa(int(x.Signal))
		}
		s.Exit = "signal:" + name
	default:
		s.Exit = "code:" + strconv.Itoa(x.ExitCode)
	}
	return s
}

// preview is the first previewChars characters of body, valid UTF-8.
func preview(body []byte) string {
	n, i := 0, 0
	for i < len(body) && n < previewChars {
		_, size := utf8.DecodeRune(body[i:])
		i += size
		n++
	}
	return string(bytes.ToValidUTF8(body[:i], []byte("\uFFFD")))
}

// redactSecrets replaces secret values in the stderr tail before it is
// used in a message (§10); the API's redaction runs on the outcome too.
func redactSecrets(b []byte, secrets map[string]*string) []byte {
	for _, v := range secrets {
		if v != nil && len(*v) >= 4 {
			b = bytes.ReplaceAll(b, []byte(*v), []byte("[REDACTED]"))
		}
	}
	return b
}
