package plans

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/testclock"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
)

var (
	serverA = uuid.MustParse("aaaaaaaa-0000-4000-8000-000000000001")
	serverB = uuid.MustParse("bbbbbbbb-0000-4000-8000-000000000002")
	toolA   = uuid.MustParse("aaaaaaaa-1111-4111-8111-000000000001")
	toolB   = uuid.MustParse("bbbbbbbb-1111-4111-8111-000000000002")
)

// hashOf is the pinned hash of a tool version in these tests.
func hashOf(tool uuid.UUID, version int) string {
	return "sha256:" + tool.String()[:8] + strings.Repeat("0", 55) + string(rune('0'+version%10))
}

// clock is a settable test clock.
type clock = testclock.Clock

func newClock() *clock { return testclock.New() }

// fetcher is a counting fake of the backend's plan endpoint.
type fetcher struct {
	calls     atomic.Int64
	expiresAt *time.Time
	// hash overrides the plan's hash when set.
	hash string
	err  error
}

func (f *fetcher) fetch(_ context.Context, tool uuid.UUID, version int) (proto.Plan, error) {
	f.calls.Add(1)
	if f.err != nil {
		return proto.Plan{}, f.err
	}
	server := serverA
	if tool == toolB {
		server = serverB
	}
	h := hashOf(tool, version)
	if f.hash != "" {
		h = f.hash
	}
	return proto.Plan{
		ToolID: tool.String(), ServerID: server.String(), Version: version, Hash: h,
		Secrets: map[string]string{"API_KEY": "s3cret-value"}, ExpiresAt: f.expiresAt,
	}, nil
}

// newTestCache returns a cache over f with its own registry and clock.
func newTestCache(f *fetcher, size int) (*Cache, *clock, *prometheus.Registry) {
	clk := newClock()
	reg := prometheus.NewRegistry()
	return New(f.fetch, size, reg, clk.Now), clk, reg
}

// get fetches the plan of (tool, version) with its right hash.
func get(t *testing.T, c *Cache, tool uuid.UUID, version int) proto.Plan {
	t.Helper()
	server := serverA
	if tool == toolB {
		server = serverB
	}
	p, err := c.Get(t.Context(), tool, server, version, hashOf(tool, version))
	if err != nil {
		t.Fatalf("Get %s v%d: %v", tool, version, err)
	}
	if p.Version != version || p.ToolID != tool.String() {
		t.Fatalf("Get %s v%d returned %s v%d", tool, version, p.ToolID, p.Version)
	}
	return p
}

func (c *Cache) counts() (hit, miss float64) {
	return testutil.ToFloat64(c.hit), testutil.ToFloat64(c.miss)
}

func TestHitsAndMisses(t *testing.T) {
	t.Parallel()
	f := &fetcher{}
	c, _, reg := newTestCache(f, 0)
	if n := testutil.CollectAndCount(reg, "mcpbox_gateway_plan_cache_requests_total"); n != 2 {
		t.Fatalf("%d series before any request, want hit and miss at zero", n)
	}
	p := get(t, c, toolA, 1)
	if p.Secrets["API_KEY"] != "s3cret-value" {
		t.Fatalf("plan %+v", p)
	}
	get(t, c, toolA, 1)
	get(t, c, toolA, 1)
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
	if hit, miss := c.counts(); hit != 2 || miss != 1 {
		t.Errorf("hit %v miss %v, want 2 and 1", hit, miss)
	}
	// Another hash of the same version is another key.
	if _, err := c.Get(t.Context(), toolA, serverA, 1, "sha256:other"); err == nil {
		t.Error("a plan was returned for a hash it does not have")
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestMaxAge(t *testing.T) {
	t.Parallel()
	f := &fetcher{}
	c, clk, _ := newTestCache(f, 0)
	get(t, c, toolA, 1)
	clk.Advance(MaxAge - time.Nanosecond)
	get(t, c, toolA, 1)
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d fetches before 10 min, want 1", n)
	}
	clk.Advance(time.Nanosecond)
	get(t, c, toolA, 1)
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d fetches at 10 min, want 2", n)
	}
}

func TestExpiresAt(t *testing.T) {
	t.Parallel()
	clkStart := newClock().Now()

	in5 := clkStart.Add(5 * time.Minute)
	f := &fetcher{expiresAt: &in5}
	c, clk, _ := newTestCache(f, 0)
	get(t, c, toolA, 1)
	clk.Advance(4*time.Minute - time.Nanosecond)
	get(t, c, toolA, 1)
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d fetches before expires_at - 60 s, want 1", n)
	}
	clk.Advance(time.Nanosecond)
	get(t, c, toolA, 1)
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d fetches at expires_at - 60 s, want 2", n)
	}

	// A plan expiring within the margin serves its call but is not kept.
	in30s := clkStart.Add(30 * time.Second)
	f2 := &fetcher{expiresAt: &in30s}
	c2, _, _ := newTestCache(f2, 0)
	get(t, c2, toolA, 1)
	get(t, c2, toolA, 1)
	if n := f2.calls.Load(); n != 2 || c2.Len() != 0 {
		t.Fatalf("%d fetches, %d cached; want 2 and 0", n, c2.Len())
	}
}

