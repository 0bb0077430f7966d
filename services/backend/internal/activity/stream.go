package activity

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
)

// Broker fans the notifications of this replica's LISTEN connection out to
// its live activity streams (backend.md §14.2), whichever replica sent
// them. An activity or execution wake-up carries nothing: each stream reads
// the rows after the last seq it sent, so a burst of notifications costs one
// query per stream, and a stream never misses a row between two wake-ups. A
// progress event is carried whole (it is never stored) and goes only to the
// streams of the session that started the operation.
type Broker struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// NewBroker returns an empty broker.
func NewBroker() *Broker { return &Broker{subs: map[*Subscription]struct{}{}} }

// ProgressBuffer is how many progress events wait for a stream before it
// counts as slow and is disconnected (§14.2: 256 events a stream).
const ProgressBuffer = 256

// Subscription is one stream's view of the broker.
type Subscription struct {
	session    uuid.UUID
	activity   chan struct{}
	executions chan struct{}
	progress   chan ProgressEvent
	slow       chan struct{}
	slowOnce   sync.Once
	stop       func()
}

// Activity receives after new activity rows may exist.
func (s *Subscription) Activity() <-chan struct{} { return s.activity }

// Executions receives after new execution records may exist.
func (s *Subscription) Executions() <-chan struct{} { return s.executions }

// Progress receives the progress events of the subscription's session.
func (s *Subscription) Progress() <-chan ProgressEvent { return s.progress }

// Slow is closed when the stream fell ProgressBuffer events behind.
func (s *Subscription) Slow() <-chan struct{} { return s.slow }

// Close ends the subscription.
func (s *Subscription) Close() { s.stop() }

// Subscribe starts a subscription for a stream of the given session.
func (b *Broker) Subscribe(session uuid.UUID) *Subscription {
	s := &Subscription{
		session: session, activity: make(chan struct{}, 1), executions: make(chan struct{}, 1),
		progress: make(chan ProgressEvent, ProgressBuffer), slow: make(chan struct{}),
	}
	s.stop = func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Notify wakes every stream for activity and executions: after a
// (re)connection of the LISTEN connection, when notifications may have been
// lost.
func (b *Broker) Notify() {
	b.each(func(s *Subscription) {
		wake(s.activity)
		wake(s.executions)
	})
}

// Handle routes one notification of the LISTEN connection: mcpbox_activity
// (a new row, or a progress event) and ExecutionsChannel; other channels are
// ignored.
func (b *Broker) Handle(n db.Notification) {
	switch n.Channel {
	case Channel:
		if ev, ok := parseProgress(n.Payload); ok {
			b.each(func(s *Subscription) {
				if s.session != ev.Session {
					return
				}
				select {
				case s.progress <- ev:
				default:
					s.slowOnce.Do(func() { close(s.slow) })
				}
			})
			return
		}
		b.each(func(s *Subscription) { wake(s.activity) })
	case ExecutionsChannel:
		b.each(func(s *Subscription) { wake(s.executions) })
	}
}

func (b *Broker) each(fn func(*Subscription)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		fn(s)
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // already awake
	}
}

// StreamFilter is the stream's query (category, level, server_id).
type StreamFilter struct {
	Category, Level string
	ServerID        *uuid.UUID
}

// Replay is the most rows a stream sends at once, a resume included.
const Replay = 1000

// After returns the rows after seq that match f, oldest first, at most
// Replay.
func After(ctx context.Context, store *db.Store, seq int64, f StreamFilter) ([]Row, error) {
	rows, err := store.ListActivityAfter(ctx, dbq.ListActivityAfterParams{
		AfterSeq: seq, Category: optional(f.Category), Level: optional(f.Level), ServerID: f.ServerID, MaxRows: Replay,
	})
	if err != nil {
		return nil, err
	}
	out := make([]Row, len(rows))
	for i, r := range rows {
		out[i] = Row(r)
	}
	return out, nil
}

// Validate names a bad stream filter value.
func (f StreamFilter) Validate() error {
	return Filter{Category: f.Category, Level: f.Level}.Validate()
}
