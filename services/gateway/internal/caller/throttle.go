package caller

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Throttle limits failed service tokens per TCP peer address (§6.1): once an
// address has limit failures within ThrottleWindow, its requests are refused
// until the oldest of them leaves the window, valid tokens included. State
// is in memory, per replica, for at most MaxThrottledPeers addresses (the
// least recently seen is evicted). Valid requests do not clear failures.
type Throttle struct {
	limit int
	now   func() time.Time

	mu    sync.Mutex
	peers map[netip.Addr]*list.Element // of *peerFailures
	lru   *list.List                   // front: most recently seen
}

// ThrottleWindow is the sliding window of the failed-auth throttle.
const ThrottleWindow = 60 * time.Second

// MaxThrottledPeers bounds the addresses the throttle remembers.
const MaxThrottledPeers = 10_000

// peerFailures holds the times of one address's most recent failures, at
// most limit of them, oldest first: older ones can never matter again.
type peerFailures struct {
	addr  netip.Addr
	times []time.Time
}

// NewThrottle returns a throttle refusing an address after limit failures
// (MCPBOX_GATEWAY_AUTH_FAILURES) within ThrottleWindow. now is the clock;
// nil means time.Now.
func NewThrottle(limit int, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{limit: max(1, limit), now: now, peers: map[netip.Addr]*list.Element{}, lru: list.New()}
}

// Blocked reports whether addr is throttled and, if so, how long until its
// oldest failure leaves the window.
func (t *Throttle) Blocked(addr netip.Addr) (time.Duration, bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.peers[addr]
	if !ok {
		return 0, false
	}
	p := el.Value.(*peerFailures)
	p.expire(now)
	if len(p.times) == 0 {
		t.remove(el)
		return 0, false
	}
	t.lru.MoveToFront(el)
	if len(p.times) < t.limit {
		return 0, false
	}
	return p.times[0].Add(ThrottleWindow).Sub(now), true
}

// Fail records a failed authentication from addr.
func (t *Throttle) Fail(addr netip.Addr) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.peers[addr]
	if !ok {
		if t.lru.Len() >= MaxThrottledPeers {
			t.remove(t.lru.Back())
		}
		el = t.lru.PushFront(&peerFailures{addr: addr})
		t.peers[addr] = el
	}
	t.lru.MoveToFront(el)
	p := el.Value.(*peerFailures)
	p.expire(now)
	if len(p.times) == t.limit {
		copy(p.times, p.times[1:])
		p.times = p.times[:len(p.times)-1]
	}
	p.times = append(p.times, now)
}

// Peers returns how many addresses the throttle remembers.
func (t *Throttle) Peers() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

func (t *Throttle) remove(el *list.Element) {
	p := t.lru.Remove(el).(*peerFailures)
	delete(t.peers, p.addr)
}

// expire drops the failures that left the window.
func (p *peerFailures) expire(now time.Time) {
	cut := 0
	for cut < len(p.times) && !now.Before(p.times[cut].Add(ThrottleWindow)) {
		cut++
	}
	p.times = p.times[cut:]
}

// PeerIP returns the TCP peer address of r, never X-Forwarded-For (§6.1):
// only the edge reaches the remote listener, so a forwarded address would
// be the edge's claim about someone else. IPv4-mapped IPv6 addresses are
// unmapped and zones dropped, so one host has one key. A RemoteAddr that
// does not parse (not seen with net/http servers) maps to the zero Addr,
// one shared key.
func PeerIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}
