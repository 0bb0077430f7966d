package ratelimit_test

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/testclock"
	"github.com/mcpbox/mcpbox/services/edge/internal/ratelimit"
)

// EDGE-76 at the limiter level: burst+1 quick requests from one client IP,
// the last refused with a whole-second Retry-After; another IP unaffected.
func TestEDGE76_PerIPBurstThenRefused(t *testing.T) {
	t.Parallel()
	clock := testclock.New()
	b := ratelimit.NewBuckets(50, 100, clock.Now)
	for i := range 100 {
		if ok, _ := b.Allow("192.0.2.1"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, retry := b.Allow("192.0.2.1")
	if ok {
		t.Fatal("request burst+1 allowed")
	}
	if retry != 1 { // 1/50 s to the next token, rounded up
		t.Fatalf("retryAfter = %d, want 1", retry)
	}
	if ok, _ := b.Allow("192.0.2.2"); !ok {
		t.Fatal("another IP refused")
	}
	clock.Advance(time.Second) // 50 tokens back
	for i := range 50 {
		if ok, _ := b.Allow("192.0.2.1"); !ok {
			t.Fatalf("request %d after refill refused", i+1)
		}
	}
	if ok, _ := b.Allow("192.0.2.1"); ok {
		t.Fatal("request beyond the refill allowed")
	}
}

// EDGE-77 at the limiter level: the subject bucket is keyed by subject
// alone, so callers from different IPs share it; two subjects do not.
func TestEDGE77_SubjectBucketSharedPerKey(t *testing.T) {
	t.Parallel()
	clock := testclock.New()
	b := ratelimit.NewBuckets(10, 40, clock.Now)
	const subA, subB = "https://idp.example\x00alice", "https://idp.example\x00bob"
	allowed := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 2 { // two callers (IPs) with the same subject
		wg.Go(func() {
			for range 30 {
				ok, _ := b.Allow(subA)
				mu.Lock()
				if ok {
					allowed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 40 {
		t.Fatalf("subject A allowed %d of 60 from two callers, want the shared burst 40", allowed)
	}
	for i := range 40 {
		if ok, _ := b.Allow(subB); !ok {
			t.Fatalf("subject B request %d refused", i+1)
		}
	}
}

func TestBucketsRetryAfterRoundsUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rps     float64
		advance []time.Duration // after the refusal, each followed by a check
		want    []int           // retryAfter after each advance; 0 = allowed
	}{
		{"one per 4s", 0.25, []time.Duration{0, time.Second, 2500 * time.Millisecond, 500 * time.Millisecond}, []int{4, 3, 1, 0}},
		{"three per second", 3, []time.Duration{0, 300 * time.Millisecond, 40 * time.Millisecond}, []int{1, 1, 0}},
		{"one per 90s", 1.0 / 90, []time.Duration{0, 89500 * time.Millisecond}, []int{90, 1}},
		{"zero rate is capped", 0, []time.Duration{0, time.Hour}, []int{3600, 3600}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := testclock.New()
			b := ratelimit.NewBuckets(tc.rps, 1, clock.Now)
			if ok, _ := b.Allow("k"); !ok {
				t.Fatal("first request refused")
			}
			for i, d := range tc.advance {
				clock.Advance(d)
				ok, retry := b.Allow("k")
				switch {
				case tc.want[i] == 0 && !ok:
					t.Fatalf("step %d: refused with retryAfter %d, want allowed", i, retry)
				case tc.want[i] != 0 && (ok || retry != tc.want[i]):
					t.Fatalf("step %d: ok=%v retryAfter=%d, want refused with %d", i, ok, retry, tc.want[i])
				}
			}
		})
	}
}

func TestBucketsBurstBelowOneRaised(t *testing.T) {
	t.Parallel()
	b := ratelimit.NewBuckets(1, 0, testclock.New().Now)
	if ok, _ := b.Allow("k"); !ok {
		t.Fatal("burst 0 refused the first request; want it raised to 1")
	}
}

func TestBucketsLRUBound(t *testing.T) {
	t.Parallel()
	clock := testclock.New()
	b := ratelimit.NewBucketsBounded(1, 1, clock.Now, ratelimit.Bound{MaxKeys: 3, Shards: 1, Idle: time.Hour})
	for _, k := range []string{"a", "b", "c"} {
		b.Allow(k) // empties each bucket
	}
	b.Allow("a") // a is now the most recently used; b the least
	b.Allow("d") // evicts b
	if got := b.Len(); got != 3 {
		t.Fatalf("Len = %d, want 3", got)
	}
	if ok, _ := b.Allow("a"); ok {
		t.Fatal("a lost its state, but it was recently used")
	}
	if ok, _ := b.Allow("b"); !ok { // evicted: starts with a full bucket (and evicts c)
		t.Fatal("b was not evicted")
	}
	if ok, _ := b.Allow("d"); ok {
		t.Fatal("d lost its state")
	}
	if got := b.Len(); got != 3 {
		t.Fatalf("Len = %d, want 3", got)
	}
}

func TestBucketsIdleEviction(t *testing.T) {
	t.Parallel()
	clock := testclock.New()
	b := ratelimit.NewBucketsBounded(1, 1, clock.Now, ratelimit.Bound{MaxKeys: 100, Shards: 1, Idle: 10 * time.Minute})
	b.Allow("a")
	clock.Advance(10*time.Minute - time.Nanosecond)
	b.Allow("b")
	if got := b.Len(); got != 2 {
		t.Fatalf("Len = %d before the idle limit, want 2", got)
	}
	clock.Advance(time.Nanosecond) // a untouched for exactly 10 min
	b.Allow("b")
	if got := b.Len(); got != 1 {
		t.Fatalf("Len = %d after a was idle 10 min, want 1", got)
	}
}

// The production bound: however many keys arrive, at most 100 000 are held.
func TestBucketsDefaultBound(t *testing.T) {
	t.Parallel()
	if got := ratelimit.DefaultBound(); got.MaxKeys != 100_000 || got.Idle != 10*time.Minute {
		t.Fatalf("default bound %+v, want 100 000 keys and 10 min", got)
	}
	b := ratelimit.NewBuckets(50, 100, testclock.New().Now)
	for i := range 105_000 {
		b.Allow("2001:db8::" + strconv.FormatInt(int64(i), 16))
	}
	if got := b.Len(); got > 100_000 || got < 90_000 {
		t.Fatalf("Len = %d after 105 000 keys, want at most 100 000 (and near it)", got)
	}
}

func TestBucketsConcurrent(t *testing.T) {
	t.Parallel()
	clock := testclock.New()
	b := ratelimit.NewBucketsBounded(1, 100, clock.Now, ratelimit.Bound{MaxKeys: 64, Shards: 4, Idle: time.Minute})
	var shared atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 500 {
				if ok, _ := b.Allow("shared"); ok {
					shared.Add(1)
				}
				b.Allow(fmt.Sprintf("g%d-%d", g, i%100)) // churn through the bound
				if i%50 == 0 {
					clock.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	// 16 goroutines advance 10 ms each: 160 ms at 1/s adds no whole token.
	if got := shared.Load(); got != 100 {
		t.Fatalf("shared key allowed %d times, want the burst 100", got)
	}
	if got := b.Len(); got > 64 {
		t.Fatalf("Len = %d, bound is 64", got)
	}
}
