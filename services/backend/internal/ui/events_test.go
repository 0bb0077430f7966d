package ui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// sseEvent is one server-sent event; comments arrive as name "comment",
// the retry field as name "retry".
type sseEvent struct{ name, data string }

// openEvents opens GET /ui/events with the browser's cookies and returns
// its events as they arrive; the channel closes when the stream ends.
func openEvents(t *testing.T, br *browser) (<-chan sseEvent, http.Header) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, br.b.srv.URL+"/ui/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := br.client.Do(req) //nolint:bodyclose // the reader goroutine closes it
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		t.Fatalf("events: %d", resp.StatusCode)
	}
	out := make(chan sseEvent, 256)
	go func() {
		defer close(out)
		defer func() { _ = resp.Body.Close() }()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				out <- sseEvent{name: "comment", data: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "retry: "):
				out <- sseEvent{name: "retry", data: strings.TrimPrefix(line, "retry: ")}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out, resp.Header
}

// waitFor returns the first event named name within d, failing on the
// stream's end; events of other names are passed to seen.
func waitFor(t *testing.T, events <-chan sseEvent, name string, d time.Duration, seen func(sseEvent)) sseEvent {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended while waiting for %s", name)
			}
			if ev.name == name {
				return ev
			}
			if seen != nil {
				seen(ev)
			}
		case <-deadline:
			t.Fatalf("no %s event within %s", name, d)
		}
	}
}

// noUserContent fails when an event's data is anything but identifiers,
// counts and fixed words.
func noUserContent(t *testing.T, ev sseEvent) {
	t.Helper()
	if ev.name == "comment" || ev.name == "retry" {
		return
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
		t.Errorf("%s data %q: %v", ev.name, ev.data, err)
		return
	}
	allowed := map[string]bool{
		"kind": true, "server_id": true, "tool_id": true, "pending": true, "state": true,
		"request_id": true, "operation": true, "done": true, "total": true,
	}
	for k := range m {
		if !allowed[k] {
			t.Errorf("%s carries %q", ev.name, k)
		}
	}
	if strings.Contains(ev.data, "UI6-private") {
		t.Errorf("%s leaks user content: %s", ev.name, ev.data)
	}
}

// UI-6, UI-11, UI-12 (below the browser): the event stream says hello and
// the pending count on connect, then notifies (identifiers only) of
// approvals, audit rows, server changes, settings, executions and this
// session's progress, beats every heartbeat, and tells a tab whose session
// was signed out that it ended.
func TestUI11_EventStream(t *testing.T) {
	t.Parallel()
	b := newBackend(t, func(o *options) { o.heartbeat, o.recheck = 50*time.Millisecond, time.Hour })
	br := b.browser(t, "192.0.2.90")
	br.setup(t, "strict")
	events, header := openEvents(t, br)
	if header.Get("Content-Type") != "text/event-stream" || header.Get("Cache-Control") != "no-store" || header.Get("X-Accel-Buffering") != "no" {
		t.Errorf("headers %v", header)
	}
	check := func(ev sseEvent) { noUserContent(t, ev) }
	if ev := <-events; ev.name != "retry" || ev.data != "3000" {
		t.Fatalf("first %+v", ev)
	}
	if ev := <-events; ev.name != "hello" || ev.data != "{}" {
		t.Fatalf("second %+v", ev)
	}
	if ev := <-events; ev.name != "approvals" || ev.data != `{"pending":0}` {
		t.Fatalf("third %+v", ev)
	}
	waitFor(t, events, "comment", 2*time.Second, check)

	// A new pending item and its audit row: the count, then the row.
	server := uuid.New()
	b.sql(t, `INSERT INTO servers (id, name) VALUES ($1, 'weather')`, server)
	b.sql(t, `INSERT INTO package_requests (package, status) VALUES ('acme/lib1', 'pending')`)
	notifyAudit(t, b, "package.request", "UI6-private message", &server)
	if ev := waitFor(t, events, "approvals", 3*time.Second, check); ev.data != `{"pending":1}` {
		t.Errorf("approvals %s", ev.data)
	}
	notifyAudit(t, b, "server.start", "UI6-private started", &server)
	if ev := waitFor(t, events, "servers", 3*time.Second, check); ev.data != `{"server_id":"`+server.String()+`"}` {
		t.Errorf("servers %s", ev.data)
	}
	// A settings change: its audit row and a settings event.
	if _, err := b.policy.Patch(t.Context(), "admin:admin", "", map[string]json.RawMessage{"log_retention_days": json.RawMessage("45")}, nil); err != nil {
		t.Fatal(err)
	}
	var audit sseEvent
	waitFor(t, events, "settings", 3*time.Second, func(ev sseEvent) {
		noUserContent(t, ev)
		if ev.name == "activity" {
			audit = ev
		}
	})
	if audit.data != `{"kind":"audit","server_id":null,"tool_id":null}` {
		t.Errorf("the settings row's activity event: %q", audit.data)
	}
	// An execution record.
	b.sql(t, `WITH rows AS (
		INSERT INTO execution_records (server_id, exposed_name, success) VALUES ($1, 'weather__forecast', true) RETURNING 1)
		SELECT pg_notify('mcpbox_executions', json_build_object('count', (SELECT count(*) FROM rows))::text)`, server)
	for ev := waitFor(t, events, "activity", 3*time.Second, check); ev.data != `{"kind":"execution","server_id":null,"tool_id":null}`; ev = waitFor(t, events, "activity", 3*time.Second, check) {
		noUserContent(t, ev)
	}
	// Progress of this session's operation only.
	mine := sessionID(t, b)
	if err := activity.PublishProgress(t.Context(), b.store, activity.ProgressEvent{Session: uuid.New(), RequestID: "other-request", Operation: activity.OpImport, Done: 1, Total: 9}); err != nil {
		t.Fatal(err)
	}
	if err := activity.PublishProgress(t.Context(), b.store, activity.ProgressEvent{Session: mine, RequestID: "my-request", Operation: activity.OpImport, Done: 3, Total: 40}); err != nil {
		t.Fatal(err)
	}
	if ev := waitFor(t, events, "progress", 3*time.Second, check); ev.data != `{"request_id":"my-request","operation":"import","done":3,"total":40}` {
		t.Errorf("progress %s", ev.data)
	}

	// UI-6: signing this session out elsewhere ends the stream with a
	// session event at once (the auth.* row triggers the re-check; the
	// timer here is an hour).
	other := b.browser(t, "192.0.2.91")
	other.login(t)
	otherEvents, _ := openEvents(t, other)
	waitFor(t, otherEvents, "hello", 3*time.Second, nil)
	if p := other.post(t, "/logout", url.Values{"_csrf": {other.token(t)}}); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	if ev := waitFor(t, otherEvents, "session", 3*time.Second, nil); ev.data != `{"state":"ended"}` {
		t.Errorf("session %s", ev.data)
	}
	select {
	case ev, ok := <-otherEvents:
		for ok && ev.name != "session" && ev.name != "" {
			ev, ok = <-otherEvents
		}
		if ok {
			t.Errorf("the stream went on after the session ended: %+v", ev)
		}
	case <-time.After(3 * time.Second):
		t.Error("the stream did not end after the session ended")
	}
	// The first browser's stream is still open: another event reaches it.
	notifyAudit(t, b, "server.stop", "UI6-private stopped", &server)
	waitFor(t, events, "servers", 3*time.Second, check)
}

