// Package plans is the gateway's call-plan cache (gateway.md §8.3): an LRU
// of the plans of backend.md §9.4 keyed by (tool id, version, hash), so
// repeated calls of one approved version fetch its plan once.
//
// Rules: an entry lives at most 10 minutes and never past its plan's
// expires_at − 60 s (short-lived upstream credentials); DropServer (a
// secrets_changed event) drops the entries of one server and DropAll (a
// policy_changed event, every (re)connect of the event stream) drops them
// all. Concurrent misses for one key share one fetch; a fetch that was in
// flight when its entries were dropped still answers the calls that were
// waiting for it (they asked before the change) but is not stored, and a
// later call starts a new fetch rather than joining it, so it sees the
// change. Failed fetches are not cached. A fetched plan whose hash differs
// from the requested (catalog) hash is discarded with an *IntegrityError.
//
// Plans hold secret values in memory only: this package logs nothing, and
// neither its errors nor its metric carry a plan's content.
//
// Metric: mcpbox_gateway_plan_cache_requests_total{result=hit|miss}, one
// per Get; a call that joins another's fetch is a miss.
package plans

import (
	"container/list"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/proto"
)

// Cache rules of gateway.md §8.3.
const (
	// DefaultSize is MCPBOX_GATEWAY_PLAN_CACHE's default.
	DefaultSize = 2048
	// MaxAge is the longest an entry lives.
	MaxAge = 10 * time.Minute
	// ExpiryMargin is how long before a plan's expires_at its entry ends.
	ExpiryMargin = 60 * time.Second
)

// Fetcher fetches the plan of one tool version; (*backend.Client).Plan is
// one. It runs detached from the caller's cancellation (its context keeps
// the values, such as the request id), so it must bound its own duration,
// as backend.Client does (10 s).
type Fetcher func(ctx context.Context, toolID uuid.UUID, version int) (proto.Plan, error)

// IntegrityError is a fetched plan whose hash is not the catalog's: the
// approved version changed between the catalog snapshot and the plan, or
// something is wrong. The call fails with the integrity message of
// gateway.md §8.5; the plan is discarded.
type IntegrityError struct {
	ToolID  uuid.UUID
	Version int
	// Want is the catalog's pinned hash, Got the plan's.
	Want, Got string
}

// Error describes the mismatch (hashes are not secret).
func (e *IntegrityError) Error() string {
	return fmt.Sprintf("plan of tool %s v%d has hash %q, the catalog pins %q", e.ToolID, e.Version, e.Got, e.Want)
}

// key identifies a plan.
type key struct {
	tool    uuid.UUID
	version int
	hash    string
}

// entry is a cached plan.
type entry struct {
	key key
	// server is the catalog's server id, the one secrets_changed names.
	server   uuid.UUID
	plan     proto.Plan
	deadline time.Time
	elem     *list.Element
}

// flight is a fetch in progress that callers of one key wait for.
type flight struct {
	done   chan struct{}
	server uuid.UUID
	// plan and err are written before done is closed.
	plan proto.Plan
	err  error
	// stale (guarded by Cache.mu) means entries were dropped while the
	// fetch ran: its plan is not stored.
	stale bool
	// waiters (guarded by Cache.mu) counts the callers waiting.
	waiters int
}

// Cache is the plan cache. It is safe for concurrent use.
type Cache struct {
	fetch     Fetcher
	size      int
	now       func() time.Time
	hit, miss prometheus.Counter
	mu        sync.Mutex
	lru       *list.List // of *entry, most recently used first
	entries   map[key]*entry
	flights   map[key]*flight
	fetching  sync.WaitGroup
}

// New returns a cache of at most size plans (DefaultSize when size < 1)
// that fetches misses with fetch, registers its metric with reg (nil: not
// registered) and reads the time from clock (nil: time.Now).
func New(fetch Fetcher, size int, reg prometheus.Registerer, clock func() time.Time) *Cache {
	if size < 1 {
		size = DefaultSize
	}
	if clock == nil {
		clock = time.Now
	}
	requests := promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Namespace: "mcpbox", Subsystem: "gateway", Name: "plan_cache_requests_total",
		Help: "Plan cache lookups by result (hit, miss).",
	}, []string{"result"})
	return &Cache{
		fetch:   fetch,
		size:    size,
		now:     clock,
		hit:     requests.WithLabelValues("hit"),
		miss:    requests.WithLabelValues("miss"),
		lru:     list.New(),
		entries: map[key]*entry{},
		flights: map[key]*flight{},
	}
}

