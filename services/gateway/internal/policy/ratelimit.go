package policy

import (
	"container/list"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/time/rate"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// Bounds of the rate limiter's memory (§6.5).
const (
	// BucketIdle is how long an unused bucket is kept. A bucket idle that
	// long has refilled anyway (burst / rate is at most 60 s), so dropping it
	// changes no decision.
	BucketIdle = 10 * time.Minute
	// MaxBuckets bounds the buckets; the least recently used goes first.
	MaxBuckets = 100_000
)

// Limiter is the per-caller token bucket of §6.5: a bucket per caller key,
// refilled at rpm/60 tokens per second, holding at most max(10, rpm/5). The
// rate is passed on every request, so a policy change applies to existing
// buckets without restart. Every POST counts one, and a GET or listen
// stream one when opened; the caller of Allow decides what counts.
type Limiter struct {
	localRPM int
	now      func() time.Time
	limited  *prometheus.CounterVec

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     *list.List               // front: most recently used
}

type bucket struct {
	key  string
	rpm  int
	lim  *rate.Limiter
	used time.Time
}

// NewLimiter returns a limiter and registers
// mcpbox_gateway_rate_limited_total{listener} on reg. localRPM is
// MCPBOX_GATEWAY_LOCAL_RPM, 0 when off (the local listener is then
// unlimited); now is the clock, nil meaning time.Now.
func NewLimiter(reg prometheus.Registerer, localRPM int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	limited := promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
		Namespace: "mcpbox", Subsystem: "gateway", Name: "rate_limited_total",
		Help: "Requests refused by the per-caller rate limit, by listener.",
	}, []string{"listener"})
	for _, l := range []string{caller.ListenerLocal, caller.ListenerRemote} {
		limited.WithLabelValues(l)
	}
	return &Limiter{
		localRPM: localRPM, now: now, limited: limited,
		buckets: map[string]*list.Element{}, lru: list.New(),
	}
}

// Allow takes one token from c's bucket. policyRPM is mcp_rate_limit_rpm of
// the current policy snapshot, used for remote callers and kept within the
// policy's bounds (10–10000), so a bad snapshot never makes the remote
// listener unlimited; local callers use the local limit. It returns nil, or
// the 429 -32081 refusal with Retry-After = seconds until one token is
// available (at least 1).
func (l *Limiter) Allow(c caller.Caller, policyRPM int) *rpcerr.Refusal {
	rpm := min(max(policyRPM, proto.MinMCPRateLimitRPM), proto.MaxMCPRateLimitRPM)
	if c.IsLocal() {
		rpm = l.localRPM
		if rpm <= 0 {
			return nil
		}
	}
	now := l.now()
	lim := l.bucket(c.Key, rpm, now)
	if lim.AllowN(now, 1) {
		return nil
	}
	l.limited.WithLabelValues(c.Listener).Inc()
	need := 1 - lim.TokensAt(now)
	wait := time.Duration(need / float64(lim.Limit()) * float64(time.Second))
	return rpcerr.RateLimited(rpm, wait)
}

// Buckets returns how many buckets the limiter holds.
func (l *Limiter) Buckets() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// bucket returns the limiter of key at rpm, creating it full or retuning an
// existing one whose rpm changed, after dropping idle buckets.
func (l *Limiter) bucket(key string, rpm int, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	for back := l.lru.Back(); back != nil && now.Sub(back.Value.(*bucket).used) >= BucketIdle; back = l.lru.Back() {
		l.remove(back)
	}
	limit, burst := rate.Limit(float64(rpm)/60), max(10, rpm/5)
	el, ok := l.buckets[key]
	if !ok {
		if l.lru.Len() >= MaxBuckets {
			l.remove(l.lru.Back())
		}
		el = l.lru.PushFront(&bucket{key: key, rpm: rpm, lim: rate.NewLimiter(limit, burst)})
		l.buckets[key] = el
	}
	b := el.Value.(*bucket)
	if b.rpm != rpm {
		b.lim.SetLimitAt(now, limit)
		b.lim.SetBurstAt(now, burst)
		b.rpm = rpm
	}
	b.used = now
	l.lru.MoveToFront(el)
	return b.lim
}

func (l *Limiter) remove(el *list.Element) {
	delete(l.buckets, l.lru.Remove(el).(*bucket).key)
}
