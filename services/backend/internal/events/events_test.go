package events

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

const (
	wait     = 5 * time.Second
	serverID = "3f0c9a52-1d7e-4b8a-9c61-2f4e8d7b6a10"
)

// fakeRevisions is the hub's consumer interface over fixed revisions.
type fakeRevisions struct {
	catalog, policy atomic.Int64
	fail            atomic.Bool
}

func (f *fakeRevisions) GetRevisions(context.Context) (dbq.GetRevisionsRow, error) {
	if f.fail.Load() {
		return dbq.GetRevisionsRow{}, errors.New("database down")
	}
	return dbq.GetRevisionsRow{Catalog: f.catalog.Load(), Policy: f.policy.Load()}, nil
}

type fixture struct {
	hub  *Hub
	revs *fakeRevisions
	reg  *prometheus.Registry
	url  string
}

// newFixture serves a hub on loopback with a short read timeout, like the
// internal listener's (which must not end a stream).
func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{revs: &fakeRevisions{}, reg: prometheus.NewRegistry()}
	f.hub = New(f.revs, f.reg, slog.New(slog.DiscardHandler), opts)
	srv := httptest.NewUnstartedServer(f.hub)
	srv.Config.ReadTimeout = 100 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(f.hub.Close) // before srv.Close: ends the streams it waits for
	f.url = srv.URL
	return f
}

// frame is one SSE message: an event with data, or a comment.
type frame struct {
	Event, Data, Comment string
}

type stream struct {
	resp   *http.Response
	frames chan frame
	ended  chan struct{}
	cancel context.CancelFunc
}

// open starts a stream and reads its frames in the background.
func open(t *testing.T, url string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{resp: resp, frames: make(chan frame, 64), ended: make(chan struct{}), cancel: cancel}
	t.Cleanup(func() { cancel(); _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		close(s.ended)
		return s
	}
	go func() {
		defer close(s.ended)
		sc := bufio.NewScanner(resp.Body)
		var f frame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				s.frames <- f
				f = frame{}
			case strings.HasPrefix(line, ": "):
				f.Comment = strings.TrimPrefix(line, ": ")
			case strings.HasPrefix(line, "event: "):
				f.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				f.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

func (s *stream) next(t *testing.T) frame {
	t.Helper()
	select {
	case f := <-s.frames:
		return f
	case <-s.ended:
		t.Fatal("stream ended")
	case <-time.After(wait):
		t.Fatal("no frame")
	}
	return frame{}
}

// nextEvent skips pings.
func (s *stream) nextEvent(t *testing.T) frame {
	t.Helper()
	for {
		if f := s.next(t); f.Comment != "ping" {
			return f
		}
	}
}

func (s *stream) waitEnded(t *testing.T) {
	t.Helper()
	select {
	case <-s.ended:
	case <-time.After(wait):
		t.Fatal("stream still open")
	}
}

func (s *stream) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-s.frames:
			if f.Comment != "ping" {
				t.Fatalf("unexpected frame %+v", f)
			}
		case <-deadline:
			return
		}
	}
}

func notify(h *Hub, channel, payload string) {
	h.Notify(db.Notification{Channel: channel, Payload: payload})
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hello comes first with the current revisions; then the changes in order,
// without those hello already covered; metrics count streams and
// notifications.
func TestHelloThenChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.revs.catalog.Store(4)
	f.revs.policy.Store(2)
	f.hub.Up()
	s := open(t, f.url)
	if got := s.resp.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Errorf("Content-Type %q", got)
	}
	if diff := cmp.Diff(frame{Event: "hello", Data: `{"catalog_revision":4,"policy_revision":2}`}, s.next(t)); diff != "" {
		t.Fatalf("hello mismatch (-want +got):\n%s", diff)
	}
	if n := testutil.ToFloat64(f.hub.subscribers); n != 1 {
		t.Errorf("subscribers %v", n)
	}
	notify(f.hub, revision.ChannelCatalog, `{"revision":4}`) // committed before hello's read
	notify(f.hub, revision.ChannelPolicy, `{"revision":2}`)
	notify(f.hub, revision.ChannelCatalog, `{"revision":5}`)
	notify(f.hub, revision.ChannelPolicy, `{"revision":3}`)
	notify(f.hub, revision.ChannelSecrets, `{"server_id":"`+serverID+`"}`)
	want := []frame{
		{Event: "catalog_changed", Data: `{"revision":5}`},
		{Event: "policy_changed", Data: `{"revision":3}`},
		{Event: "secrets_changed", Data: `{"server_id":"` + serverID + `"}`},
	}
	var got []frame
	for range want {
		got = append(got, s.nextEvent(t))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	for typ, n := range map[string]float64{"catalog_changed": 2, "policy_changed": 2, "secrets_changed": 1} {
		if got := testutil.ToFloat64(f.hub.published.WithLabelValues(typ)); got != n {
			t.Errorf("published %s = %v, want %v", typ, got, n)
		}
	}
	s.cancel()
	eventually(t, "subscriber gauge back to 0", func() bool { return testutil.ToFloat64(f.hub.subscribers) == 0 })
}