// Get returns the plan of version of the tool toolID of server serverID
// whose catalog hash is hash: from the cache, or fetched (one fetch for
// concurrent misses of one key). Errors: the fetcher's, unchanged
// (*backend.NotCallableError, *backend.PlanRefusedError, ...), an
// *IntegrityError, or ctx's error when the caller stops waiting. The plan
// is shared with other callers: treat it, its maps and slices as read-only.
func (c *Cache) Get(ctx context.Context, toolID, serverID uuid.UUID, version int, hash string) (proto.Plan, error) {
	k := key{tool: toolID, version: version, hash: hash}
	c.mu.Lock()
	if e, ok := c.entries[k]; ok {
		if c.now().Before(e.deadline) {
			c.lru.MoveToFront(e.elem)
			c.mu.Unlock()
			c.hit.Inc()
			return e.plan, nil
		}
		c.remove(e)
	}
	f, ok := c.flights[k]
	if !ok {
		f = &flight{done: make(chan struct{}), server: serverID}
		c.flights[k] = f
		c.fetching.Add(1)
		go c.run(context.WithoutCancel(ctx), k, f)
	}
	f.waiters++
	c.mu.Unlock()
	c.miss.Inc()

	select {
	case <-f.done:
		return f.plan, f.err
	case <-ctx.Done():
		c.mu.Lock()
		f.waiters--
		c.mu.Unlock()
		return proto.Plan{}, fmt.Errorf("plan of tool %s v%d: %w", toolID, version, context.Cause(ctx))
	}
}

// run fetches k for flight f, checks the hash, stores the plan unless f
// went stale, and releases the waiters.
func (c *Cache) run(ctx context.Context, k key, f *flight) {
	defer c.fetching.Done()
	start := c.now()
	p, err := c.fetch(ctx, k.tool, k.version)
	if err == nil && p.Hash != k.hash {
		err = &IntegrityError{ToolID: k.tool, Version: k.version, Want: k.hash, Got: p.Hash}
		p = proto.Plan{}
	}
	f.plan, f.err = p, err
	c.mu.Lock()
	if c.flights[k] == f {
		delete(c.flights, k)
	}
	if err == nil && !f.stale {
		c.store(k, f.server, p, start)
	}
	c.mu.Unlock()
	close(f.done)
}

// store caches p under k until the earlier of start + MaxAge and
// expires_at − ExpiryMargin; a plan that would expire at once is not
// cached (it still serves the calls that fetched it). Callers hold c.mu.
func (c *Cache) store(k key, server uuid.UUID, p proto.Plan, start time.Time) {
	deadline := start.Add(MaxAge)
	if p.ExpiresAt != nil {
		if d := p.ExpiresAt.Add(-ExpiryMargin); d.Before(deadline) {
			deadline = d
		}
	}
	if !c.now().Before(deadline) {
		return
	}
	if old, ok := c.entries[k]; ok {
		c.remove(old)
	}
	e := &entry{key: k, server: server, plan: p, deadline: deadline}
	e.elem = c.lru.PushFront(e)
	c.entries[k] = e
	for c.lru.Len() > c.size {
		c.remove(c.lru.Back().Value.(*entry)) // the list holds only *entry
	}
}

// remove deletes e. Callers hold c.mu.
func (c *Cache) remove(e *entry) {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
}

// DropServer drops the plans of server serverID (a secrets_changed event):
// its cached entries, and its fetches in flight from being stored or
// joined.
func (c *Cache) DropServer(serverID uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.server == serverID || strings.EqualFold(e.plan.ServerID, serverID.String()) {
			c.remove(e)
		}
	}
	for k, f := range c.flights {
		if f.server == serverID {
			f.stale = true
			delete(c.flights, k)
		}
	}
}

// DropAll drops every plan (a policy_changed event, an event stream
// (re)connect): the cache is emptied and fetches in flight are neither
// stored nor joined.
func (c *Cache) DropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	clear(c.entries)
	for _, f := range c.flights {
		f.stale = true
	}
	clear(c.flights)
}

// Len returns the number of cached plans.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
