package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mcpbox/mcpbox/proto/obs"

	"github.com/prometheus/client_golang/prometheus"
)

// Config sizes the pool (sandbox.md §3, §9).
type Config struct {
	// WorkerExe is the worker executable, started as
	// `<WorkerExe> __worker <MaxMemoryMB>` (production: /proc/self/exe).
	WorkerExe string
	// CatalogueVersion, when set, is the package catalogue version a
	// worker's ready frame must report: a worker executable from another
	// build is refused (a spawn failure) rather than given jobs.
	CatalogueVersion string
	// WorkerProcs is GOMAXPROCS inside a worker.
	WorkerProcs int
	// Warm is the number of idle locked-down workers kept ready.
	Warm int
	// MaxConcurrent is the number of executions running at once.
	MaxConcurrent int
	// SpawnConcurrency bounds warm spawns in progress (cold starts are
	// bounded by MaxConcurrent instead).
	SpawnConcurrency int
	// MemoryBudgetMB bounds the sum of memory_mb of running jobs.
	MemoryBudgetMB int
	// MaxMemoryMB is the init-time memory headroom of a worker and the
	// largest memory_mb a job may ask for.
	MaxMemoryMB int
	// QueueMax is the number of executions allowed to wait for capacity.
	QueueMax int
	// QueueWait is the longest wait for capacity before ErrSaturated.
	QueueWait time.Duration
	// MaxIdle is the age at which an idle worker is replaced.
	MaxIdle time.Duration
}

func (c Config) validate() error {
	switch {
	case c.WorkerExe == "":
		return errors.New("pool: WorkerExe is empty")
	case c.WorkerProcs < 1, c.MaxConcurrent < 1, c.SpawnConcurrency < 1:
		return fmt.Errorf("pool: WorkerProcs %d, MaxConcurrent %d and SpawnConcurrency %d must be positive",
			c.WorkerProcs, c.MaxConcurrent, c.SpawnConcurrency)
	case c.Warm < 0, c.QueueMax < 0, c.QueueWait < 0:
		return errors.New("pool: Warm, QueueMax and QueueWait must not be negative")
	case c.MemoryBudgetMB < 1, c.MaxMemoryMB < 1:
		return errors.New("pool: MemoryBudgetMB and MaxMemoryMB must be positive")
	case c.MaxIdle <= 0:
		return errors.New("pool: MaxIdle must be positive")
	}
	return nil
}

// Backoff of failed warm spawns (§9).
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	// failingAfter consecutive spawn failures make the pool not ready.
	failingAfter = 3
	// maxSweep is the longest interval between idle-age sweeps.
	maxSweep = 5 * time.Second
)

// Pool keeps warm workers, admits executions and runs each in its own
// worker process. It is safe for concurrent use.
type Pool struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics
	admit *admission

	spawnReqs   chan spawnRequest
	stopSpawner chan struct{}
	kick        chan struct{}

	mu           sync.Mutex
	idle         []*proc         // oldest first
	idleAdded    chan struct{}   // closed (and replaced) when a worker joins idle
	ctx          context.Context // the pool's lifetime (Start), for spawns outliving a request
	warmStarting int
	coldStarting int
	busy         int
	warmedOnce   bool
	failures     int // consecutive spawn failures
	backoff      time.Duration
	draining     bool
	started      bool
	stopMaintain context.CancelFunc
	maintainDone chan struct{}
	running      sync.WaitGroup // executions and warm spawns
	closeOnce    sync.Once
}

// Stats is the pool's state for /readyz and logs.
type Stats struct {
	Warm     int // idle workers
	Busy     int // workers running a job
	Starting int // workers being spawned
	Queued   int // executions waiting for capacity
}

