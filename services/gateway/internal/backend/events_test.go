package backend

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// streamStart answers 200 text/event-stream and returns a function that
// writes and flushes a frame.
func streamStart(w http.ResponseWriter) func(string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	return func(frame string) {
		_, _ = w.Write([]byte(frame))
		_ = rc.Flush()
	}
}

// frame returns the SSE frame of ev.
func frame(t *testing.T, ev proto.Event) string {
	t.Helper()
	b, err := ev.MarshalSSE()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// collector gathers events.
type collector struct {
	mu     sync.Mutex
	events []proto.Event
	got    chan struct{}
}

func newCollector() *collector { return &collector{got: make(chan struct{}, 100)} }

func (c *collector) add(e proto.Event) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
	c.got <- struct{}{}
}

func (c *collector) all() []proto.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]proto.Event(nil), c.events...)
}

// waitFor waits for n events in total.
func (c *collector) waitFor(t *testing.T, n int) {
	t.Helper()
	for len(c.all()) < n {
		select {
		case <-c.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d events, want %d", len(c.all()), n)
		}
	}
}

// TestEventsStream: events arrive in order, pings and unknown events are
// skipped, and the stream returns nil when the caller's context ends.
func TestEventsStream(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "text/event-stream" {
			writeError(w, http.StatusNotAcceptable, "bad_accept", "want text/event-stream")
			return
		}
		send := streamStart(w)
		send(frame(t, proto.Event{Type: proto.EventHello, CatalogRevision: 4, PolicyRevision: 2}))
		send(proto.SSEPing)
		send("event: something_new\ndata: {\"x\":1}\n\n")
		send(frame(t, proto.Event{Type: proto.EventCatalogChanged, Revision: 5}))
		send("event: secrets_changed\r\ndata: {\"server_id\":\"5f0e0a7c-1111-4222-8333-944455556666\",\"extra\":true}\r\n\r\n")
		send(frame(t, proto.Event{Type: proto.EventPolicyChanged, Revision: 3}))
		<-r.Context().Done()
	})
	c, _ := newClient(t, f.srv.URL)
	col := newCollector()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Events(ctx, col.add) }()
	col.waitFor(t, 4)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Events after cancel = %v, want nil", err)
	}
	want := []proto.Event{
		{Type: proto.EventHello, CatalogRevision: 4, PolicyRevision: 2},
		{Type: proto.EventCatalogChanged, Revision: 5},
		{Type: proto.EventSecretsChanged, ServerID: "5f0e0a7c-1111-4222-8333-944455556666"},
		{Type: proto.EventPolicyChanged, Revision: 3},
	}
	got := col.all()
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := count(c, EndpointEvents, resultOK); n != 1 {
		t.Errorf("events ok = %v, want 1", n)
	}
}

// TestEventsDeadStream: a stream that goes silent, or never answers, is
// dead after the idle limit.
func TestEventsDeadStream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		hello bool
	}{{"silent after hello", true}, {"no answer", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.hello {
					streamStart(w)(frame(t, proto.Event{Type: proto.EventHello}))
				}
				<-r.Context().Done()
			})
			c, _ := newClient(t, f.srv.URL, WithEventIdleTimeout(200*time.Millisecond))
			col := newCollector()
			err := c.Events(t.Context(), col.add)
			var te *TransportError
			if !errors.As(err, &te) || !te.Timeout || !errors.Is(err, ErrEventStreamIdle) {
				t.Fatalf("err = %v, want an idle timeout", err)
			}
			if tc.hello && len(col.all()) != 1 {
				t.Errorf("events %+v, want hello", col.all())
			}
			if n := count(c, EndpointEvents, resultTimeout); n != 1 {
				t.Errorf("events timeout = %v, want 1", n)
			}
		})
	}
}

