package adminapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// Write deadlines of backend.md §3: every /api/v1 response has the default
// one; the routes that wait on the sandbox or run long have the long class.
const (
	defaultWrite = 60 * time.Second
	longWrite    = 330 * time.Second
)

const progressKey = "mcpbox.progress"

// long puts a route in the long write-deadline class (backend.md §3) and
// reports its progress on the activity stream (§14.2) of the session that
// started it. For a counted operation (the imports, the self-check) the
// handler reports through progress(c); the others report whole seconds
// elapsed out of the deadline by themselves. OpImport becomes
// OpImportDryRun when the request has dry_run=true.
func (h *handlers) long(op activity.Operation) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(h.longWrite()))
			c.Set(progressKey, activity.Progress(activity.NoProgress))
			return next(c)
		}
	}
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
