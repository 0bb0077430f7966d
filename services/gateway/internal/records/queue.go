package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// Sender delivers one batch to POST /internal/v1/executions (the backend
// client implements it). An error with a Permanent() method that returns
// true means the backend refused the batch (4xx): it is dropped. Any other
// error (transport, timeout, 5xx) makes the Queue send the same batch again.
type Sender interface {
	PostExecutions(ctx context.Context, records []proto.ExecutionRecord) error
}

// permanent reports whether err says that sending the batch again cannot
// succeed.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// Queue holds prepared execution records in memory and delivers them in
// batches (gateway.md §9). Enqueue never blocks on I/O and never fails; a
// single goroutine (Run) sends. The queue is bounded by records and bytes;
// when full it drops its oldest records, even those of a batch that is
// being retried (so a record dropped during an attempt may still reach the
// backend; it is counted once, as dropped).
type Queue struct {
	sender Sender
	opts   Options
	log    *slog.Logger
	m      metrics

	// closing is closed by Close; abort is closed when Close's context
	// ends before the flush does; done is closed when the final flush has
	// ended.
	closing, abort, done chan struct{}
	closeOnce, abortOnce sync.Once
	// wake tells Run that a record arrived.
	wake chan struct{}

	mu      sync.Mutex
	items   []entry // oldest first
	bytes   int     // sum of items' sizes
	nextSeq uint64
	started bool // Run (or a Close that flushes itself) owns delivery
	closed  bool // Enqueue drops: the final flush has begun
	full    bool // dropping for queue_full since the last delivery (logged once)
}

// entry is one queued record.
type entry struct {
	rec  proto.ExecutionRecord
	size int    // bytes of its JSON
	seq  uint64 // order of arrival, from 1
	at   time.Time
}

// New returns an empty Queue; call Run in its own goroutine, and Close on
// shutdown. opts fields left zero take the defaults of gateway.md §9.
func New(sender Sender, opts Options, reg prometheus.Registerer, log *slog.Logger) *Queue {
	q := &Queue{
		sender:  sender,
		opts:    opts.withDefaults(),
		log:     log,
		m:       newMetrics(reg),
		closing: make(chan struct{}),
		abort:   make(chan struct{}),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		nextSeq: 1,
	}
	q.m.capacity.Set(float64(q.opts.MaxRecords))
	return q
}

// Enqueue adds a record, which should come from Prepare. It only encodes
// the record (to measure it) and takes a short lock: a backend outage never
// slows a tool call. A record that cannot be sent at all (it does not encode,
// or alone exceeds a batch's size limit) is dropped as rejected; a record
// arriving after the shutdown flush began is dropped as shutdown.
func (q *Queue) Enqueue(rec proto.ExecutionRecord) {
	body, err := json.Marshal(rec)
	switch {
	case err != nil:
		q.dropOne(rec, ReasonRejected, "execution record dropped: it does not encode as JSON", err)
		return
	case len(body) > maxBatchBytes:
		q.dropOne(rec, ReasonRejected, "execution record dropped: it alone exceeds the batch size limit",
			fmt.Errorf("%d bytes", len(body)))
		return
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		q.dropOne(rec, ReasonShutdown, "execution record dropped: the gateway is shutting down", nil)
		return
	}
	q.items = append(q.items, entry{rec: rec, size: len(body), seq: q.nextSeq, at: time.Now()})
	q.nextSeq++
	q.bytes += len(body)
	var dropped int
	for len(q.items) > q.opts.MaxRecords || q.bytes > q.opts.MaxBytes {
		q.popFront()
		dropped++
	}
	firstOverflow := dropped > 0 && !q.full
	q.full = q.full || dropped > 0
	q.updateGauges()
	q.mu.Unlock()
	if dropped > 0 {
		q.m.dropped.WithLabelValues(ReasonQueueFull).Add(float64(dropped))
	}
	if firstOverflow {
		q.log.Warn("execution record queue full; dropping the oldest records until a batch is delivered",
			obs.KeyCount, q.opts.MaxRecords)
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// dropOne counts and logs a record that never entered the queue.
func (q *Queue) dropOne(rec proto.ExecutionRecord, reason, msg string, err error) {
	q.m.dropped.WithLabelValues(reason).Inc()
	attrs := []any{obs.KeyExecutionID, rec.ID, obs.KeyReason, reason}
	if err != nil {
		attrs = append(attrs, obs.KeyError, err.Error())
	}
	q.log.Error(msg, attrs...)
}

// popFront removes the oldest record; q.mu is held.
func (q *Queue) popFront() {
	q.bytes -= q.items[0].size
	q.items[0] = entry{} // release the record
	q.items = q.items[1:]
}

// updateGauges publishes the queue's size; q.mu is held.
func (q *Queue) updateGauges() {
	q.m.queued.Set(float64(len(q.items)))
	q.m.queuedBytes.Set(float64(q.bytes))
}

// Run delivers batches until ctx ends or Close is called, then flushes for
// up to Options.FlushTimeout and counts what remains as dropped (shutdown).
// Shutting down stops the waiting (for a batch to fill, or a backoff) but
// not an attempt in progress, which may finish within the flush deadline:
// cutting it would only send its batch twice. Call Run once, in its own
// goroutine; a second call returns at once.
func (q *Queue) Run(ctx context.Context) {
	q.mu.Lock()
	if q.started {
		q.mu.Unlock()
		return
	}
	q.started = true
	q.mu.Unlock()
	defer close(q.done)

	// Attempts run under sendCtx, which ends only at the flush deadline
	// (or when Close gives up); stopping ends the waiting.
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	stopping := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-q.closing:
		}
		close(stopping)
		deadline := time.NewTimer(q.opts.FlushTimeout)
		defer deadline.Stop()
		select {
		case <-deadline.C:
		case <-q.abort:
		case <-sendCtx.Done():
		}
		cancelSend()
	}()
	q.pump(sendCtx, stopping)
	q.finish(sendCtx)
}

// Close ends delivery: queued records are flushed for up to
// Options.FlushTimeout, what remains is counted as dropped (shutdown) and
// logged, and records enqueued once the flush has begun are dropped
// (shutdown) too. It returns nil when the flush has ended, or ctx's error
// when ctx ended first (the flush is then cut short and its leftovers
// counted). Without a running Run, Close flushes itself. Calling it again
// waits for the same flush.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	flushHere := !q.started
	q.started = true // a later Run returns at once
	q.mu.Unlock()
	q.closeOnce.Do(func() { close(q.closing) })
	if flushHere {
		sendCtx, cancel := context.WithTimeout(ctx, q.opts.FlushTimeout)
		defer cancel()
		q.finish(sendCtx)
		close(q.done)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("flush execution records: %w", err)
		}
		return nil
	}
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		q.abortOnce.Do(func() { close(q.abort) })
		<-q.done
		return fmt.Errorf("flush execution records: %w", ctx.Err())
	}
}