// The session is re-checked on a timer too: a session revoked without an
// audit row (an expiry) ends its streams within the recheck interval.
func TestEventStreamRecheck(t *testing.T) {
	t.Parallel()
	b := newBackend(t, func(o *options) { o.recheck = 100 * time.Millisecond })
	br := b.browser(t, "192.0.2.92")
	br.setup(t, "strict")
	events, _ := openEvents(t, br)
	waitFor(t, events, "hello", 3*time.Second, nil)
	b.sql(t, "UPDATE admin_sessions SET expires_at = now() - interval '1 second'")
	if ev := waitFor(t, events, "session", 3*time.Second, nil); ev.data != `{"state":"ended"}` {
		t.Errorf("session %s", ev.data)
	}
}

// A session holds at most 8 streams: a ninth closes the oldest.
func TestEventStreamsPerSession(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	br := b.browser(t, "192.0.2.93")
	br.setup(t, "strict")
	var streams []<-chan sseEvent
	for range 9 {
		s, _ := openEvents(t, br)
		waitFor(t, s, "hello", 3*time.Second, nil)
		streams = append(streams, s)
	}
	deadline := time.After(3 * time.Second)
	for closed := false; !closed; {
		select {
		case _, ok := <-streams[0]:
			closed = !ok
		case <-deadline:
			t.Fatal("the oldest stream is still open")
		}
	}
	// The others are open: each receives the next event.
	notifyAudit(t, b, "server.start", "a row", nil)
	for i, s := range streams[1:] {
		if ev := waitFor(t, s, "activity", 3*time.Second, nil); ev.name != "activity" {
			t.Errorf("stream %d: %+v", i+1, ev)
		}
	}
}

// notifyAudit writes an audit row and NOTIFYs it, as activity.Write does.
func notifyAudit(t *testing.T, b *backend, action, message string, server *uuid.UUID) {
	t.Helper()
	b.sql(t, `WITH r AS (INSERT INTO activity_log (category, action, message, actor, server_id)
		VALUES ('audit', $1, $2, 'admin:admin', $3) RETURNING seq)
		SELECT pg_notify('mcpbox_activity', json_build_object('seq', (SELECT seq FROM r))::text)`, action, message, server)
}

// sessionID is the newest session of the admin.
func sessionID(t *testing.T, b *backend) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	dbtest.QueryRow(t, b.url, "SELECT id FROM admin_sessions ORDER BY created_at DESC LIMIT 1", []any{&id})
	return id
}