// TestEventsPingsKeepAlive: pings alone keep a stream alive past the idle
// limit; the stream then ends because the backend closed it, not because
// it looked dead.
func TestEventsPingsKeepAlive(t *testing.T) {
	t.Parallel()
	const idle = 600 * time.Millisecond
	f := newFake(t, func(w http.ResponseWriter, _ *http.Request) {
		send := streamStart(w)
		send(frame(t, proto.Event{Type: proto.EventHello}))
		for end := time.Now().Add(3 * idle); time.Now().Before(end); {
			time.Sleep(20 * time.Millisecond)
			send(proto.SSEPing)
		}
	})
	c, _ := newClient(t, f.srv.URL, WithEventIdleTimeout(idle))
	err := c.Events(t.Context(), func(proto.Event) {})
	var te *TransportError
	if !errors.As(err, &te) || te.Timeout || errors.Is(err, ErrEventStreamIdle) {
		t.Fatalf("err = %v, want the backend's close, not an idle timeout", err)
	}
	if n := count(c, EndpointEvents, resultTransport); n != 1 {
		t.Errorf("events transport = %v, want 1", n)
	}
}

// TestEventsSlowCallback: time spent in onEvent does not count as silence.
func TestEventsSlowCallback(t *testing.T) {
	t.Parallel()
	const idle = 500 * time.Millisecond
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		send := streamStart(w)
		send(frame(t, proto.Event{Type: proto.EventHello}))
		time.Sleep(700 * time.Millisecond)
		send(frame(t, proto.Event{Type: proto.EventCatalogChanged, Revision: 9}))
		<-r.Context().Done()
	})
	c, _ := newClient(t, f.srv.URL, WithEventIdleTimeout(idle))
	col := newCollector()
	err := c.Events(t.Context(), func(e proto.Event) {
		if e.Type == proto.EventHello {
			time.Sleep(2 * idle)
		}
		col.add(e)
	})
	if !errors.Is(err, ErrEventStreamIdle) {
		t.Fatalf("err = %v, want the idle timeout after the last event", err)
	}
	if got := col.all(); len(got) != 2 || got[1].Revision != 9 {
		t.Fatalf("events %+v, want hello and catalog_changed", got)
	}
}

func TestEventsFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		handle http.HandlerFunc
		check  func(error) bool
	}{
		{
			name: "503",
			handle: func(w http.ResponseWriter, _ *http.Request) {
				writeError(w, http.StatusServiceUnavailable, proto.CodeUnavailable, "not receiving change notifications")
			},
			check: func(err error) bool {
				var he *HTTPError
				return errors.As(err, &he) && he.Status == http.StatusServiceUnavailable && he.Code == proto.CodeUnavailable
			},
		},
		{
			name: "wrong content type",
			handle: func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusOK, map[string]string{})
			},
			check: func(err error) bool { var me *MalformedError; return errors.As(err, &me) },
		},
		{
			name: "bad data of a known event",
			handle: func(w http.ResponseWriter, r *http.Request) {
				streamStart(w)("event: catalog_changed\ndata: {\"revision\":\"x\"}\n\n")
				<-r.Context().Done()
			},
			check: func(err error) bool { var me *MalformedError; return errors.As(err, &me) },
		},
		{
			name: "line too long",
			handle: func(w http.ResponseWriter, r *http.Request) {
				send := streamStart(w)
				for range 20 {
					send(": " + string(make([]byte, 1024)))
				}
				<-r.Context().Done()
			},
			check: func(err error) bool { var me *MalformedError; return errors.As(err, &me) },
		},
		{
			name: "closed by the backend",
			handle: func(w http.ResponseWriter, _ *http.Request) {
				streamStart(w)("event: hello\ndata: {\"catalog_revision\":1,\"policy_revision\":1}\n\n")
			},
			check: func(err error) bool { var te *TransportError; return errors.As(err, &te) && te.Sent && !te.Timeout },
		},
		{
			name:  "backend down",
			check: func(err error) bool { var te *TransportError; return errors.As(err, &te) && !te.Sent },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := closedURL(t)
			if tc.handle != nil {
				url = newFake(t, tc.handle).srv.URL
			}
			c, _ := newClient(t, url, WithEventIdleTimeout(10*time.Second))
			if err := c.Events(t.Context(), func(proto.Event) {}); !tc.check(err) {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}