// ": ping" is written every Ping interval, and the listener's read timeout
// (100 ms here) does not end the stream.
func TestPingAndNoReadTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Ping: 30 * time.Millisecond})
	f.hub.Up()
	s := open(t, f.url)
	if e := s.next(t); e.Event != "hello" {
		t.Fatalf("first frame %+v", e)
	}
	pings := 0
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
		if fr := s.next(t); fr.Comment == "ping" && fr.Event == "" && fr.Data == "" {
			pings++
		}
	}
	if pings < 3 {
		t.Errorf("%d pings in 300 ms at a 30 ms interval", pings)
	}
	notify(f.hub, revision.ChannelCatalog, `{"revision":1}`)
	if e := s.nextEvent(t); e.Event != "catalog_changed" {
		t.Errorf("after the read timeout: %+v", e)
	}
}

// Until the LISTEN connection is up and while it is lost, streams are
// refused with 503 unavailable; losing it closes every open stream.
func TestLostConnectionClosesStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	if s := open(t, f.url); s.resp.StatusCode != http.StatusServiceUnavailable || s.resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("before Up: %d", s.resp.StatusCode)
	} else if body, _ := io.ReadAll(s.resp.Body); !strings.Contains(string(body), `"code":"unavailable"`) {
		t.Errorf("before Up: %s", body)
	}
	f.hub.Up()
	a, b := open(t, f.url), open(t, f.url)
	a.next(t)
	b.next(t)
	f.hub.Lost(errors.New("terminated"))
	a.waitEnded(t)
	b.waitEnded(t)
	if n := testutil.ToFloat64(f.hub.subscribers); n != 0 {
		t.Errorf("subscribers after the loss %v", n)
	}
	if s := open(t, f.url); s.resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("while lost: %d", s.resp.StatusCode)
	}
	f.hub.Up()
	if e := open(t, f.url).next(t); e.Event != "hello" {
		t.Errorf("after Up again: %+v", e)
	}
}

// Close (shutdown) ends every stream and refuses new ones.
func TestCloseEndsStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.hub.Up()
	s := open(t, f.url)
	s.next(t)
	f.hub.Close()
	s.waitEnded(t)
	if s := open(t, f.url); s.resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d", s.resp.StatusCode)
	}
}

// A subscriber that does not keep up is closed when its buffer is full; the
// others get every event.
func TestSlowSubscriberIsDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Buffer: 2})
	f.hub.Up()
	slow, ok := f.hub.subscribe() // never read
	if !ok {
		t.Fatal("subscribe refused")
	}
	fast := open(t, f.url)
	fast.next(t)
	eventually(t, "two subscribers", func() bool { return testutil.ToFloat64(f.hub.subscribers) == 2 })
	for rev := 1; rev <= 3; rev++ {
		notify(f.hub, revision.ChannelCatalog, `{"revision":`+strconv.Itoa(rev)+`}`)
		if e := fast.nextEvent(t); e.Data != `{"revision":`+strconv.Itoa(rev)+`}` {
			t.Fatalf("fast subscriber got %+v", e)
		}
	}
	select {
	case <-slow.done:
		if slow.why != reasonSlow {
			t.Errorf("closed because %q", slow.why)
		}
	default:
		t.Fatal("the slow subscriber is still open")
	}
	if n := testutil.ToFloat64(f.hub.subscribers); n != 1 {
		t.Errorf("subscribers %v, want 1", n)
	}
	f.hub.unsubscribe(slow) // the handler's deferred call: no double count
	if n := testutil.ToFloat64(f.hub.subscribers); n != 1 {
		t.Errorf("subscribers after unsubscribe %v, want 1", n)
	}
}

