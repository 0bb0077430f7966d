package mcpserve

import (
	"mime"
	"net/http"
	"sync"
	"time"
)

// keepaliveComment is the SSE comment written to idle streams (gateway.md
// §5.6); clients ignore comment lines.
const keepaliveComment = ": keepalive\n\n"

// streamWriter wraps the response writer of one /mcp request for the SDK
// handler. Every SDK write passes through it under its lock, which gives
// the keepalive of §5.6 the SDK writer's serialisation: a ": keepalive"
// comment is written only after interval without traffic, only to an SSE
// response, and only at an event boundary (the bytes written so far end
// with a blank line; the SDK writes each event in one Write). It also
// records the status for the listener. Unwrap keeps http.ResponseController
// working (deadlines); Flush and FlushError go through the lock.
type streamWriter struct {
	w        http.ResponseWriter
	interval time.Duration

	mu     sync.Mutex
	status int
	// sse is whether the committed response is an event stream.
	sse bool
	// dispatched: the SDK handed the request to a handler, so the SSE
	// headers of a call's response are set (they are set before the
	// request is published): a keepalive may then commit the stream before
	// the SDK's first event.
	dispatched bool
	// tail holds the last two bytes written.
	tail   [2]byte
	n      int64
	last   time.Time
	closed bool
	timer  *time.Timer
}

// newStreamWriter wraps w; interval 0 disables keepalives.
func newStreamWriter(w http.ResponseWriter, interval time.Duration) *streamWriter {
	s := &streamWriter{w: w, interval: interval, last: time.Now()}
	if interval > 0 {
		// Under the lock: the first tick may run before AfterFunc returns.
		s.mu.Lock()
		s.timer = time.AfterFunc(interval, s.tick)
		s.mu.Unlock()
	}
	return s
}

// Header implements http.ResponseWriter.
func (s *streamWriter) Header() http.Header { return s.w.Header() }

// WriteHeader implements http.ResponseWriter.
func (s *streamWriter) WriteHeader(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commitLocked(code)
	s.w.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (s *streamWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeLocked(p)
}

// FlushError flushes the underlying writer (http.ResponseController uses it).
func (s *streamWriter) FlushError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.NewResponseController(s.w).Flush()
}

// Flush implements http.Flusher.
func (s *streamWriter) Flush() { _ = s.FlushError() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (s *streamWriter) Unwrap() http.ResponseWriter { return s.w }

// Status returns the status written so far (0: none).
func (s *streamWriter) Status() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// markDispatched records that the SDK dispatched the request.
func (s *streamWriter) markDispatched() {
	s.mu.Lock()
	s.dispatched = true
	s.mu.Unlock()
}

// close stops the keepalives; call it when the handler returned, before
// the writer becomes invalid.
func (s *streamWriter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

// commitLocked records the status and whether the response is an event
// stream, the first time a status is sent.
func (s *streamWriter) commitLocked(code int) {
	if s.status != 0 {
		return
	}
	s.status = code
	mt, _, _ := mime.ParseMediaType(s.w.Header().Get("Content-Type"))
	s.sse = mt == "text/event-stream"
}

func (s *streamWriter) writeLocked(p []byte) (int, error) {
	s.commitLocked(http.StatusOK)
	n, err := s.w.Write(p)
	if n > 0 {
		s.n += int64(n)
		switch {
		case n >= 2:
			s.tail = [2]byte{p[n-2], p[n-1]}
		default:
			s.tail = [2]byte{s.tail[1], p[0]}
		}
		s.last = time.Now()
	}
	return n, err
}

// atBoundaryLocked reports whether the stream is between events: nothing
// written yet, or the last bytes end an event (a blank line).
func (s *streamWriter) atBoundaryLocked() bool {
	return s.n == 0 || s.tail == [2]byte{'\n', '\n'}
}

// tick runs on the keepalive timer.
func (s *streamWriter) tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	idle := time.Since(s.last)
	if idle < s.interval {
		s.timer.Reset(s.interval - idle)
		return
	}
	eligible := (s.status == http.StatusOK && s.sse) || (s.status == 0 && s.dispatched && s.isSSEPendingLocked())
	if eligible && s.atBoundaryLocked() {
		if _, err := s.writeLocked([]byte(keepaliveComment)); err == nil {
			_ = http.NewResponseController(s.w).Flush()
		}
	}
	s.last = time.Now()
	s.timer.Reset(s.interval)
}

// isSSEPendingLocked reports whether the uncommitted response is set up as
// an event stream. Only called after dispatch: the SDK set the headers
// before it published the request, which happened before the dispatch
// mark this lock orders us after.
func (s *streamWriter) isSSEPendingLocked() bool {
	mt, _, _ := mime.ParseMediaType(s.w.Header().Get("Content-Type"))
	return mt == "text/event-stream"
}
