package mcpserve

import (
	"sync"
	"time"
)

// sessionIndex is the gateway's small index of hybrid sessions (gateway.md
// §5.5): session id → (endpoint, caller key, last use), filled from the
// Mcp-Session-Id of each successful initialize, touched by requests that
// carry the id, pruned on DELETE and against the SDK's live sessions. It
// enforces the caps: MaxSessions over all listeners and MaxSessionsPerCaller
// per caller key. Initializes in flight hold a reservation, so concurrent
// ones cannot overshoot the caps.
type sessionIndex struct {
	max, perCaller int
	m              *metrics

	mu            sync.Mutex
	byID          map[string]*sessionEntry
	reserved      map[string]int // caller key → initializes in flight
	reservedTotal int
}

// sessionEntry is one indexed session.
type sessionEntry struct {
	id      string
	ep      *Endpoint
	key     string
	lastUse time.Time
}

func newSessionIndex(maxSessions, perCaller int, m *metrics) *sessionIndex {
	return &sessionIndex{
		max: maxSessions, perCaller: perCaller, m: m,
		byID: map[string]*sessionEntry{}, reserved: map[string]int{},
	}
}

// reserveSession reserves a session for caller key: at the global cap it
// first prunes sessions the SDK already closed (idle timeout) and retries.
// ok is false when the cap is still reached; victims are the caller's
// least recently used sessions to close (already out of the index).
func (g *Gateway) reserveSession(key string) (ok bool, victims []*sessionEntry) {
	if ok, victims = g.sessions.reserve(key); ok {
		return ok, victims
	}
	g.prune()
	return g.sessions.reserve(key)
}

// reserve is reserveSession without the prune.
func (x *sessionIndex) reserve(key string) (bool, []*sessionEntry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.byID)+x.reservedTotal >= x.max {
		return false, nil
	}
	var victims []*sessionEntry
	for x.countLocked(key)+x.reserved[key] >= x.perCaller {
		v := x.lruLocked(key)
		if v == nil {
			break // the caller's own initializes in flight fill its quota
		}
		delete(x.byID, v.id)
		victims = append(victims, v)
	}
	x.reserved[key]++
	x.reservedTotal++
	x.gaugesLocked(victims...)
	return true, victims
}

// commit turns key's reservation into the session id of ep.
func (x *sessionIndex) commit(ep *Endpoint, key, id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.releaseLocked(key)
	e := &sessionEntry{id: id, ep: ep, key: key, lastUse: time.Now()}
	x.byID[id] = e
	x.gaugesLocked(e)
}

// release drops key's reservation: the initialize created no session.
func (x *sessionIndex) release(key string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.releaseLocked(key)
}

func (x *sessionIndex) releaseLocked(key string) {
	if x.reserved[key] <= 1 {
		delete(x.reserved, key)
	} else {
		x.reserved[key]--
	}
	x.reservedTotal--
}

// touch records a use of session id.
func (x *sessionIndex) touch(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e, ok := x.byID[id]; ok {
		e.lastUse = time.Now()
	}
}

// remove drops session id and reports whether it was indexed.
func (x *sessionIndex) remove(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	e, ok := x.byID[id]
	if ok {
		delete(x.byID, id)
		x.gaugesLocked(e)
	}
	return ok
}

// prune drops the sessions of ep that live does not hold and returns how
// many it dropped.
func (x *sessionIndex) prune(ep *Endpoint, live map[string]bool) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for id, e := range x.byID {
		if e.ep == ep && !live[id] {
			delete(x.byID, id)
			n++
		}
	}
	if n > 0 {
		x.gaugesLocked(&sessionEntry{ep: ep})
	}
	return n
}

// prune checks the index against every endpoint's live sessions; sessions
// the SDK closed (idle timeout) count as closed.
func (g *Gateway) prune() {
	for _, ep := range g.endpoints {
		if !ep.hybrid {
			continue
		}
		if n := g.sessions.prune(ep, ep.liveSessions()); n > 0 {
			g.m.sessionEvents(eventClosed, n)
		}
	}
}

// countLocked returns how many indexed sessions key holds.
func (x *sessionIndex) countLocked(key string) int {
	n := 0
	for _, e := range x.byID {
		if e.key == key {
			n++
		}
	}
	return n
}

// lruLocked returns key's least recently used session, nil if none.
func (x *sessionIndex) lruLocked(key string) *sessionEntry {
	var lru *sessionEntry
	for _, e := range x.byID {
		if e.key == key && (lru == nil || e.lastUse.Before(lru.lastUse)) {
			lru = e
		}
	}
	return lru
}

// gaugesLocked sets the sessions gauge of the listeners of entries.
func (x *sessionIndex) gaugesLocked(entries ...*sessionEntry) {
	for _, changed := range entries {
		n := 0
		for _, e := range x.byID {
			if e.ep == changed.ep {
				n++
			}
		}
		x.m.setSessions(changed.ep.listener, n)
	}
}
