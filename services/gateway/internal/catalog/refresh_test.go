package catalog

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// A catalog_changed event brings the new revision without waiting for a
// poll (the poll interval is an hour here): the catalog level of acceptance
// item 54, whose tools/list half belongs to the registrar.
func TestEventTriggersFetch(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1, tool("w__a"))
	var snapshots atomic.Int32
	h := start(t, src, testOptions(), func(c *Cache) {
		c.OnSnapshot(func(_, _ *Snapshot) { snapshots.Add(1) })
	})
	eventually(t, "revision 1", revisionIs(h.c, 1))
	src.setCatalog(2, tool("w__a"), tool("w__b"))
	src.emit(t, proto.Event{Type: proto.EventCatalogChanged, Revision: 2})
	eventually(t, "revision 2", revisionIs(h.c, 2))
	if _, ok := h.c.Current().Lookup("w__b"); !ok {
		t.Error("w__b missing after the event")
	}
	if got := h.refreshes(t, TriggerEvent, resultChanged); got != 1 {
		t.Errorf("refreshes{event,changed} = %v, want 1", got)
	}
	if got := h.refreshes(t, TriggerPoll, resultChanged) + h.refreshes(t, TriggerPoll, resultUnchanged); got != 0 {
		t.Errorf("%v poll fetches, want none", got)
	}
	if n := snapshots.Load(); n != 2 {
		t.Errorf("OnSnapshot ran %d times, want 2", n)
	}
	// An event for a revision the snapshot already has fetches nothing.
	before, _, _ := src.calls()
	src.emit(t, proto.Event{Type: proto.EventCatalogChanged, Revision: 2})
	src.emit(t, proto.Event{Type: proto.EventCatalogChanged, Revision: 1})
	if after, _, _ := src.calls(); after != before {
		t.Errorf("%d catalog fetches for old revisions, want 0", after-before)
	}
}

// With the stream open but silent, the poll brings the change.
func TestPollWhenStreamBlocked(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1, tool("w__a"))
	src.block = true
	opts := testOptions()
	opts.Poll = 10 * time.Millisecond
	h := start(t, src, opts, nil)
	eventually(t, "revision 1", revisionIs(h.c, 1))
	src.setCatalog(5, tool("w__a"), tool("w__new"))
	eventually(t, "revision 5", revisionIs(h.c, 5))
	if got := h.refreshes(t, TriggerPoll, resultChanged); got != 1 {
		t.Errorf("refreshes{poll,changed} = %v, want 1", got)
	}
	if got := h.value(t, "mcpbox_gateway_events_connected"); got != 0 {
		t.Errorf("events_connected = %v with a silent stream, want 0", got)
	}
}

// Conditional fetches get 304 when nothing changed; the snapshot is kept,
// subscribers are not called, and the age restarts.
func TestNotModifiedIsUnchanged(t *testing.T) {
	t.Parallel()
	src := newFakeSource(3, tool("w__a"))
	src.block = true
	clock := newFakeClock()
	opts := testOptions()
	opts.Poll = 5 * time.Millisecond
	opts.Now = clock.Now
	var snapshots atomic.Int32
	h := start(t, src, opts, func(c *Cache) {
		c.OnSnapshot(func(_, _ *Snapshot) { snapshots.Add(1) })
	})
	eventually(t, "revision 3", revisionIs(h.c, 3))
	first := h.c.Current()
	clock.Advance(time.Minute)
	eventually(t, "two 304 polls", func() bool { return h.refreshes(t, TriggerPoll, resultUnchanged) >= 2 })
	if h.c.Current() != first {
		t.Error("a 304 replaced the snapshot")
	}
	if n := snapshots.Load(); n != 1 {
		t.Errorf("OnSnapshot ran %d times, want 1", n)
	}
	src.mu.Lock()
	etags := append([]string(nil), src.etags...)
	src.mu.Unlock()
	if etags[0] != "" || etags[len(etags)-1] != `"3"` {
		t.Errorf("If-None-Match values %q, want none first, then \"3\"", etags)
	}
	if age, _ := h.c.Stale(); age != 0 {
		t.Errorf("catalog age %v after a 304, want 0", age)
	}
}

