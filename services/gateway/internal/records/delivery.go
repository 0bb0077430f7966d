package records

import (
	"context"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// pump sends batches under ctx until stop is closed (or ctx ends). A batch
// that fails for a reason that may pass is sent again, the same records
// (minus any dropped meanwhile as the oldest), after a backoff. With a nil
// stop it flushes: batches leave at once, and pump returns as soon as the
// queue is empty or ctx ends.
func (q *Queue) pump(ctx context.Context, stop <-chan struct{}) {
	flushing := stop == nil
	var retry uint64 // the last seq of the batch being retried; 0 when none
	failures := 0
	for {
		if !flushing && retry == 0 && !q.waitForBatch(stop) {
			return
		}
		batch, last := q.take(retry)
		if len(batch) == 0 {
			if retry == 0 && flushing {
				return
			}
			retry = 0 // the whole batch was dropped while waiting
			continue
		}
		err := q.sender.PostExecutions(ctx, batch)
		switch {
		case err == nil:
			n := q.settle(last, true)
			q.m.sent.Add(float64(n))
			retry, failures = 0, 0
		case permanent(err):
			n := q.settle(last, false)
			q.m.dropped.WithLabelValues(ReasonRejected).Add(float64(n))
			q.log.Error("execution record batch rejected by the backend; dropped",
				obs.KeyExecutionID, batch[0].ID, obs.KeyCount, n, obs.KeyError, err.Error())
			retry, failures = 0, 0
		default:
			if ctx.Err() != nil {
				return // past the flush deadline: finish counts what remains
			}
			retry = last
			failures++
			q.log.Warn("execution record batch not delivered; retrying",
				obs.KeyExecutionID, batch[0].ID, obs.KeyCount, len(batch), obs.KeyAttempt, failures,
				obs.KeyError, err.Error())
			if !pause(ctx, stop, q.opts.backoff(failures)) {
				return
			}
		}
	}
}

// waitForBatch waits until a batch is due: BatchSize records (or a full
// batch's bytes) are queued, or the oldest has waited BatchDelay. It
// returns false when stop is closed first.
func (q *Queue) waitForBatch(stop <-chan struct{}) bool {
	for {
		q.mu.Lock()
		wait := time.Duration(-1) // nothing queued: wait for a record
		switch n := len(q.items); {
		case n >= q.opts.BatchSize || q.bytes >= maxBatchBytes:
			wait = 0
		case n > 0:
			wait = max(0, q.opts.BatchDelay-time.Since(q.items[0].at))
		}
		q.mu.Unlock()
		if wait == 0 {
			return true
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		stopped := false
		select {
		case <-stop:
			stopped = true
		case <-q.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if stopped {
			return false
		}
	}
}

// take returns the oldest records that fit in one batch (BatchSize records,
// maxBatchBytes of JSON; at least one) and the seq of the last. With upTo
// > 0 it takes only records up to that seq: what remains of a failed batch.
// The records stay queued until settle.
func (q *Queue) take(upTo uint64) (batch []proto.ExecutionRecord, last uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	size := 0
	for _, e := range q.items {
		if len(batch) == q.opts.BatchSize || upTo != 0 && e.seq > upTo ||
			len(batch) > 0 && size+e.size+1 > maxBatchBytes {
			break
		}
		batch = append(batch, e.rec)
		size += e.size + 1
		last = e.seq
	}
	return batch, last
}

// settle removes the records of a batch that ended (delivered or rejected)
// and returns how many of them were still queued; the others were dropped
// as the oldest meanwhile and are counted already.
func (q *Queue) settle(last uint64, delivered bool) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for len(q.items) > 0 && q.items[0].seq <= last {
		q.popFront()
		n++
	}
	if delivered {
		q.full = false // the backend is back: a new overflow is logged again
	}
	q.updateGauges()
	return n
}

// finish closes the queue to new records, flushes until ctx ends, and
// counts and logs what remains as dropped (shutdown).
func (q *Queue) finish(ctx context.Context) {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.pump(ctx, nil)
	q.mu.Lock()
	n := len(q.items)
	var firstID string
	if n > 0 {
		firstID = q.items[0].rec.ID
	}
	q.items, q.bytes = nil, 0
	q.updateGauges()
	q.mu.Unlock()
	if n > 0 {
		q.m.dropped.WithLabelValues(ReasonShutdown).Add(float64(n))
		q.log.Error("execution records lost at shutdown: not delivered before the flush deadline",
			obs.KeyCount, n, obs.KeyExecutionID, firstID)
	}
}

// pause waits d, or returns false when ctx ends or stop is closed first
// (a nil stop never is).
func pause(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}
