package db_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
)

const waitFor = 10 * time.Second

// recorder collects a listener's callbacks.
type recorder struct {
	notes chan db.Notification
	ups   chan struct{}
	lost  chan error
	calls atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{notes: make(chan db.Notification, 64), ups: make(chan struct{}, 8), lost: make(chan error, 8)}
}

func (r *recorder) options(channels ...string) db.ListenOptions {
	return db.ListenOptions{
		Channels:   channels,
		OnNotify:   func(n db.Notification) { r.calls.Add(1); r.notes <- n },
		OnUp:       func() { r.calls.Add(1); r.ups <- struct{}{} },
		OnLost:     func(err error) { r.calls.Add(1); r.lost <- err },
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("no %s within %s", what, waitFor)
		var zero T
		return zero
	}
}

func notify(t *testing.T, st *db.Store, channel, payload string) {
	t.Helper()
	if err := db.ExecForTest(t.Context(), st, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
		t.Fatal(err)
	}
}

func listen(t *testing.T, st *db.Store, opts db.ListenOptions) *db.Listener {
	t.Helper()
	l, err := st.Listen(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// The listener delivers the notifications of its channels, in order, and
// none of the others; OnUp has run before Listen returns.
func TestListener_DeliversItsChannels(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	rec := newRecorder()
	l := listen(t, st, rec.options("mcpbox_catalog", "mcpbox_policy"))
	select {
	case <-rec.ups:
	default:
		t.Fatal("OnUp did not run inside Listen")
	}
	if !l.Up() || l.Ready(t.Context()) != nil || l.PID() == 0 {
		t.Fatalf("after Listen: up %v, ready %v, pid %d", l.Up(), l.Ready(t.Context()), l.PID())
	}
	notify(t, st, "mcpbox_other", `{"revision":9}`)
	notify(t, st, "mcpbox_catalog", `{"revision":1}`)
	notify(t, st, "mcpbox_policy", `{"revision":2}`)
	notify(t, st, "mcpbox_catalog", `{"revision":3}`)
	var got []db.Notification
	for range 3 {
		got = append(got, receive(t, rec.notes, "notification"))
	}
	want := []db.Notification{
		{Channel: "mcpbox_catalog", Payload: `{"revision":1}`},
		{Channel: "mcpbox_policy", Payload: `{"revision":2}`},
		{Channel: "mcpbox_catalog", Payload: `{"revision":3}`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notifications mismatch (-want +got):\n%s", diff)
	}
	select {
	case n := <-rec.notes:
		t.Errorf("unexpected notification %+v", n)
	case <-time.After(100 * time.Millisecond):
	}
}

// A notification issued in a transaction that rolls back never arrives.
func TestListener_RolledBackNotifyIsNotDelivered(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	rec := newRecorder()
	listen(t, st, rec.options("mcpbox_catalog"))
	err := db.ExecForTest(t.Context(), st, "BEGIN; SELECT pg_notify('mcpbox_catalog', 'rolled back'); ROLLBACK;")
	if err != nil {
		t.Fatal(err)
	}
	notify(t, st, "mcpbox_catalog", "committed")
	if n := receive(t, rec.notes, "notification"); n.Payload != "committed" {
		t.Errorf("got %q, want only the committed notification", n.Payload)
	}
}

// An idle connection is pinged and stays usable: notifications still
// arrive after several ping intervals.
func TestListener_PingKeepsTheConnection(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	rec := newRecorder()
	opts := rec.options("mcpbox_catalog")
	opts.PingInterval = 20 * time.Millisecond
	l := listen(t, st, opts)
	pid := l.PID()
	time.Sleep(150 * time.Millisecond)
	notify(t, st, "mcpbox_catalog", "after pings")
	if n := receive(t, rec.notes, "notification"); n.Payload != "after pings" {
		t.Errorf("payload %q", n.Payload)
	}
	select {
	case err := <-rec.lost:
		t.Fatalf("connection lost while idle: %v", err)
	default:
	}
	if l.PID() != pid {
		t.Errorf("pid changed from %d to %d without a loss", pid, l.PID())
	}
}

// The connection killed by pg_terminate_backend: OnLost reports it, Ready
// names the loss, and the listener reconnects on a new backend, LISTENs
// again (OnUp) and delivers what is sent afterwards.
func TestListener_ReconnectsAfterTermination(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	rec := newRecorder()
	l := listen(t, st, rec.options("mcpbox_catalog"))
	<-rec.ups
	first := l.PID()
	var terminated bool
	if err := db.ScanForTest(t.Context(), st, "SELECT pg_terminate_backend($1)", []any{int32(first)}, &terminated); err != nil || !terminated {
		t.Fatalf("terminate the LISTEN backend %d: %v %v", first, terminated, err)
	}
	if err := receive(t, rec.lost, "lost signal"); err == nil {
		t.Error("OnLost got a nil error")
	}
	receive(t, rec.ups, "reconnection")
	if !l.Up() || l.Ready(t.Context()) != nil {
		t.Fatalf("after reconnecting: up %v, ready %v", l.Up(), l.Ready(t.Context()))
	}
	if l.PID() == first || l.PID() == 0 {
		t.Errorf("pid after reconnecting %d (was %d)", l.PID(), first)
	}
	notify(t, st, "mcpbox_catalog", "after reconnect")
	if n := receive(t, rec.notes, "notification"); n.Payload != "after reconnect" {
		t.Errorf("payload %q", n.Payload)
	}
}

// While the database refuses connections the listener stays down, Ready
// says so, and it retries with backoff until the database admits it again.
func TestListener_RetriesUntilTheDatabaseIsBack(t *testing.T) {
	t.Parallel()
	dsn := dbtest.URL(t)
	st, err := db.Open(t.Context(), dsn, db.WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	// The admin connection sits in the server's postgres database: a
	// database cannot close itself to connections.
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	setAllow := func(allow bool) {
		t.Helper()
		sql := "ALTER DATABASE " + pgx.Identifier{name}.Sanitize() + " WITH ALLOW_CONNECTIONS " +
			map[bool]string{true: "true", false: "false"}[allow]
		if _, err := admin.Exec(context.WithoutCancel(t.Context()), sql); err != nil {
			t.Error(err)
		}
	}
	rec := newRecorder()
	l := listen(t, st, rec.options("mcpbox_catalog"))
	<-rec.ups
	setAllow(false)
	t.Cleanup(func() { setAllow(true) })
	if _, err := admin.Exec(t.Context(), "SELECT pg_terminate_backend($1)", int32(l.PID())); err != nil {
		t.Fatal(err)
	}
	_ = receive(t, rec.lost, "lost signal")
	time.Sleep(300 * time.Millisecond) // several attempts at 20–100 ms
	if err := l.Ready(t.Context()); err == nil || !strings.Contains(err.Error(), "LISTEN connection lost, reconnecting") || l.Up() {
		t.Fatalf("while refused: up %v, ready %v", l.Up(), err)
	}
	select {
	case <-rec.ups:
		t.Fatal("reconnected while the database refuses connections")
	default:
	}
	setAllow(true)
	receive(t, rec.ups, "reconnection")
	notify(t, st, "mcpbox_catalog", "back")
	if n := receive(t, rec.notes, "notification"); n.Payload != "back" {
		t.Errorf("payload %q", n.Payload)
	}
}

// Close ends the connection: Ready reports ErrListenerClosed, no callback
// runs afterwards, and the backend is gone from pg_stat_activity.
func TestListener_Close(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	rec := newRecorder()
	l, err := st.Listen(t.Context(), rec.options("mcpbox_catalog"))
	if err != nil {
		t.Fatal(err)
	}
	pid := l.PID()
	l.Close()
	calls := rec.calls.Load()
	if err := l.Ready(t.Context()); !errors.Is(err, db.ErrListenerClosed) || l.Up() {
		t.Fatalf("after Close: up %v, ready %v", l.Up(), err)
	}
	notify(t, st, "mcpbox_catalog", "after close")
	deadline := time.Now().Add(waitFor)
	for {
		var n int
		if err := db.ScanForTest(t.Context(), st, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", []any{int32(pid)}, &n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backend %d still connected after Close", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := rec.calls.Load(); got != calls {
		t.Errorf("%d callbacks after Close", got-calls)
	}
}

// Listen refuses an empty channel list and reports a first connection that
// cannot be made.
func TestListener_Refusals(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	if _, err := st.Listen(t.Context(), db.ListenOptions{}); err == nil || !strings.Contains(err.Error(), "no channel") {
		t.Errorf("no channels: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := st.Listen(ctx, db.ListenOptions{Channels: []string{"mcpbox_catalog"}}); err == nil ||
		!strings.Contains(err.Error(), "open the LISTEN connection") {
		t.Errorf("cancelled context: %v", err)
	}
}

// When the LISTEN session ends, the pool's sessions are presumed gone with
// it (a server restart ends them all): every one of them is terminated here
// while idle for less than pgx's one-second ping threshold, and the very
// next queries still succeed because the loss reset the pool.
func TestListener_LossResetsThePool(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	st, err := db.Open(t.Context(), url, db.WithMaxConns(8))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	rec := newRecorder()
	listen(t, st, rec.options("mcpbox_catalog"))
	<-rec.ups
	// Four pool sessions at once, so the pool keeps four idle ones.
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- db.ExecForTest(t.Context(), st, "SELECT pg_sleep(0.05)") }()
	}
	for range 4 {
		if err := receive(t, errs, "warm-up query"); err != nil {
			t.Fatal(err)
		}
	}
	admin, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(context.WithoutCancel(t.Context())) }()
	var killed int
	if err := admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&killed); err != nil || killed < 5 {
		t.Fatalf("terminated %d sessions (want the 4 pooled and the listener's): %v", killed, err)
	}
	_ = receive(t, rec.lost, "lost signal")
	for i := range 4 {
		if err := db.ExecForTest(t.Context(), st, "SELECT 1"); err != nil {
			t.Fatalf("query %d after the loss: %v", i, err)
		}
	}
}
