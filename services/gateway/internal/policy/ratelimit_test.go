package policy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/testclock"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/policy"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

type clock = testclock.Clock

func newClock() *clock { return testclock.New() }

// spend makes n requests and returns how many passed.
func spend(l *policy.Limiter, c caller.Caller, rpm, n int) int {
	passed := 0
	for range n {
		if l.Allow(c, rpm) == nil {
			passed++
		}
	}
	return passed
}

// GW-46: at 60 rpm a remote caller gets 429 with Retry-After ≥ 1 and -32081
// with data.retry_after_s once the burst is spent; another caller is
// unaffected; the local listener is not limited.
func TestGW46_RateLimitPerCaller(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	clk := newClock()
	l := policy.NewLimiter(reg, 0, clk.Now)
	alice, bob := caller.Remote("alice@x.com", "sub-a"), caller.Remote("bob@x.com", "")

	// The burst at 60 rpm is max(10, 60/5) = 12.
	if got := spend(l, alice, 60, 12); got != 12 {
		t.Fatalf("burst: %d of 12 passed", got)
	}
	ref := l.Allow(alice, 60)
	if ref == nil {
		t.Fatal("11th request within the same instant passed")
	}
	w := httptest.NewRecorder()
	ref.Write(w, json.RawMessage(`3`))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Errorf("status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	var body rpcerr.Body
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	var data rpcerr.RateLimitData
	if err := json.Unmarshal(body.Error.Data, &data); err != nil || data != (rpcerr.RateLimitData{RetryAfterS: 1, LimitRPM: 60}) {
		t.Errorf("data %s (%v)", body.Error.Data, err)
	}
	if body.Error.Code != -32081 || body.Error.Message != "Rate limit exceeded: 60 requests per minute per user. Retry after 1 s." {
		t.Errorf("error %+v", body.Error)
	}

	if got := spend(l, bob, 60, 12); got != 12 {
		t.Errorf("another caller: %d of 12 passed", got)
	}
	if got := spend(l, caller.Local(), 60, 5000); got != 5000 {
		t.Errorf("local listener limited: %d of 5000 passed", got)
	}

	clk.Advance(time.Second)
	if l.Allow(alice, 60) != nil {
		t.Error("a token did not come back after 1 s")
	}
	if l.Allow(alice, 60) == nil {
		t.Error("two tokens came back after 1 s")
	}
	if got := value(t, reg, "mcpbox_gateway_rate_limited_total", "listener", "remote"); got != 2 {
		t.Errorf("rate_limited_total{listener=remote} = %v", got)
	}
	if got := value(t, reg, "mcpbox_gateway_rate_limited_total", "listener", "local"); got != 0 {
		t.Errorf("rate_limited_total{listener=local} = %v", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

// GW-47: a change of mcp_rate_limit_rpm applies to existing buckets without
// restart: both the refill rate and the burst follow the policy.
func TestGW47_RateChangeAppliesToExistingBuckets(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := policy.NewLimiter(prometheus.NewRegistry(), 0, clk.Now)
	u := caller.Remote("u@x.com", "")
	spend(l, u, 60, 12)
	if l.Allow(u, 60) == nil {
		t.Fatal("burst not spent")
	}
	// Raised to 600 rpm (10 per second), seen by the next request: 200 ms
	// later two tokens are back, where 60 rpm would have given 0.2.
	if ref := l.Allow(u, 600); ref == nil || ref.Message != "Rate limit exceeded: 600 requests per minute per user. Retry after 1 s." {
		t.Fatalf("at the change: %+v", ref)
	}
	clk.Advance(200 * time.Millisecond)
	if got := spend(l, u, 600, 3); got != 2 {
		t.Errorf("after raising to 600 rpm: %d of 3 passed, want 2", got)
	}
	// Lowered to 10 rpm: one token per 6 s.
	ref := l.Allow(u, 10)
	if ref == nil || ref.Message != "Rate limit exceeded: 10 requests per minute per user. Retry after 6 s." {
		t.Fatalf("after lowering to 10 rpm: %+v", ref)
	}
	clk.Advance(6 * time.Second)
	if got := spend(l, u, 10, 2); got != 1 {
		t.Errorf("6 s at 10 rpm: %d passed, want 1", got)
	}
	// The burst follows too: max(10, rpm/5) = 200 at 1000 rpm once refilled
	// after the change.
	l.Allow(u, 1000)
	clk.Advance(time.Minute)
	if got := spend(l, u, 1000, 250); got != 200 {
		t.Errorf("burst at 1000 rpm: %d passed, want 200", got)
	}
	// Lowering the burst caps the stored tokens at the new one.
	clk.Advance(time.Minute)
	if got := spend(l, u, 100, 50); got != 20 {
		t.Errorf("burst after lowering to 100 rpm: %d passed, want 20", got)
	}
}

// The local listener is limited when MCPBOX_GATEWAY_LOCAL_RPM is a number,
// with the same bucket rules, counted under listener="local".
func TestLocalRateLimit(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	l := policy.NewLimiter(reg, 100, newClock().Now)
	if got := spend(l, caller.Local(), 5000, 30); got != 20 {
		t.Errorf("local at 100 rpm: %d passed, want 20 (the policy's rpm must not apply)", got)
	}
	ref := l.Allow(caller.Local(), 5000)
	if ref == nil || !strings.HasPrefix(ref.Message, "Rate limit exceeded: 100 requests per minute") {
		t.Errorf("refusal %+v", ref)
	}
	if got := value(t, reg, "mcpbox_gateway_rate_limited_total", "listener", "local"); got != 11 {
		t.Errorf("rate_limited_total{listener=local} = %v", got)
	}
}

// A policy rate outside 10–10000 never makes the remote listener
// unlimited: it is kept within the policy's bounds.
func TestRemoteRateIsBounded(t *testing.T) {
	t.Parallel()
	l := policy.NewLimiter(prometheus.NewRegistry(), 0, newClock().Now)
	if got := spend(l, caller.Remote("", "s"), 0, 50); got != 10 {
		t.Errorf("rpm 0: %d passed, want the burst of 10 rpm (10)", got)
	}
	if got := spend(l, caller.Remote("", "t"), 1_000_000, 3000); got != 2000 {
		t.Errorf("rpm 1e6: %d passed, want the burst of 10000 rpm (2000)", got)
	}
}

// Limited callers without a subject share the key "anonymous".
func TestAnonymousCallersShareABucket(t *testing.T) {
	t.Parallel()
	l := policy.NewLimiter(prometheus.NewRegistry(), 0, newClock().Now)
	if got := spend(l, caller.Remote("", ""), 60, 5) + spend(l, caller.Remote("", ""), 60, 10); got != 12 {
		t.Errorf("anonymous callers: %d passed, want the one burst of 12", got)
	}
}

// Buckets idle for 10 minutes are dropped; at most MaxBuckets are kept, the
// least recently used going first.
func TestBucketBounds(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := policy.NewLimiter(prometheus.NewRegistry(), 0, clk.Now)
	old := caller.Remote("", "old")
	spend(l, old, 60, 12)
	clk.Advance(policy.BucketIdle - time.Second)
	spend(l, caller.Remote("", "recent"), 60, 1)
	if n := l.Buckets(); n != 2 {
		t.Fatalf("buckets = %d", n)
	}
	clk.Advance(time.Second)
	spend(l, caller.Remote("", "recent"), 60, 1)
	if n := l.Buckets(); n != 1 {
		t.Errorf("idle bucket kept: %d buckets", n)
	}

	for i := range policy.MaxBuckets + 1 {
		l.Allow(caller.Remote("", fmt.Sprint("k", i)), 60)
	}
	if n := l.Buckets(); n != policy.MaxBuckets {
		t.Errorf("buckets = %d, want %d", n, policy.MaxBuckets)
	}
	// k0 was evicted: it starts again with a full burst.
	if got := spend(l, caller.Remote("", "k0"), 60, 12); got != 12 {
		t.Errorf("evicted bucket: %d passed", got)
	}
}

// Concurrent requests of one caller never pass more than the burst.
func TestConcurrentRequestsRespectTheBurst(t *testing.T) {
	t.Parallel()
	l := policy.NewLimiter(prometheus.NewRegistry(), 0, newClock().Now)
	var passed sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 8 {
		passed.Go(func() {
			got := spend(l, caller.Remote("", "same"), 120, 20)
			mu.Lock()
			n += got
			mu.Unlock()
		})
	}
	passed.Wait()
	if n != 24 {
		t.Errorf("%d passed, want the burst of 120 rpm (24)", n)
	}
}
