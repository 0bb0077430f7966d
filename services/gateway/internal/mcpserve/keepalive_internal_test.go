package mcpserve

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// safeRecorder is a ResponseWriter whose body can be read while written.
type safeRecorder struct {
	mu      sync.Mutex
	header  http.Header
	status  int
	body    bytes.Buffer
	flushes int
}

func (r *safeRecorder) Header() http.Header { return r.header }

func (r *safeRecorder) WriteHeader(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = code
	}
}

func (r *safeRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

func (r *safeRecorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushes++
}

func (r *safeRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.String()
}

func newSSERecorder() *safeRecorder {
	r := &safeRecorder{header: http.Header{}}
	r.header.Set("Content-Type", "text/event-stream")
	return r
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A keepalive never lands inside an event: while the bytes written end
// mid-event none is written, and once the event is complete keepalives
// follow it; each is flushed; after close none comes.
func TestKeepaliveOnlyAtEventBoundaries(t *testing.T) {
	t.Parallel()
	rec := newSSERecorder()
	sw := newStreamWriter(rec, 20*time.Millisecond)
	if _, err := sw.Write([]byte("event: message\ndata: {\"a\":")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if strings.Contains(rec.String(), "keepalive") {
		t.Fatalf("keepalive inside an event: %q", rec.String())
	}
	if _, err := sw.Write([]byte("1}\n\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a keepalive after the event", func() bool { return strings.Count(rec.String(), keepaliveComment) >= 2 })
	if !strings.HasPrefix(rec.String(), "event: message\ndata: {\"a\":1}\n\n: keepalive\n\n") {
		t.Errorf("stream %q", rec.String())
	}
	sw.close()
	n := len(rec.String())
	time.Sleep(60 * time.Millisecond)
	if len(rec.String()) != n {
		t.Error("keepalive after close")
	}
	rec.mu.Lock()
	flushes := rec.flushes
	rec.mu.Unlock()
	if flushes < 2 {
		t.Errorf("%d flushes", flushes)
	}
}

// No keepalive goes to a response that is not an event stream, nor to a
// response not yet committed unless the SDK dispatched the request (its
// SSE headers are then set); a dispatched one gets them before its first
// event.
func TestKeepaliveOnlyOnEventStreams(t *testing.T) {
	t.Parallel()
	jsonRec := &safeRecorder{header: http.Header{"Content-Type": {"application/json"}}}
	sw := newStreamWriter(jsonRec, 10*time.Millisecond)
	sw.WriteHeader(http.StatusAccepted)
	pending := newSSERecorder()
	sw2 := newStreamWriter(pending, 10*time.Millisecond)
	time.Sleep(60 * time.Millisecond)
	if jsonRec.String() != "" || pending.String() != "" {
		t.Errorf("keepalive on a JSON or undispatched response: %q %q", jsonRec.String(), pending.String())
	}
	sw2.markDispatched()
	waitFor(t, "a keepalive on the dispatched stream", func() bool { return strings.HasPrefix(pending.String(), keepaliveComment) })
	if sw2.Status() != http.StatusOK {
		t.Errorf("status %d", sw2.Status())
	}
	sw.close()
	sw2.close()
}
