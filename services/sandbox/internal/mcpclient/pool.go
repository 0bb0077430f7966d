package mcpclient

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// session is one pooled upstream session with its cached tools/list.
type session struct {
	key     string
	cs      *mcp.ClientSession
	hc      *http.Client
	created time.Time

	// Guarded by pool.mu.
	lastUsed time.Time
	refs     int
	removed  bool // out of the pool; closed when refs reaches 0
	closed   bool

	toolsMu    sync.Mutex
	tools      []rawTool
	toolsAt    time.Time
	toolsStale atomic.Bool
}

// pool holds sessions by key (sandbox.md §13.2): at most max sessions, idle
// and age expiry, least recently used evicted first. Calls on one session
// run concurrently; the pool lock is never held across network I/O.
type pool struct {
	mu       sync.Mutex
	sessions map[string]*session
	max      int
	idle     time.Duration
	maxAge   time.Duration
	now      func() time.Time
	closeFn  func(*session)
	gauge    func(int)
}

// get returns the pooled session for key with a reference taken, after
// sweeping expired sessions.
func (p *pool) get(key string) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweepLocked()
	s := p.sessions[key]
	if s == nil {
		return nil
	}
	s.refs++
	s.lastUsed = p.now()
	return s
}

// put adds a freshly opened session with a reference taken. If another
// session for the key appeared meanwhile, s stays out of the pool and is
// closed after its use.
func (p *pool) put(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.refs++
	s.lastUsed = p.now()
	if _, exists := p.sessions[s.key]; exists {
		s.removed = true
		return
	}
	p.sweepLocked()
	for len(p.sessions) >= p.max {
		var lru *session
		for _, o := range p.sessions {
			if lru == nil || o.lastUsed.Before(lru.lastUsed) {
				lru = o
			}
		}
		p.removeLocked(lru)
	}
	p.sessions[s.key] = s
	p.gauge(len(p.sessions))
}

// release drops the reference; drop removes the session from the pool
// (after a failure that may have broken it).
func (p *pool) release(s *session, drop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.refs--
	s.lastUsed = p.now()
	if drop {
		p.removeLocked(s)
	}
	p.closeIfDoneLocked(s)
}

func (p *pool) sweepLocked() {
	now := p.now()
	for _, s := range p.sessions {
		if now.Sub(s.created) >= p.maxAge || (s.refs == 0 && now.Sub(s.lastUsed) >= p.idle) {
			p.removeLocked(s)
		}
	}
}

func (p *pool) removeLocked(s *session) {
	if cur := p.sessions[s.key]; cur == s {
		delete(p.sessions, s.key)
		p.gauge(len(p.sessions))
	}
	s.removed = true
	p.closeIfDoneLocked(s)
}

func (p *pool) closeIfDoneLocked(s *session) {
	if s.removed && s.refs == 0 && !s.closed {
		s.closed = true
		p.closeFn(s)
	}
}

// closeAll removes every session; each is closed once unused.
func (p *pool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.sessions {
		p.removeLocked(s)
	}
}

// tools returns the session's cached tools/list, refreshed when forced,
// older than ttl or marked stale by notifications/tools/list_changed.
// Concurrent callers share one refresh.
func (s *session) toolsList(ctx context.Context, obs *observer, force bool, ttl time.Duration, now time.Time) ([]rawTool, error) {
	s.toolsMu.Lock()
	defer s.toolsMu.Unlock()
	if !force && s.tools != nil && now.Sub(s.toolsAt) < ttl && !s.toolsStale.Load() {
		return s.tools, nil
	}
	s.toolsStale.Store(false)
	tools, err := listTools(ctx, s.cs, obs)
	if err != nil {
		return nil, err
	}
	s.tools, s.toolsAt = tools, now
	return tools, nil
}
