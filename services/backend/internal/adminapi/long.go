package adminapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// Write deadlines of backend.md §3: every /api/v1 response has the default
// one; the routes that wait on the sandbox or run long have the long class.
// The stream sets its own per write.
const (
	defaultWrite = 60 * time.Second
	longWrite    = 330 * time.Second
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
			r := activity.NewReporter(c.Request().Context(), h.d.Store, h.d.Log, activity.ProgressEvent{
				Session: principal(c).SessionID, RequestID: requestID(c), Operation: kind,
			})
			c.Set(progressKey, activity.Progress(r.Report))
			if counted(kind) {
				err := next(c)
				r.Finish()
				return err
			}
			stop := r.Tick(int(deadline / time.Second))
			err := next(c)
			stop()
			r.Finish()
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