// Other channels (mcpbox_activity) and malformed payloads publish nothing.
func TestIgnoredNotifications(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.hub.Up()
	s := open(t, f.url)
	s.next(t)
	notify(f.hub, revision.ChannelActivity, `{"seq":7}`)
	notify(f.hub, revision.ChannelCatalog, `not json`)
	notify(f.hub, revision.ChannelSecrets, `{"server_id":"nope"}`)
	s.quiet(t, 100*time.Millisecond)
	for _, typ := range []string{"catalog_changed", "policy_changed", "secrets_changed"} {
		if got := testutil.ToFloat64(f.hub.published.WithLabelValues(typ)); got != 0 {
			t.Errorf("published %s = %v", typ, got)
		}
	}
}

// A failure reading the revisions answers 500 internal, not a stream.
func TestRevisionsUnreadable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.hub.Up()
	f.revs.fail.Store(true)
	s := open(t, f.url)
	body, _ := io.ReadAll(s.resp.Body)
	if s.resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), `"code":"internal"`) ||
		strings.Contains(string(body), "database down") {
		t.Errorf("%d %s", s.resp.StatusCode, body)
	}
	eventually(t, "no subscriber left", func() bool { return testutil.ToFloat64(f.hub.subscribers) == 0 })
}

// Listen feeds the hub from the event channels plus extra ones.
func TestListenOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	opts := f.hub.Listen(revision.ChannelActivity)
	want := []string{"mcpbox_catalog", "mcpbox_policy", "mcpbox_secrets", "mcpbox_activity"}
	if diff := cmp.Diff(want, opts.Channels); diff != "" {
		t.Errorf("channels mismatch (-want +got):\n%s", diff)
	}
	opts.OnUp()
	s := open(t, f.url)
	s.next(t)
	opts.OnNotify(db.Notification{Channel: revision.ChannelPolicy, Payload: `{"revision":1}`})
	if e := s.nextEvent(t); e.Event != "policy_changed" {
		t.Errorf("%+v", e)
	}
	opts.OnLost(errors.New("gone"))
	s.waitEnded(t)
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, channel, payload string
		want                   proto.Event
		err                    string
	}{
		{"catalog", "mcpbox_catalog", `{"revision":42}`, proto.Event{Type: proto.EventCatalogChanged, Revision: 42}, ""},
		{"policy with unknown field", "mcpbox_policy", `{"revision":3,"x":1}`, proto.Event{Type: proto.EventPolicyChanged, Revision: 3}, ""},
		{"secrets", "mcpbox_secrets", `{"server_id":"` + serverID + `"}`, proto.Event{Type: proto.EventSecretsChanged, ServerID: serverID}, ""},
		{"activity", "mcpbox_activity", `{"seq":1}`, proto.Event{}, "not an event channel"},
		{"missing revision", "mcpbox_catalog", `{}`, proto.Event{}, "not a positive integer"},
		{"negative revision", "mcpbox_policy", `{"revision":-1}`, proto.Event{}, "not a positive integer"},
		{"fractional revision", "mcpbox_catalog", `{"revision":1.5}`, proto.Event{}, "NOTIFY mcpbox_catalog"},
		{"uppercase uuid", "mcpbox_secrets", `{"server_id":"` + strings.ToUpper(serverID) + `"}`, proto.Event{}, "not a lowercase UUID"},
		{"not json", "mcpbox_secrets", `server`, proto.Event{}, "NOTIFY mcpbox_secrets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.channel, tc.payload)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// An accepted payload always frames and parses back to the same event.
func FuzzParse(f *testing.F) {
	for _, ch := range append(Channels(), "mcpbox_activity") {
		f.Add(ch, `{"revision":1}`)
		f.Add(ch, `{"server_id":"`+serverID+`"}`)
		f.Add(ch, `{"revision":9223372036854775807}`)
		f.Add(ch, `{"revision":"1"}`)
		f.Add(ch, `[]`)
	}
	f.Fuzz(func(t *testing.T, channel, payload string) {
		ev, err := Parse(channel, payload)
		if err != nil {
			return
		}
		data, err := ev.Data()
		if err != nil {
			t.Fatalf("accepted event does not marshal: %v", err)
		}
		back, err := proto.ParseEvent(string(ev.Type), data)
		if err != nil || back != ev {
			t.Fatalf("round trip %+v → %s → %+v, %v", ev, data, back, err)
		}
	})
}