// New returns a pool; Start begins warming it. Metrics are registered on
// reg.
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Pool{
		cfg: cfg, log: log, m: newMetrics(reg),
		spawnReqs: make(chan spawnRequest), stopSpawner: make(chan struct{}),
		kick: make(chan struct{}, 1), backoff: backoffMin,
		idleAdded: make(chan struct{}), ctx: context.Background(),
	}
	p.admit = newAdmission(cfg.MaxConcurrent, cfg.MemoryBudgetMB, cfg.QueueMax, p.m.queueLength)
	go spawner(p.spawnReqs, p.stopSpawner)
	return p, nil
}

// Start keeps cfg.Warm idle workers until ctx ends or Close is called.
func (p *Pool) Start(ctx context.Context) {
	p.mu.Lock()
	if p.started || p.draining {
		p.mu.Unlock()
		return
	}
	p.started = true
	ctx, cancel := context.WithCancel(ctx)
	p.ctx = ctx
	p.stopMaintain = cancel
	p.maintainDone = make(chan struct{})
	if p.cfg.Warm == 0 {
		p.warmedOnce = true
	}
	p.mu.Unlock()
	go p.maintain(ctx)
}

// Ready reports whether the warm target was reached once, spawning works
// and the pool is not draining (/readyz, SB-84).
func (p *Pool) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.warmedOnce && p.failures < failingAfter && !p.draining
}

// Stats returns the current counts.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Warm: len(p.idle), Busy: p.busy, Starting: p.warmStarting + p.coldStarting,
		Queued: p.admit.queued(),
	}
}

// Close drains the pool: new executions get ErrNotReady, idle workers are
// killed, running executions finish. It is safe to call more than once.
func (p *Pool) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.draining = true
		stop, done := p.stopMaintain, p.maintainDone
		idle := p.idle
		p.idle = nil
		p.updateGauges()
		p.mu.Unlock()
		if stop != nil {
			stop()
			<-done
		}
		for _, pr := range idle {
			p.discard(pr)
		}
		p.running.Wait()
		close(p.stopSpawner)
	})
}

// maintain refills the warm set and replaces old idle workers.
func (p *Pool) maintain(ctx context.Context) {
	defer close(p.maintainDone)
	sweep := min(max(p.cfg.MaxIdle/2, 10*time.Millisecond), maxSweep)
	t := time.NewTicker(sweep)
	defer t.Stop()
	for {
		p.sweepIdle()
		p.refill(ctx)
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-t.C:
		}
	}
}

// poke asks maintain to look again.
func (p *Pool) poke() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// refill starts warm spawns up to the target and the spawn concurrency.
func (p *Pool) refill(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.draining && len(p.idle)+p.warmStarting < p.cfg.Warm && p.warmStarting < p.cfg.SpawnConcurrency {
		p.warmStarting++
		p.running.Add(1)
		go p.spawnWarm(ctx)
	}
	p.updateGauges()
}

