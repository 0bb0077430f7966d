package ratelimit

import (
	"sync"
	"sync/atomic"
)

// Streams counts open streams per key, safe for concurrent use. A key's
// entry exists only while it has an open stream.
type Streams struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

// NewStreams allows maxStreams concurrent streams per key.
func NewStreams(maxStreams int) *Streams {
	return &Streams{max: maxStreams, open: make(map[string]int)}
}

// Acquire opens a stream for key; release must be called exactly once when
// ok (calling it again does nothing).
func (s *Streams) Acquire(key string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[key] >= s.max {
		return nil, false
	}
	s.open[key]++
	return once(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.open[key] <= 1 {
			delete(s.open, key)
			return
		}
		s.open[key]--
	}), true
}

// Open returns the number of open streams of key.
func (s *Streams) Open(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[key]
}

// Inflight is the per-replica cap on proxied exchanges, safe for concurrent
// use.
type Inflight struct {
	max int64
	n   atomic.Int64
}

// NewInflight allows maxExchanges concurrent exchanges.
func NewInflight(maxExchanges int) *Inflight {
	return &Inflight{max: int64(maxExchanges)}
}

// Acquire takes a slot without waiting; release as for Streams.
func (i *Inflight) Acquire() (release func(), ok bool) {
	for {
		cur := i.n.Load()
		if cur >= i.max {
			return nil, false
		}
		if i.n.CompareAndSwap(cur, cur+1) {
			return once(func() { i.n.Add(-1) }), true
		}
	}
}

// InUse returns the number of slots taken.
func (i *Inflight) InUse() int { return int(i.n.Load()) }

// once wraps f so that only its first call runs.
func once(f func()) func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			f()
		}
	}
}