// Ten events during one fetch cause one trailing fetch, never two at once.
func TestCoalescedFetches(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1, tool("w__a"))
	h := start(t, src, testOptions(), nil)
	// Startup fetch, then the fetch that follows the stream's connect.
	eventually(t, "the reconnect fetch", func() bool { return h.refreshes(t, TriggerEvent, resultUnchanged) == 1 })
	before, _, _ := src.calls()

	gate := make(chan struct{})
	src.mu.Lock()
	src.gate = gate
	src.mu.Unlock()
	src.setCatalog(2, tool("w__a"))
	src.emit(t, proto.Event{Type: proto.EventCatalogChanged, Revision: 2})
	<-src.entered // the fetch of revision 2 is in flight
	src.setCatalog(11, tool("w__a"), tool("w__b"))
	for rev := int64(3); rev <= 11; rev++ {
		src.emit(t, proto.Event{Type: proto.EventCatalogChanged, Revision: rev})
	}
	close(gate)
	eventually(t, "revision 11", revisionIs(h.c, 11))

	after, _, _ := src.calls()
	if n := after - before; n > 2 {
		t.Errorf("%d fetches for 10 events, want at most 2", n)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.maxInFlight != 1 {
		t.Errorf("%d catalog fetches ran at once, want 1", src.maxInFlight)
	}
}

// GW-55 at the catalog level: with the backend gone the last snapshot keeps
// serving; past the staleness limit CheckCatalog (what the call path turns
// into the "cannot confirm" text) and Ready (what /readyz reports) say so,
// and the first successful fetch clears it.
func TestGW55_BackendDownKeepsSnapshotUntilStale(t *testing.T) {
	t.Parallel()
	src := newFakeSource(4, tool("w__a"))
	clock := newFakeClock()
	opts := testOptions()
	opts.Poll = 5 * time.Millisecond
	opts.MaxStaleness = 10 * time.Minute
	opts.RequirePolicy = true
	opts.Now = clock.Now
	h := start(t, src, opts, nil)
	eventually(t, "ready", func() bool { return h.c.Ready() == nil })
	served := h.c.Current()

	src.setDown(true)
	eventually(t, "a failed poll", func() bool { return h.refreshes(t, TriggerPoll, resultError) >= 1 })
	clock.Advance(9 * time.Minute)
	if s, err := h.c.CheckCatalog(); err != nil || s != served {
		t.Fatalf("CheckCatalog at 9 min = %v, %v; want the last snapshot, no error", s, err)
	}
	clock.Advance(2 * time.Minute)
	s, err := h.c.CheckCatalog()
	var stale *StaleError
	if !errors.As(err, &stale) || stale.What != "catalog" || stale.Age < 10*time.Minute || s != served {
		t.Fatalf("CheckCatalog at 11 min = %v, %v; want the last snapshot and a catalog StaleError", s, err)
	}
	if _, ok := s.Lookup("w__a"); !ok {
		t.Error("the stale snapshot lost its entry")
	}
	readyErr := h.c.Ready()
	if !errors.As(readyErr, &stale) {
		t.Errorf("Ready() = %v, want a StaleError", readyErr)
	}
	if _, err := h.c.CheckPolicy(); !errors.As(err, &stale) || stale.What != "policy" {
		t.Errorf("CheckPolicy() = %v, want a policy StaleError", err)
	}
	if got := h.value(t, "mcpbox_gateway_catalog_age_seconds"); got < 600 {
		t.Errorf("catalog_age_seconds = %v, want ≥ 600", got)
	}

	src.setDown(false)
	eventually(t, "ready again", func() bool { return h.c.Ready() == nil })
	if h.c.Current() != served {
		t.Error("recovery with an unchanged catalog replaced the snapshot")
	}
}

// MaxStaleness 0 disables the limit.
func TestStalenessDisabled(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1)
	clock := newFakeClock()
	opts := testOptions()
	opts.Now = clock.Now
	opts.RequirePolicy = true
	h := start(t, src, opts, nil)
	eventually(t, "ready", func() bool { return h.c.Ready() == nil })
	src.setDown(true)
	clock.Advance(1000 * time.Hour)
	if err := h.c.Ready(); err != nil {
		t.Errorf("Ready() = %v with no staleness limit", err)
	}
}

// Before the first load nothing is ready; the first successful connect
// loads catalog and policy (what /readyz, the remote 503 and "still
// loading" of acceptance items 35, 42 and 56 rest on).
func TestNotReadyUntilFirstLoad(t *testing.T) {
	t.Parallel()
	src := newFakeSource(2, tool("w__a"))
	src.down = true
	opts := testOptions()
	opts.RequirePolicy = true
	opts.MaxStaleness = time.Hour
	h := start(t, src, opts, nil)
	eventually(t, "the failed startup fetch", func() bool { return h.refreshes(t, TriggerStartup, resultError) == 1 })
	err := h.c.Ready()
	if !errors.Is(err, ErrCatalogNotLoaded) || !errors.Is(err, ErrPolicyNotLoaded) {
		t.Errorf("Ready() = %v, want both not-loaded errors", err)
	}
	if s, err := h.c.CheckCatalog(); s != nil || !errors.Is(err, ErrCatalogNotLoaded) {
		t.Errorf("CheckCatalog() = %v, %v", s, err)
	}
	if _, ok := h.c.Policy(); ok {
		t.Error("Policy() reports a policy before any load")
	}
	src.setDown(false)
	eventually(t, "ready", func() bool { return h.c.Ready() == nil })
	if p, ok := h.c.Policy(); !ok || p.Revision != 1 {
		t.Errorf("Policy() = %+v, %v", p, ok)
	}
	if got := h.refreshes(t, TriggerEvent, resultChanged); got != 1 {
		t.Errorf("refreshes{event,changed} = %v, want 1 (the fetch after connecting)", got)
	}
}

