// Package ratelimit holds the edge's limiters (edge.md §13): token buckets
// per client IP and per subject, the rolling-minute auth-failure lockout per
// IP, open-stream counters per subject and the in-flight cap. Every limiter
// that depends on time takes an injected clock, so tests are exact.
//
// Keyed state is bounded: at most 100 000 keys per limiter, least recently
// used first out, and entries untouched for 10 minutes (Buckets) or holding
// no failure younger than the window (Failures) are dropped. Keys are spread
// over shards by a seeded hash, each with its own mutex and an equal share of
// the bound, so the LRU order is per shard (an approximation of a global LRU
// that keeps every call O(1) and contention low). Idle entries are evicted
// lazily, a few per call; the key bound holds at all times.
//
// Decisions where the spec is silent:
//   - Evicting a bucket forgets its state, so a key that returns after
//     eviction starts with a full bucket; with the default rates a bucket
//     refills within seconds, long before it can be evicted as idle.
//   - A failure counts while it is younger than 60 s. Only the newest
//     perMinute failures of a key are kept, which is exactly what the rule
//     "locked while at least perMinute failures lie in the last minute" needs;
//     a failure recorded while locked therefore extends the lockout.
//   - Retry-After values are capped at one hour (reached only with a rate
//     below one token per hour).
//   - Streams and Inflight hold entries only while something is open, so
//     they need no eviction: their size is bounded by open exchanges.
package ratelimit

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// maxRetryAfter caps every Retry-After value, in seconds.
const maxRetryAfter = 3600

// Buckets is a keyed token-bucket limiter, safe for concurrent use.
type Buckets struct {
	limit rate.Limit
	burst int
	now   func() time.Time
	state *keyed[*rate.Limiter]
}

// NewBuckets returns buckets of rps and burst; now may be nil (time.Now).
// A burst below 1 is raised to 1.
func NewBuckets(rps float64, burst int, now func() time.Time) *Buckets {
	return newBuckets(rps, burst, now, defaultLimits())
}

func newBuckets(rps float64, burst int, now func() time.Time, l limits) *Buckets {
	if now == nil {
		now = time.Now
	}
	return &Buckets{
		limit: rate.Limit(rps),
		burst: max(burst, 1),
		now:   now,
		state: newKeyed[*rate.Limiter](l),
	}
}

// Allow takes a token for key. When refused, retryAfter is the whole
// seconds (≥ 1) until a token is available.
func (b *Buckets) Allow(key string) (ok bool, retryAfter int) {
	now := b.now()
	sh := b.state.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	lim := sh.touch(key, now)
	if *lim == nil {
		*lim = rate.NewLimiter(b.limit, b.burst)
	}
	if (*lim).AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - (*lim).TokensAt(now)
	return false, ceilSeconds(missing / float64(b.limit))
}

// ceilSeconds rounds secs up to whole seconds within [1, maxRetryAfter];
// NaN and infinities (a zero rate) give the cap.
func ceilSeconds(secs float64) int {
	if math.IsNaN(secs) || secs > maxRetryAfter {
		return maxRetryAfter
	}
	return max(int(math.Ceil(secs)), 1)
}
