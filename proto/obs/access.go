package obs

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// StatusRecorder remembers the status and size of a response.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

// WriteHeader implements http.ResponseWriter.
func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush,
// deadlines) through the recorder.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// quiet paths log at DEBUG (operations.md §3.1).
func quiet(path string) bool {
	return path == proto.PathHealthz || path == proto.PathReadyz || path == proto.PathMetrics
}

// accessNotes are the attributes a handler added to its request's access
// log line (AddAccessAttrs).
type accessNotes struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

var accessNotesKey = &ctxKey{"access_notes"} //nolint:gochecknoglobals // private context key, never mutated

// AddAccessAttrs adds attrs to the access log line of the request whose
// context is ctx (their keys must be in Keys), for facts only a handler
// learns, such as the gateway's MCP method and handler kind. Outside
// AccessLog it does nothing. Safe for concurrent use.
func AddAccessAttrs(ctx context.Context, attrs ...slog.Attr) {
	if n, _ := ctx.Value(accessNotesKey).(*accessNotes); n != nil {
		n.mu.Lock()
		n.attrs = append(n.attrs, attrs...)
		n.mu.Unlock()
	}
}

// AccessLog logs one line per finished request and turns a panic into a
// logged 500 (with the request id, never the panic text, in the body).
// route maps a request to its route template for the log (may be nil).
func AccessLog(log *slog.Logger, listener string, route func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &StatusRecorder{ResponseWriter: w}
		notes := &accessNotes{}
		r = r.WithContext(context.WithValue(r.Context(), accessNotesKey, notes))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value, compared as net/http does
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic", KeyPanic, p, KeyStack, string(debug.Stack()))
				if rec.Status == 0 {
					rec.Header().Set("Content-Type", "application/json")
					rec.WriteHeader(http.StatusInternalServerError)
					_, _ = rec.Write([]byte(`{"error":{"code":"internal","message":"Internal error (request ` +
						RequestID(r.Context()) + `).","request_id":"` + RequestID(r.Context()) + `"}}` + "\n"))
				}
			}
			level := slog.LevelInfo
			if quiet(r.URL.Path) {
				level = slog.LevelDebug
			}
			attrs := []slog.Attr{
				slog.String(KeyListener, listener), slog.String(KeyMethod, r.Method),
				slog.Int(KeyStatus, rec.Status), slog.Int64(KeyDurationMS, time.Since(start).Milliseconds()),
				slog.Int64(KeyBytesIn, max(r.ContentLength, 0)), slog.Int64(KeyBytesOut, rec.Bytes),
			}
			if route != nil {
				attrs = append(attrs, slog.String(KeyRoute, route(r)))
			}
			notes.mu.Lock()
			attrs = append(attrs, notes.attrs...)
			notes.mu.Unlock()
			log.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}
