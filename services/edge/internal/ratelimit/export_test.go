package ratelimit

import "time"

// Bound sizes keyed state in tests: MaxKeys over Shards shards, entries idle
// for Idle evicted (Failures uses its window instead).
type Bound struct {
	MaxKeys, Shards int
	Idle            time.Duration
}

// NewBucketsBounded is NewBuckets with a test bound.
func NewBucketsBounded(rps float64, burst int, now func() time.Time, b Bound) *Buckets {
	return newBuckets(rps, burst, now, limits{maxKeys: b.MaxKeys, shards: b.Shards, idle: b.Idle})
}

// NewFailuresBounded is NewFailures with a test bound.
func NewFailuresBounded(perMinute int, now func() time.Time, b Bound) *Failures {
	return newFailures(perMinute, now, limits{maxKeys: b.MaxKeys, shards: b.Shards, idle: b.Idle})
}

// Len counts the keys the buckets hold.
func (b *Buckets) Len() int { return b.state.len() }

// Len counts the keys the failure counter holds.
func (f *Failures) Len() int { return f.state.len() }

// Keys counts the keys with open streams.
func (s *Streams) Keys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// DefaultBound is the production bound.
func DefaultBound() Bound {
	l := defaultLimits()
	return Bound{MaxKeys: l.maxKeys, Shards: l.shards, Idle: l.idle}
}
