package activity

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
)

// Broker wakes the live activity streams of this replica (backend.md
// §14.2) when a NOTIFY mcpbox_activity arrives, from any replica. A wake-up
// carries nothing: each stream reads the rows after the last seq it sent,
// so a burst of notifications costs one query per stream, and a stream never
// misses a row between two wake-ups.
type Broker struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

// NewBroker returns an empty broker.
func NewBroker() *Broker { return &Broker{subs: map[chan struct{}]struct{}{}} }

// Notify wakes every stream.
func (b *Broker) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default: // already awake
		}
	}
}

// Subscribe returns a channel that receives after each Notify, and the
// function that ends the subscription.
func (b *Broker) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
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
