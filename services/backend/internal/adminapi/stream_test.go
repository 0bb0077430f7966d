package adminapi_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// sseEvent is one server-sent event.
type sseEvent struct{ name, id, data string }

// openStream opens GET /activity/stream and returns its events as they
// arrive; the stream closes when the test ends.
func openStream(t *testing.T, b *backend, header ...string) <-chan sseEvent {
	t.Helper()
	return openStreamAt(t, b, "/api/v1/activity/stream", header...)
}

// openStreamAt opens the stream at path (with its query).
func openStreamAt(t *testing.T, b *backend, path string, header ...string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.srv.Client().Do(req) //nolint:bodyclose // the reader goroutine closes it
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 64)
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
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == ": ping":
				out <- sseEvent{name: "ping"}
			}
		}
	}()
	return out
}

// nextEvent waits for an event other than a ping, at most d.
func nextEvent(t *testing.T, events <-chan sseEvent, d time.Duration) sseEvent {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			if ev.name != "ping" {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event within %s", d)
			return sseEvent{}
		}
	}
}

// BE-86: a new audit row reaches the stream within 1 s; reconnecting with
// Last-Event-ID replays the missed rows; a revoked session receives
// auth_expired.
func TestBE86_ActivityStream(t *testing.T) {
	t.Parallel()
	b := newBackend(t, func(o *options) { o.streamPing, o.streamRecheck = 100*time.Millisecond, 200*time.Millisecond })
	b.setup(t)
	tok := b.login(t)
	events := openStream(t, b, bearer(tok)...)
	start := time.Now()
	if r := b.call(t, http.MethodPost, "/api/v1/settings/onboarding-complete", nil, bearer(tok)...); r.status != http.StatusOK {
		t.Fatalf("onboarding-complete: %d %s", r.status, r.raw)
	}
	ev := nextEvent(t, events, time.Second)
	if ev.name != "activity" || ev.id == "" || !strings.Contains(ev.data, `"action":"settings.update"`) {
		t.Fatalf("event %+v", ev)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("delivered after %s", el)
	}

	// Rows written while no stream was open come back on reconnect.
	b.sql(t, "INSERT INTO activity_log (action, message) VALUES ('system.note', 'missed one'), ('system.note', 'missed two')", nil)
	resumed := openStream(t, b, append(bearer(tok), "Last-Event-ID", ev.id)...)
	for _, want := range []string{"missed one", "missed two"} {
		if got := nextEvent(t, resumed, time.Second); got.name != "activity" || !strings.Contains(got.data, want) {
			t.Fatalf("replay: %+v, want %q", got, want)
		}
	}

	// A revoked session is told so and the stream ends.
	other := b.login(t)
	revoked := openStream(t, b, bearer(other)...)
	if r := b.call(t, http.MethodPost, "/api/v1/auth/logout", nil, bearer(other)...); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.status)
	}
	// The logout's own audit row may come first; auth_expired must follow.
	for got := nextEvent(t, revoked, 2*time.Second); got.name != "auth_expired"; got = nextEvent(t, revoked, 2*time.Second) {
		if got.name != "activity" {
			t.Fatalf("after logout: %+v", got)
		}
	}
	select {
	case ev, ok := <-revoked:
		for ok && ev.name == "ping" {
			ev, ok = <-revoked
		}
		if ok {
			t.Fatalf("the stream went on after auth_expired: %+v", ev)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the stream did not end after auth_expired")
	}
	wantError(t, b.call(t, http.MethodGet, "/api/v1/activity/stream", nil), http.StatusUnauthorized, proto.CodeUnauthenticated)
	r := b.call(t, http.MethodGet, "/api/v1/activity/stream?types=video", nil, bearer(tok)...)
	if r.status != http.StatusBadRequest || r.err.Field != "types" {
		t.Errorf("types=video: %d %s", r.status, r.raw)
	}
}

// A batch of execution records (one NOTIFY mcpbox_executions) reaches the
// stream as execution events, oldest first, filtered by server_id; the
// types filter leaves them out when not asked for.
func TestActivityStreamExecutionEvents(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.setup(t)
	tok := b.login(t)
	serverA, serverB := "6f9619ff-8b86-d011-b42d-00c04fc964ff", "7f9619ff-8b86-d011-b42d-00c04fc964ff"
	all := openStream(t, b, bearer(tok)...)
	onlyA := openStreamAt(t, b, "/api/v1/activity/stream?server_id="+serverA, bearer(tok)...)
	activityOnly := openStreamAt(t, b, "/api/v1/activity/stream?types=activity", bearer(tok)...)
	b.sql(t, `WITH rows AS (
		INSERT INTO execution_records (server_id, exposed_name, success, duration_ms, caller_email)
		VALUES ($1, 'weather__forecast', true, 12, 'ann@example.com'), ($2, 'mail__send', false, 40, NULL)
		RETURNING 1)
		SELECT pg_notify('mcpbox_executions', json_build_object('count', (SELECT count(*) FROM rows))::text)`,
		nil, serverA, serverB)
	first, second := nextEvent(t, all, 2*time.Second), nextEvent(t, all, 2*time.Second)
	if first.name != "execution" || !strings.Contains(first.data, `"exposed_name":"weather__forecast"`) ||
		!strings.Contains(first.data, `"success":true`) || !strings.Contains(first.data, `"duration_ms":12`) ||
		!strings.Contains(first.data, `"caller_email":"ann@example.com"`) || first.id != "" {
		t.Fatalf("first event %+v", first)
	}
	if second.name != "execution" || !strings.Contains(second.data, `"exposed_name":"mail__send"`) {
		t.Fatalf("second event %+v", second)
	}
	if got := nextEvent(t, onlyA, 2*time.Second); !strings.Contains(got.data, "weather__forecast") {
		t.Fatalf("server filter: %+v", got)
	}
	// An audit row after the records: the activity-only stream's first
	// event is that row, not an execution.
	if r := b.call(t, http.MethodPost, "/api/v1/settings/onboarding-complete", nil, bearer(tok)...); r.status != http.StatusOK {
		t.Fatalf("onboarding-complete: %d %s", r.status, r.raw)
	}
	if got := nextEvent(t, activityOnly, 2*time.Second); got.name != "activity" {
		t.Fatalf("types=activity got %+v", got)
	}
	// The server filter skipped mail__send: the next event of the
	// filtered stream is a later record of server A.
	b.sql(t, `WITH rows AS (
		INSERT INTO execution_records (server_id, exposed_name, success) VALUES ($1, 'weather__alerts', true) RETURNING 1)
		SELECT pg_notify('mcpbox_executions', json_build_object('count', (SELECT count(*) FROM rows))::text)`, nil, serverA)
	if got := nextEvent(t, onlyA, 2*time.Second); !strings.Contains(got.data, "weather__alerts") {
		t.Fatalf("server filter let another server's record through: %+v", got)
	}
}