func TestDropServerAndDropAll(t *testing.T) {
	t.Parallel()
	f := &fetcher{}
	c, _, _ := newTestCache(f, 0)
	get(t, c, toolA, 1)
	get(t, c, toolB, 1)
	c.DropServer(serverA)
	get(t, c, toolA, 1) // refetched
	get(t, c, toolB, 1) // still cached
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("%d fetches after DropServer, want 3", n)
	}
	c.DropAll()
	if c.Len() != 0 {
		t.Fatalf("%d entries after DropAll", c.Len())
	}
	get(t, c, toolA, 1)
	get(t, c, toolB, 1)
	if n := f.calls.Load(); n != 5 {
		t.Fatalf("%d fetches after DropAll, want 5", n)
	}
}

func TestLRUEviction(t *testing.T) {
	t.Parallel()
	f := &fetcher{}
	c, _, _ := newTestCache(f, 2)
	get(t, c, toolA, 1)
	get(t, c, toolA, 2)
	get(t, c, toolA, 1) // v1 is now the most recent
	get(t, c, toolA, 3) // evicts v2
	if c.Len() != 2 {
		t.Fatalf("%d entries, want 2", c.Len())
	}
	before := f.calls.Load()
	get(t, c, toolA, 1)
	get(t, c, toolA, 3)
	if n := f.calls.Load() - before; n != 0 {
		t.Fatalf("%d fetches for the recent entries, want 0", n)
	}
	get(t, c, toolA, 2)
	if n := f.calls.Load() - before; n != 1 {
		t.Fatalf("%d fetches for the evicted entry, want 1", n)
	}
}

func TestHashMismatch(t *testing.T) {
	t.Parallel()
	f := &fetcher{hash: "sha256:" + strings.Repeat("f", 64)}
	c, _, _ := newTestCache(f, 0)
	want := hashOf(toolA, 1)
	for range 2 {
		_, err := c.Get(t.Context(), toolA, serverA, 1, want)
		var ie *IntegrityError
		if !errors.As(err, &ie) || ie.Want != want || ie.Got != f.hash || ie.ToolID != toolA || ie.Version != 1 {
			t.Fatalf("err = %v, want *IntegrityError", err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("the error shows a secret: %v", err)
		}
	}
	if n, l := f.calls.Load(), c.Len(); n != 2 || l != 0 {
		t.Fatalf("%d fetches, %d cached; a mismatching plan must not be kept", n, l)
	}
}

func TestErrorsNotCached(t *testing.T) {
	t.Parallel()
	f := &fetcher{err: errors.New("backend down")}
	c, _, _ := newTestCache(f, 0)
	for range 2 {
		if _, err := c.Get(t.Context(), toolA, serverA, 1, hashOf(toolA, 1)); err == nil || err.Error() != "backend down" {
			t.Fatalf("err = %v, want the fetcher's error unchanged", err)
		}
	}
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// gatedFetcher blocks every fetch until released.
type gatedFetcher struct {
	fetcher
	gate chan struct{}
}

func (g *gatedFetcher) fetch(ctx context.Context, tool uuid.UUID, version int) (proto.Plan, error) {
	<-g.gate
	return g.fetcher.fetch(ctx, tool, version)
}

// waitWaiters waits until n callers wait for the flight of k.
func waitWaiters(t *testing.T, c *Cache, k key, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		f := c.flights[k]
		got := 0
		if f != nil {
			got = f.waiters
		}
		c.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers wait, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDropDuringFetch: a fetch in flight when its server's plans are
// dropped answers its waiters but is not stored, and a caller after the
// drop starts its own fetch.
func TestDropDuringFetch(t *testing.T) {
	t.Parallel()
	g := &gatedFetcher{gate: make(chan struct{})}
	c := New(g.fetch, 0, nil, nil)
	k := key{tool: toolA, version: 1, hash: hashOf(toolA, 1)}
	first := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), toolA, serverA, 1, k.hash)
		first <- err
	}()
	waitWaiters(t, c, k, 1)
	c.DropServer(serverA)
	second := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), toolA, serverA, 1, k.hash)
		second <- err
	}()
	waitWaiters(t, c, k, 1) // the new flight
	close(g.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	c.fetching.Wait()
	if n := g.calls.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: the caller after the drop must not join the old fetch", n)
	}
	if c.Len() != 1 {
		t.Fatalf("%d entries, want the second fetch's only", c.Len())
	}
}

// TestCallerGivesUp: a waiter whose context ends returns at once; the
// fetch goes on for the others and is stored.
func TestCallerGivesUp(t *testing.T) {
	t.Parallel()
	g := &gatedFetcher{gate: make(chan struct{})}
	c := New(g.fetch, 0, nil, nil)
	k := key{tool: toolA, version: 1, hash: hashOf(toolA, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, toolA, serverA, 1, k.hash)
		errc <- err
	}()
	waitWaiters(t, c, k, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	close(g.gate)
	c.fetching.Wait()
	get(t, c, toolA, 1)
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}
