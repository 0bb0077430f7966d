package ratelimit

import (
	"time"
)

// failureWindow is the rolling window of the auth-failure lockout.
const failureWindow = time.Minute

// Failures counts failed token checks per key over a rolling minute, safe
// for concurrent use.
type Failures struct {
	perMinute int
	now       func() time.Time
	base      time.Time // timestamps are kept as offsets from base
	state     *keyed[failureRing]
}

// NewFailures locks a key out once it has perMinute failures within the
// last minute. now may be nil (time.Now); perMinute below 1 is raised to 1.
func NewFailures(perMinute int, now func() time.Time) *Failures {
	return newFailures(perMinute, now, defaultLimits())
}

func newFailures(perMinute int, now func() time.Time, l limits) *Failures {
	if now == nil {
		now = time.Now
	}
	// An entry whose newest failure has left the window holds nothing, so
	// idleness is measured against the window, not the buckets' 10 minutes.
	l.idle = failureWindow
	return &Failures{perMinute: max(perMinute, 1), now: now, base: now(), state: newKeyed[failureRing](l)}
}

// Locked reports whether key is locked out, and for how many whole seconds
// (≥ 1) the lockout lasts: until its oldest counted failure leaves the window.
func (f *Failures) Locked(key string) (locked bool, retryAfter int) {
	at := f.now().Sub(f.base)
	sh := f.state.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.peek(key)
	if !ok {
		return false, 0
	}
	r.prune(at - failureWindow)
	if r.n == 0 {
		sh.remove(key)
		return false, 0
	}
	if r.n < f.perMinute {
		return false, 0
	}
	left := r.oldest() + failureWindow - at
	return true, min(ceilSeconds(left.Seconds()), int(failureWindow/time.Second))
}

// Record counts one failure for key.
func (f *Failures) Record(key string) {
	now := f.now()
	at := now.Sub(f.base)
	sh := f.state.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.touch(key, now)
	r.prune(at - failureWindow)
	r.push(at, f.perMinute)
}

// failureRing holds a key's newest failure times, oldest first, in a ring
// that grows by doubling up to the limit, so a key with few failures costs
// little memory.
type failureRing struct {
	t    []time.Duration
	head int // index of the oldest
	n    int // live entries
}

// prune drops failures at or before cutoff (a failure counts while it is
// younger than the window).
func (r *failureRing) prune(cutoff time.Duration) {
	for r.n > 0 && r.t[r.head] <= cutoff {
		r.head = (r.head + 1) % len(r.t)
		r.n--
	}
}

// push appends at, dropping the oldest failure once limit are held.
func (r *failureRing) push(at time.Duration, limit int) {
	switch {
	case r.n == limit: // full, and len(r.t) == limit: overwrite the oldest
		r.t[r.head] = at
		r.head = (r.head + 1) % len(r.t)
		return
	case r.n == len(r.t): // no free slot below the limit: grow
		grown := make([]time.Duration, min(max(2*len(r.t), 4), limit))
		for i := range r.n {
			grown[i] = r.t[(r.head+i)%len(r.t)]
		}
		r.t, r.head = grown, 0
	}
	r.t[(r.head+r.n)%len(r.t)] = at
	r.n++
}

func (r *failureRing) oldest() time.Duration { return r.t[r.head] }
