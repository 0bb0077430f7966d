package activity

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto/obs"
)

// ProgressEvery is the most often one operation reports (backend.md §14.2).
const ProgressEvery = time.Second

// Reporter throttles the progress of one long operation (backend.md §3,
// §14.2) and publishes it through NOTIFY, so the streams of the session
// that started it receive it on every replica: at most once every
// ProgressEvery, at once when done reaches total (so the end shows before
// the answer), and the newest values once more at Finish. It is safe for
// concurrent use; the admin API and the web UI share it.
type Reporter struct {
	ctx     context.Context //nolint:containedctx // the operation's, without its cancellation: the last event follows the answer
	n       Notifier
	log     *slog.Logger
	started time.Time

	mu       sync.Mutex
	ev       ProgressEvent
	reported bool      // Report was called at least once
	sent     time.Time // when the last event went out
	pending  bool      // the newest values have not gone out
}

// NewReporter starts reporting ev's operation (its session, request id and
// operation set). A nil Notifier or a session-less event publishes nothing.
func NewReporter(ctx context.Context, n Notifier, log *slog.Logger, ev ProgressEvent) *Reporter {
	return &Reporter{ctx: context.WithoutCancel(ctx), n: n, log: log, started: time.Now(), ev: ev}
}

// Report records done of total; it is a Progress.
func (r *Reporter) Report(done, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reported && done == r.ev.Done && total == r.ev.Total {
		return // nothing new
	}
	r.ev.Done, r.ev.Total, r.pending, r.reported = done, total, true, true
	if (total > 0 && done >= total) || time.Since(r.sent) >= ProgressEvery {
		r.publish()
	}
}

// Tick reports the whole seconds elapsed out of total every second, for an
// operation that counts time rather than units, until stop.
func (r *Reporter) Tick(total int) (stop func()) {
	elapsed := func() int { return min(int(time.Since(r.started)/time.Second), total) }
	r.Report(0, total)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.Report(elapsed(), total)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		r.Report(elapsed(), total)
	}
}

// Finish sends the newest values once, whatever the throttle says.
func (r *Reporter) Finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reported && r.pending {
		r.publish()
	}
}

// Last returns the newest values; ok is false before any Report.
func (r *Reporter) Last() (ProgressEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ev, r.reported
}

// publish sends the current values; r.mu is held.
func (r *Reporter) publish() {
	r.sent, r.pending = time.Now(), false
	if r.n == nil || r.ev.Session == uuid.Nil {
		return // nobody could receive it
	}
	if err := PublishProgress(r.ctx, r.n, r.ev); err != nil && r.log != nil {
		r.log.WarnContext(r.ctx, "progress event not sent", slog.String("operation", string(r.ev.Operation)), slog.String(obs.KeyError, err.Error()))
	}
}