// spawnWarm spawns one idle worker; a failure holds its spawn slot for
// the back-off delay.
func (p *Pool) spawnWarm(ctx context.Context) {
	defer p.running.Done()
	pr, err := p.start(ctx)
	if err != nil {
		if ctx.Err() == nil { // a cancelled spawn at shutdown is no failure
			p.mu.Lock()
			wait := p.backoff
			p.backoff = min(p.backoff*2, backoffMax)
			p.mu.Unlock()
			p.log.WarnContext(ctx, "worker spawn failed; backing off", obs.KeyError, err.Error(), obs.KeyDurationMS, wait.Milliseconds())
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		p.mu.Lock()
		p.warmStarting--
		p.updateGauges()
		p.mu.Unlock()
		p.poke()
		return
	}
	p.mu.Lock()
	p.warmStarting--
	p.mu.Unlock()
	p.addIdle(pr)
	p.poke()
}

// addIdle puts a ready worker in the idle set (or discards it while
// draining) and wakes the executions waiting in coldStart.
func (p *Pool) addIdle(pr *proc) {
	p.mu.Lock()
	if p.draining {
		p.updateGauges()
		p.mu.Unlock()
		p.discard(pr)
		return
	}
	p.idle = append(p.idle, pr)
	if len(p.idle) >= p.cfg.Warm {
		p.warmedOnce = true
	}
	close(p.idleAdded)
	p.idleAdded = make(chan struct{})
	p.updateGauges()
	p.mu.Unlock()
	go p.watchIdle(pr)
}

// noteSpawn records a spawn's success for readiness and back-off.
func (p *Pool) noteSpawn(ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok {
		p.failures, p.backoff = 0, backoffMin
		return
	}
	p.failures++
}

// watchIdle replaces a warm worker that dies while idle (crash class
// other, §9).
func (p *Pool) watchIdle(pr *proc) {
	<-pr.exited
	p.mu.Lock()
	found := p.removeIdle(pr)
	p.updateGauges()
	p.mu.Unlock()
	if found {
		p.m.crashes.WithLabelValues("other").Inc()
		p.log.Warn("idle worker died", obs.KeyWorkerPID, pr.pid)
		pr.closePipes()
		p.poke()
	}
}

// removeIdle takes pr out of the idle list; p.mu is held.
func (p *Pool) removeIdle(pr *proc) bool {
	for i, q := range p.idle {
		if q == pr {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return true
		}
	}
	return false
}

// sweepIdle kills idle workers older than MaxIdle; refill replaces them.
func (p *Pool) sweepIdle() {
	var old []*proc
	p.mu.Lock()
	now := time.Now()
	keep := p.idle[:0]
	for _, pr := range p.idle {
		if now.Sub(pr.born) > p.cfg.MaxIdle {
			old = append(old, pr)
			continue
		}
		keep = append(keep, pr)
	}
	p.idle = keep
	p.updateGauges()
	p.mu.Unlock()
	for _, pr := range old {
		p.discard(pr)
	}
}

// discard kills a worker that never got a job and reaps it.
func (p *Pool) discard(pr *proc) {
	pr.kill()
	<-pr.exited
	pr.closePipes()
}

// take returns the oldest live idle worker, or nil, and the number of idle
// workers left.
func (p *Pool) take() (*proc, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		pr := p.idle[0]
		p.idle = p.idle[1:]
		if pr.alive() {
			return pr, len(p.idle)
		}
	}
	return nil, 0
}

// coldStart finds a worker for an execution that found none idle at
// admission (§9, a cold start): it spawns one, and takes instead any worker
// that joins the idle set first, since a warm spawn already under way is
// usually nearer to ready than a new one. The spawn it did not use joins
// the idle set when ready, so nothing is wasted.
func (p *Pool) coldStart(ctx context.Context) (*proc, error) {
	type started struct {
		pr  *proc
		err error
	}
	p.mu.Lock()
	p.coldStarting++
	p.updateGauges()
	added, poolCtx := p.idleAdded, p.ctx
	p.mu.Unlock()
	own := make(chan started, 1)
	p.running.Add(1)
	go func() {
		defer p.running.Done()
		pr, err := p.start(poolCtx)
		own <- started{pr, err}
		p.mu.Lock()
		p.coldStarting--
		p.updateGauges()
		p.mu.Unlock()
	}()
	// keep hands the unused spawn to the idle set once it is ready.
	keep := func() {
		p.running.Add(1)
		go func() {
			defer p.running.Done()
			if s := <-own; s.err == nil {
				p.addIdle(s.pr)
			}
		}()
	}
	for {
		select {
		case s := <-own:
			return s.pr, s.err
		case <-added:
			if pr, _ := p.take(); pr != nil {
				keep()
				return pr, nil
			}
			p.mu.Lock()
			added = p.idleAdded
			p.mu.Unlock()
		case <-ctx.Done():
			keep()
			return nil, ctx.Err()
		}
	}
}

// updateGauges sets the worker gauges; p.mu is held.
func (p *Pool) updateGauges() {
	p.m.workers.WithLabelValues("idle").Set(float64(len(p.idle)))
	p.m.workers.WithLabelValues("busy").Set(float64(p.busy))
	p.m.workers.WithLabelValues("starting").Set(float64(p.warmStarting + p.coldStarting))
}
