package ratelimit

import (
	"container/list"
	"hash/maphash"
	"sync"
	"time"
)

// limits sizes keyed state (edge.md §13: LRU of 100 000 keys, idle entries
// evicted after 10 min). Tests shrink it through export_test.go.
type limits struct {
	maxKeys int           // bound over all shards
	shards  int           // number of independently locked shards
	idle    time.Duration // entries untouched this long are evicted
}

func defaultLimits() limits {
	return limits{maxKeys: 100_000, shards: 32, idle: 10 * time.Minute}
}

// evictPerCall is how many idle entries one call may drop: more than the one
// entry a call can add, so idle entries drain under any traffic while each
// call stays O(1).
const evictPerCall = 2

// keyed is a bounded map from string keys to values of type V: a fixed set
// of shards, each an LRU list under its own mutex.
type keyed[V any] struct {
	seed   maphash.Seed
	shards []shard[V]
}

type shard[V any] struct {
	mu   sync.Mutex
	max  int
	idle time.Duration
	m    map[string]*list.Element
	ll   list.List // of *entry[V] (the only type stored); front is the most recently touched
}

type entry[V any] struct {
	key  string
	last time.Time // last touch
	v    V
}

func newKeyed[V any](l limits) *keyed[V] {
	n := max(l.shards, 1)
	per := max(l.maxKeys/n, 1)
	k := &keyed[V]{seed: maphash.MakeSeed(), shards: make([]shard[V], n)}
	for i := range k.shards {
		k.shards[i].max = per
		k.shards[i].idle = l.idle
		k.shards[i].m = make(map[string]*list.Element)
	}
	return k
}

// shard returns key's shard; the caller locks it around touch, peek and
// remove and while it uses the value.
func (k *keyed[V]) shard(key string) *shard[V] {
	if len(k.shards) == 1 {
		return &k.shards[0]
	}
	return &k.shards[maphash.String(k.seed, key)%uint64(len(k.shards))]
}

// len counts entries over all shards.
func (k *keyed[V]) len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// touch returns key's value, creating a zero value when absent, and marks it
// most recently used at now. It evicts up to evictPerCall idle entries and,
// when the shard is full, the least recently used one.
func (s *shard[V]) touch(key string, now time.Time) *V {
	if el, ok := s.m[key]; ok {
		e := el.Value.(*entry[V])
		e.last = now
		s.ll.MoveToFront(el)
		s.evictIdle(now)
		return &e.v
	}
	s.evictIdle(now)
	if len(s.m) >= s.max {
		s.removeElement(s.ll.Back())
	}
	e := &entry[V]{key: key, last: now}
	s.m[key] = s.ll.PushFront(e)
	return &e.v
}

// peek returns key's value without creating it or changing its recency.
func (s *shard[V]) peek(key string) (*V, bool) {
	el, ok := s.m[key]
	if !ok {
		return nil, false
	}
	return &el.Value.(*entry[V]).v, true
}

func (s *shard[V]) remove(key string) {
	if el, ok := s.m[key]; ok {
		s.removeElement(el)
	}
}

func (s *shard[V]) evictIdle(now time.Time) {
	for range evictPerCall {
		el := s.ll.Back()
		if el == nil || now.Sub(el.Value.(*entry[V]).last) < s.idle {
			return
		}
		s.removeElement(el)
	}
}

func (s *shard[V]) removeElement(el *list.Element) {
	e := s.ll.Remove(el).(*entry[V])
	delete(s.m, e.key)
}
