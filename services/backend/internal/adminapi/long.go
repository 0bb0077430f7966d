package adminapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// Write deadlines of backend.md §3: every /api/v1 response has the default
// one; the routes that wait on the sandbox or run long have the long class.
// The stream sets its own per write.
const (
	defaultWrite = 60 * time.Second
	longWrite    = 330 * time.Second
	// progressEvery is the most often one operation reports (§14.2).
	progressEvery = time.Second
)

const progressKey = "mcpbox.progress"

// writeDeadline gives every /api/v1 response the default write deadline
// (per request, so a test can shorten it through Deps.WriteTimeout).
func (h *handlers) writeDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(cmpDuration(h.d.WriteTimeout, defaultWrite)))
		return next(c)
	}
}

// long puts a route in the long write-deadline class (backend.md §3) and
// reports its progress on the activity streams of the session that started
// it (§14.2), at most once a second plus once when it ends. A counted
// operation (the imports, the self-check) reports through progress(c); the
// others report by themselves the whole seconds elapsed out of the deadline
// in seconds. OpImport becomes OpImportDryRun when the request has
// dry_run=true.
func (h *handlers) long(op activity.Operation) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			deadline := h.longWrite()
			_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(deadline))
			kind := op
			if kind == activity.OpImport && c.QueryParam("dry_run") == "true" {
				kind = activity.OpImportDryRun
			}
			r := h.newReporter(c, kind)
			c.Set(progressKey, activity.Progress(r.report))
			if counted(kind) {
				err := next(c)
				r.finish()
				return err
			}
			total := int(deadline / time.Second)
			stop := r.tick(total)
			err := next(c)
			stop()
			r.finish()
			return err
		}
	}
}

// counted reports whether op counts units (tools, steps) rather than time.
func counted(op activity.Operation) bool {
	return op == activity.OpImport || op == activity.OpImportDryRun || op == activity.OpSelfCheck
}

// progress is the reporter of the current long operation; a no-op outside
// one.
func progress(c *echo.Context) activity.Progress {
	if p, ok := c.Get(progressKey).(activity.Progress); ok && p != nil {
		return p
	}
	return activity.NoProgress
}

func (h *handlers) longWrite() time.Duration { return cmpDuration(h.d.LongWriteTimeout, longWrite) }

// reporter throttles one operation's progress and publishes it through
// NOTIFY, so the session's streams on every replica receive it.
type reporter struct {
	h       *handlers
	ctx     context.Context //nolint:containedctx // the operation's, without its cancellation: the last event follows the answer
	started time.Time

	mu       sync.Mutex
	ev       activity.ProgressEvent
	reported bool      // report was called at least once
	sent     time.Time // when the last event went out
	pending  bool      // the newest values have not gone out
}

func (h *handlers) newReporter(c *echo.Context, op activity.Operation) *reporter {
	return &reporter{
		h: h, ctx: context.WithoutCancel(c.Request().Context()), started: time.Now(),
		ev: activity.ProgressEvent{Session: principal(c).SessionID, RequestID: requestID(c), Operation: op},
	}
}

func (r *reporter) report(done, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reported = true
	r.ev.Done, r.ev.Total = done, total
	r.pending = true
	if time.Since(r.sent) >= progressEvery {
		r.publish()
	}
}

// tick reports the whole seconds elapsed out of total every second, until
// stop.
func (r *reporter) tick(total int) (stop func()) {
	r.report(0, total)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.report(min(int(time.Since(r.started)/time.Second), total), total)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		r.mu.Lock()
		r.ev.Done = min(int(time.Since(r.started)/time.Second), total)
		r.pending = true
		r.mu.Unlock()
	}
}

// finish sends the last values once, whatever the throttle says.
func (r *reporter) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reported && r.pending {
		r.publish()
	}
}

// publish sends the current values; r.mu is held.
func (r *reporter) publish() {
	r.sent, r.pending = time.Now(), false
	if r.ev.Session == uuid.Nil {
		return // no session: nobody could receive it
	}
	if err := activity.PublishProgress(r.ctx, r.h.d.Store, r.ev); err != nil {
		r.h.d.Log.Warn("progress event not sent", slog.String("operation", string(r.ev.Operation)),
			slog.String(obs.KeyError, err.Error()))
	}
}
