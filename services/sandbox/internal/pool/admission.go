package pool

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// admission is the concurrency slots, the memory budget and the one FIFO
// queue of §9. A waiter is granted capacity only in arrival order: a small
// job never overtakes a large one at the head of the queue.
type admission struct {
	maxRunning, budget, queueMax int
	queueGauge                   prometheus.Gauge

	mu      sync.Mutex
	running int
	memory  int
	queue   []*waiter
}

type waiter struct {
	mem     int
	granted bool
	ready   chan struct{}
}

func newAdmission(maxRunning, budget, queueMax int, g prometheus.Gauge) *admission {
	return &admission{maxRunning: maxRunning, budget: budget, queueMax: queueMax, queueGauge: g}
}

// fits reports whether mem can run now; a.mu is held.
func (a *admission) fits(mem int) bool {
	return a.running < a.maxRunning && a.memory+mem <= a.budget
}

// acquire takes a slot and mem MiB of the budget, waiting in the queue at
// most wait. It returns ErrSaturated when the queue is full or the wait
// ran out, and ctx's error when the caller went away.
func (a *admission) acquire(ctx context.Context, mem int, wait time.Duration) error {
	a.mu.Lock()
	if mem > a.budget {
		a.mu.Unlock()
		return fmt.Errorf("%w: memory_mb %d is more than the whole memory budget", ErrSaturated, mem)
	}
	if len(a.queue) == 0 && a.fits(mem) {
		a.running++
		a.memory += mem
		a.mu.Unlock()
		return nil
	}
	if len(a.queue) >= a.queueMax || wait <= 0 {
		running, queued := a.running, len(a.queue)
		a.mu.Unlock()
		return fmt.Errorf("%w: %d executions running, %d queued", ErrSaturated, running, queued)
	}
	w := &waiter{mem: mem, ready: make(chan struct{})}
	a.queue = append(a.queue, w)
	a.queueGauge.Set(float64(len(a.queue)))
	a.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
		return nil
	case <-t.C:
		err = ErrSaturated
	case <-ctx.Done():
		err = ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if w.granted {
		if err == ErrSaturated { //nolint:errorlint // our own sentinel, never wrapped here
			return nil // granted at the last moment: use it
		}
		a.releaseLocked(mem)
		return err
	}
	for i, q := range a.queue {
		if q == w {
			a.queue = append(a.queue[:i], a.queue[i+1:]...)
			break
		}
	}
	a.queueGauge.Set(float64(len(a.queue)))
	a.grantLocked()          // the head may have changed
	if err == ErrSaturated { //nolint:errorlint // our own sentinel
		return fmt.Errorf("%w: %d executions running, %d queued", ErrSaturated, a.running, len(a.queue))
	}
	return err
}

// release returns what acquire took.
func (a *admission) release(mem int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.releaseLocked(mem)
}

func (a *admission) releaseLocked(mem int) {
	a.running--
	a.memory -= mem
	a.grantLocked()
}

// grantLocked admits waiters from the head while they fit.
func (a *admission) grantLocked() {
	for len(a.queue) > 0 && a.fits(a.queue[0].mem) {
		w := a.queue[0]
		a.queue = a.queue[1:]
		a.running++
		a.memory += w.mem
		w.granted = true
		close(w.ready)
	}
	a.queueGauge.Set(float64(len(a.queue)))
}

func (a *admission) queued() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue)
}
