package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// pending is fetch work waiting for the fetch loop. Requests merge into one
// pending value, which is how fetches coalesce: however many events arrive
// during a fetch, one fetch follows it (gateway.md §7.2).
type pending struct {
	// catalog asks for an unconditional (but still If-None-Match) catalog
	// fetch; catalogRev for one only if the snapshot is older than it.
	catalog    bool
	catalogRev int64
	// trigger labels the catalog fetch: the first request's.
	trigger Trigger
	// policy and policyRev are the same for the policy.
	policy    bool
	policyRev int64
}

// empty reports whether nothing was requested.
func (p pending) empty() bool {
	return !p.catalog && p.catalogRev == 0 && !p.policy && p.policyRev == 0
}

// request merges p into the pending work and rings the fetch loop.
func (c *Cache) request(p pending) {
	c.mu.Lock()
	if (p.catalog || p.catalogRev > 0) && !c.pend.catalog && c.pend.catalogRev == 0 {
		c.pend.trigger = p.trigger
	}
	c.pend.catalog = c.pend.catalog || p.catalog
	c.pend.catalogRev = max(c.pend.catalogRev, p.catalogRev)
	c.pend.policy = c.pend.policy || p.policy
	c.pend.policyRev = max(c.pend.policyRev, p.policyRev)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // already rung; the loop will take the merged work
	}
}

// take returns the pending work and clears it.
func (c *Cache) take() pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pend
	c.pend = pending{}
	return p
}

// Run fetches the catalog and the policy, then follows the event stream and
// polls, until ctx ends (gateway.md §7.2). Call it once. A failed fetch is
// logged and counted and left to the next trigger; meanwhile the last
// snapshot and policy keep serving.
func (c *Cache) Run(ctx context.Context) {
	c.refresh(ctx, pending{catalog: true, trigger: TriggerStartup, policy: true})
	var wg sync.WaitGroup
	wg.Go(func() { c.fetchLoop(ctx) })
	wg.Go(func() { c.pollLoop(ctx) })
	wg.Go(func() { c.eventLoop(ctx) })
	wg.Wait()
	c.m.connected.Set(0)
}

// fetchLoop runs the requested fetches one at a time.
func (c *Cache) fetchLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		if p := c.take(); !p.empty() {
			c.refresh(ctx, p)
		}
	}
}

// pollLoop requests a catalog and policy fetch every Poll, whatever the
// stream's state.
func (c *Cache) pollLoop(ctx context.Context) {
	t := time.NewTicker(c.opts.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.request(pending{catalog: true, trigger: TriggerPoll, policy: true})
		}
	}
}

// refresh runs one unit of fetch work. A revision-only request is dropped
// when the data already has that revision (the fetch that just finished
// brought it).
func (c *Cache) refresh(ctx context.Context, p pending) {
	if p.catalog || (p.catalogRev > 0 && c.catalogOlderThan(p.catalogRev)) {
		c.fetchCatalog(ctx, p.trigger)
	}
	if p.policy || (p.policyRev > 0 && c.policyOlderThan(p.policyRev)) {
		c.fetchPolicy(ctx)
	}
}

// catalogOlderThan reports whether the snapshot is missing or older than rev.
func (c *Cache) catalogOlderThan(rev int64) bool {
	s := c.Current()
	return s == nil || s.Revision() < rev
}

// policyOlderThan reports whether the policy is missing or older than rev.
func (c *Cache) policyOlderThan(rev int64) bool {
	p := c.policy.Load()
	return p == nil || p.Revision < rev
}

// fetchCatalog fetches the catalog conditionally and publishes a new
// snapshot when the revision differs. A lower revision is accepted too (a
// restored backend database); it is logged.
func (c *Cache) fetchCatalog(ctx context.Context, trigger Trigger) {
	prev := c.Current()
	etag := ""
	if prev != nil {
		etag = c.etag
	}
	fctx, cancel := context.WithTimeout(ctx, c.opts.FetchTimeout)
	cat, newETag, notModified, err := c.src.Catalog(fctx, etag)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: not a backend failure
		}
		c.m.refreshed(trigger, resultError)
		c.log.Warn("catalog fetch failed", obs.KeyReason, string(trigger), slog.Any(obs.KeyError, err))
		return
	}
	now := c.opts.Now()
	c.catalogOK.Store(&now)
	if prev != nil && (notModified || cat.Revision == prev.Revision()) {
		c.m.refreshed(trigger, resultUnchanged)
		return
	}
	if notModified { // a 304 without a snapshot: the Source broke its contract
		c.m.refreshed(trigger, resultError)
		c.log.Error("catalog fetch answered 304 without a cached revision", obs.KeyReason, string(trigger))
		return
	}
	if prev != nil && cat.Revision < prev.Revision() {
		c.log.Warn(fmt.Sprintf("catalog revision went backwards from %d to %d; serving the backend's", prev.Revision(), cat.Revision))
	}
	c.etag = newETag
	if c.etag == "" {
		c.etag = strconv.Quote(strconv.FormatInt(cat.Revision, 10))
	}
	c.publish(prev, BuildSnapshot(cat, now))
	c.m.refreshed(trigger, resultChanged)
}