// Without RequirePolicy (no remote listener) readiness ignores the policy.
func TestReadyWithoutPolicy(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1)
	src.polDown = true
	h := start(t, src, testOptions(), nil)
	eventually(t, "revision 1", revisionIs(h.c, 1))
	if _, ok := h.c.Policy(); ok {
		t.Fatal("a policy loaded from a source that fails")
	}
	if err := h.c.Ready(); err != nil {
		t.Errorf("Ready() = %v without RequirePolicy", err)
	}
}

// Every (re)connect resyncs and fetches; reconnects back off and the
// connected gauge follows the stream.
func TestReconnectResyncs(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1, tool("w__a"))
	src.failN = 3
	var resyncs atomic.Int32
	h := start(t, src, testOptions(), func(c *Cache) {
		c.OnResync(func() { resyncs.Add(1) })
	})
	eventually(t, "connected", func() bool { return h.value(t, "mcpbox_gateway_events_connected") == 1 })
	if _, _, events := src.calls(); events != 4 {
		t.Errorf("%d Events calls, want 3 failures and 1 success", events)
	}
	eventually(t, "the connect fetch", func() bool { return h.refreshes(t, TriggerEvent, resultUnchanged) == 1 })
	if n := resyncs.Load(); n != 1 {
		t.Errorf("%d resyncs after the first connect, want 1", n)
	}

	src.setCatalog(2, tool("w__a"))
	src.drop() // the backend restarts; revision 2 was never announced
	eventually(t, "revision 2 after the reconnect", revisionIs(h.c, 2))
	eventually(t, "connected again", func() bool { return h.value(t, "mcpbox_gateway_events_connected") == 1 })
	if n := resyncs.Load(); n != 2 {
		t.Errorf("%d resyncs after the reconnect, want 2", n)
	}
}

// WaitRevision fetches at once (trigger write) and returns when the
// snapshot has the revision and the registrar has applied it, or false
// after its bound.
func TestWaitRevision(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1, tool("w__a"))
	src.block = true // no events: only the write fetch can bring it
	var registered atomic.Int64
	h := start(t, src, testOptions(), func(c *Cache) {
		c.OnSnapshot(func(_, next *Snapshot) {
			time.Sleep(20 * time.Millisecond) // a slow registrar
			registered.Store(next.Revision())
		})
	})
	eventually(t, "revision 1", revisionIs(h.c, 1))

	src.setCatalog(3, tool("w__a"), tool("w__started"))
	if !h.c.WaitRevision(context.Background(), 3, 10*time.Second) {
		t.Fatal("WaitRevision(3) = false")
	}
	if got := registered.Load(); got != 3 {
		t.Errorf("WaitRevision returned before the registrar applied revision 3 (applied %d)", got)
	}
	if _, ok := h.c.Current().Lookup("w__started"); !ok {
		t.Error("w__started missing after WaitRevision")
	}
	if got := h.refreshes(t, TriggerWrite, resultChanged); got != 1 {
		t.Errorf("refreshes{write,changed} = %v, want 1", got)
	}

	before, _, _ := src.calls()
	if !h.c.WaitRevision(context.Background(), 2, time.Nanosecond) {
		t.Error("WaitRevision for a reached revision = false")
	}
	if after, _, _ := src.calls(); after != before {
		t.Error("WaitRevision for a reached revision fetched")
	}

	if h.c.WaitRevision(context.Background(), 99, 20*time.Millisecond) {
		t.Error("WaitRevision(99) = true; the backend is at 3")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if h.c.WaitRevision(ctx, 99, time.Hour) {
		t.Error("WaitRevision with a cancelled context = true")
	}
}

// Refresh fetches the catalog without an event.
func TestRefresh(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1, tool("w__a"))
	src.block = true
	h := start(t, src, testOptions(), nil)
	eventually(t, "revision 1", revisionIs(h.c, 1))
	src.setCatalog(2)
	h.c.Refresh()
	eventually(t, "revision 2", revisionIs(h.c, 2))
	if h.c.Current().Len() != 0 {
		t.Error("the revoked tool is still served")
	}
}
