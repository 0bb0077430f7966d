package obs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/mcpbox/mcpbox/proto/buildinfo"
)

type ctxKey struct{ name string }

var requestIDKey = &ctxKey{"request_id"} //nolint:gochecknoglobals // private context key, never mutated

// requestIDHolder is the request id a context carries. It is replaceable
// because a handler may adopt the id sent in its request body
// (AdoptRequestID) after the middleware assigned one, and every log line of
// the request, the access log line included, must then carry the new id.
type requestIDHolder struct{ id atomic.Pointer[string] }

// WithRequestID returns ctx carrying the request id id.
func WithRequestID(ctx context.Context, id string) context.Context {
	h := &requestIDHolder{}
	h.id.Store(&id)
	return context.WithValue(ctx, requestIDKey, h)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	if h, _ := ctx.Value(requestIDKey).(*requestIDHolder); h != nil {
		return *h.id.Load()
	}
	return ""
}

// ParseLevel maps MCPBOX_LOG_LEVEL values to slog levels.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
}

// NewLogger builds the one logger of a process: JSON (or text, for humans)
// on w, every line carrying service and version, and request_id whenever the
// context passed to a *Context logging call carries one.
func NewLogger(w io.Writer, service string, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(&requestIDHandler{Handler: h}).With(KeyService, service, KeyVersion, buildinfo.Version)
}

// requestIDHandler adds request_id from the record's context.
type requestIDHandler struct{ slog.Handler }

func (h *requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String(KeyRequestID, id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &requestIDHandler{Handler: h.Handler.WithAttrs(attrs)}
}

func (h *requestIDHandler) WithGroup(name string) slog.Handler {
	return &requestIDHandler{Handler: h.Handler.WithGroup(name)}
}