// publish makes next the current snapshot, logs its rejections (once per
// revision: a revision is built once), updates the gauges, tells the
// OnSnapshot subscribers and then wakes WaitRevision, so a waiter returns
// only once the registrar has applied the revision.
func (c *Cache) publish(prev, next *Snapshot) {
	c.snap.Store(next)
	removed, changed := Diff(prev, next)
	c.mu.Lock()
	for _, name := range removed {
		delete(c.sdkRejected, name)
	}
	for i := range changed {
		delete(c.sdkRejected, changed[i].Name)
	}
	sdkRejected := len(c.sdkRejected)
	c.mu.Unlock()
	c.m.published(next, sdkRejected)
	c.logRejections(next)
	c.log.Info(fmt.Sprintf("catalog updated to revision %d: %d tools, %d withheld, %d rejected; %d added or changed, %d removed",
		next.Revision(), next.Len(), next.WithheldLen(), len(next.Rejected()), len(changed), len(removed)), obs.KeyCount, next.Len())
	for _, fn := range c.subscribers().snapshot {
		fn(prev, next)
	}
	c.mu.Lock()
	c.applied, c.snapApplied = next.Revision(), true
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// maxRejectionLogs bounds the per-entry rejection lines of one revision; a
// summary line with the counts always follows.
const maxRejectionLogs = 20

// logRejections logs the skipped entries of a new snapshot.
func (c *Cache) logRejections(s *Snapshot) {
	rs := s.Rejected()
	if len(rs) == 0 {
		return
	}
	for i, r := range rs {
		if i == maxRejectionLogs {
			break
		}
		c.log.Warn("catalog entry skipped", obs.KeyTool, r.Name, obs.KeyToolID, r.ToolID,
			obs.KeyClass, string(r.Reason), obs.KeyReason, fmt.Sprintf("revision %d: %s", s.Revision(), r.Detail))
	}
	counts := countRejected(rs)
	var by []string
	for _, reason := range rejectReasons() {
		if counts[reason] > 0 {
			by = append(by, fmt.Sprintf("%s %d", reason, counts[reason]))
		}
	}
	c.log.Warn("catalog entries skipped", obs.KeyCount, len(rs),
		obs.KeyReason, fmt.Sprintf("revision %d: %s", s.Revision(), strings.Join(by, ", ")))
}

// fetchPolicy fetches the policy and tells the subscribers when it changed.
func (c *Cache) fetchPolicy(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, c.opts.FetchTimeout)
	p, err := c.src.Policy(fctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("policy fetch failed", slog.Any(obs.KeyError, err))
		}
		return
	}
	now := c.opts.Now()
	prevPtr := c.policy.Swap(&p)
	c.policyOK.Store(&now)
	var prev proto.Policy
	if prevPtr != nil {
		prev = *prevPtr
		if reflect.DeepEqual(prev, p) {
			return
		}
	}
	if err := p.Validate(); err != nil {
		// Served anyway: the consumers fail closed on unknown values (an
		// unknown allowlist mode admits nobody), and refusing the policy
		// would turn a settings bug into an outage of the remote listener.
		c.log.Warn(fmt.Sprintf("policy revision %d breaks the settings rules", p.Revision), slog.Any(obs.KeyError, err))
	}
	c.log.Info(fmt.Sprintf("policy updated to revision %d: remote tool editing %s, allowlist mode %s, %d calls per minute",
		p.Revision, p.RemoteToolEditing, p.RemoteEmailAllowlist.Mode, p.MCPRateLimitRPM))
	for _, fn := range c.subscribers().policy {
		fn(prev, p)
	}
	if prevPtr != nil {
		c.resync()
	}
}

// Refresh asks for a catalog fetch soon, without waiting for it: the call
// path uses it when the backend says a tool of the snapshot is not
// executable (gateway.md §8.3). It is counted under trigger event.
func (c *Cache) Refresh() {
	c.request(pending{catalog: true, trigger: TriggerEvent})
}

// WaitRevision waits until a snapshot of at least revision rev has been
// published and applied (every OnSnapshot subscriber, the registrar above
// all, has returned), for at most maxWait or until ctx ends, and reports
// whether it got there (gateway.md §7.2: a management answer carrying
// catalog_revision, so the caller's next tools/list shows the change). When
// the snapshot is older it asks for a fetch (trigger write) first, so the
// wait is one fetch, not an event's round trip.
func (c *Cache) WaitRevision(ctx context.Context, rev int64, maxWait time.Duration) bool {
	reached, _ := c.applyWait(rev)
	if reached {
		return true
	}
	c.request(pending{catalog: true, trigger: TriggerWrite})
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	for {
		reached, changed := c.applyWait(rev)
		if reached {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			reached, _ = c.applyWait(rev)
			return reached
		case <-ctx.Done():
			return false
		}
	}
}

// applyWait reports whether revision rev has been applied and, if not,
// returns the channel closed at the next publication.
func (c *Cache) applyWait(rev int64) (bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapApplied && c.applied >= rev, c.changed
}
