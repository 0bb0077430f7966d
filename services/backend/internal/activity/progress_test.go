package activity_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// A progress event published through PostgreSQL reaches the broker of
// another connection (another replica) and only the subscriptions of its
// session; a row's {"seq"} wakes every subscription instead.
func TestProgressReachesOnlyItsSession(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	ctx := context.Background()
	store, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	b := activity.NewBroker()
	up := make(chan struct{}, 1)
	l, err := store.Listen(ctx, db.ListenOptions{
		Channels: []string{activity.Channel, activity.ExecutionsChannel}, OnNotify: b.Handle,
		OnUp: func() { up <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	<-up
	mine, other := uuid.New(), uuid.New()
	sub, subOther := b.Subscribe(mine), b.Subscribe(other)
	defer sub.Close()
	defer subOther.Close()
	want := activity.ProgressEvent{Session: mine, RequestID: "req-7", Operation: activity.OpImport, Done: 3, Total: 30}
	if err := activity.PublishProgress(ctx, store, want); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-sub.Progress():
		if got != want {
			t.Fatalf("event = %+v, want %+v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no progress event")
	}
	// The other session's subscription saw nothing, and no wake-up.
	dbtest.Exec(t, url, "SELECT pg_notify('mcpbox_activity', '{\"seq\": 1}')")
	select {
	case <-subOther.Activity():
	case <-time.After(5 * time.Second):
		t.Fatal("a row did not wake the other subscription")
	}
	select {
	case ev := <-subOther.Progress():
		t.Fatalf("other session received %+v", ev)
	default:
	}
	dbtest.Exec(t, url, "SELECT pg_notify('mcpbox_executions', '{\"count\": 1}')")
	select {
	case <-sub.Executions():
	case <-time.After(5 * time.Second):
		t.Fatal("an execution batch did not wake the subscription")
	}
}

// A subscription that falls ProgressBuffer events behind is marked slow,
// and garbage or session-less payloads are ignored.
func TestSlowSubscription(t *testing.T) {
	t.Parallel()
	b := activity.NewBroker()
	s := uuid.New()
	sub := b.Subscribe(s)
	defer sub.Close()
	for _, p := range []string{`{"progress": 1}`, `{"progress": {"done": 1}}`, `not json "progress"`} {
		b.Handle(db.Notification{Channel: activity.Channel, Payload: p})
	}
	select {
	case ev := <-sub.Progress():
		t.Fatalf("garbage became %+v", ev)
	default:
	}
	payload := `{"progress": {"session": "` + s.String() + `", "request_id": "r", "operation": "import", "done": 1, "total": 2}}`
	for range activity.ProgressBuffer {
		b.Handle(db.Notification{Channel: activity.Channel, Payload: payload})
	}
	select {
	case <-sub.Slow():
		t.Fatal("slow before the buffer was full")
	default:
	}
	b.Handle(db.Notification{Channel: activity.Channel, Payload: payload})
	select {
	case <-sub.Slow():
	default:
		t.Fatal("not slow after overflowing the buffer")
	}
	// A closed subscription receives nothing more (the garbage above woke
	// it for activity, as any non-progress payload does: drain that first).
	select {
	case <-sub.Activity():
	default:
	}
	sub.Close()
	b.Handle(db.Notification{Channel: activity.Channel, Payload: `{"seq": 9}`})
	select {
	case <-sub.Activity():
		t.Fatal("closed subscription woken")
	default:
	}
}

// FuzzHandle: no payload makes the broker panic or deliver an event
// without a session.
func FuzzHandle(f *testing.F) {
	f.Add(`{"seq": 1}`)
	f.Add(`{"progress": {"session": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "done": 1, "total": 2}}`)
	f.Add(`{"progress": null}`)
	f.Fuzz(func(t *testing.T, payload string) {
		b := activity.NewBroker()
		sub := b.Subscribe(uuid.Nil)
		defer sub.Close()
		b.Handle(db.Notification{Channel: activity.Channel, Payload: payload})
		select {
		case ev := <-sub.Progress():
			t.Fatalf("event without a session delivered: %+v", ev)
		default:
		}
	})
}
