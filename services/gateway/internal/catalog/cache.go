package catalog

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
)

// Defaults of Options (gateway.md §7.1, §7.2, §14).
const (
	DefaultPoll         = 30 * time.Second
	DefaultFetchTimeout = 10 * time.Second
	DefaultReconnectMin = 500 * time.Millisecond
	DefaultReconnectMax = 30 * time.Second
)

// Options configures a Cache. Zero durations take the defaults above, except
// MaxStaleness, where zero means no limit (MCPBOX_GATEWAY_MAX_STALENESS=0).
type Options struct {
	// Poll is the fallback fetch interval (MCPBOX_GATEWAY_CATALOG_POLL).
	Poll time.Duration
	// MaxStaleness is the age past which the catalog and the policy are
	// stale (MCPBOX_GATEWAY_MAX_STALENESS); 0 disables the limit.
	MaxStaleness time.Duration
	// RequirePolicy makes Ready depend on the policy too: set it when the
	// remote listener is on (gateway.md §12).
	RequirePolicy bool
	// FetchTimeout bounds one catalog or policy fetch; the backend client
	// has the same 10 s timeout, this one guards against a Source without.
	FetchTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the event stream's reconnect
	// backoff (0.5 s → 30 s, with jitter).
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// Now is the clock of ages and staleness (default time.Now); tests
	// inject one to cross the staleness limit without waiting.
	Now func() time.Time
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = DefaultReconnectMin
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = max(DefaultReconnectMax, o.ReconnectMin)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Cache holds the current catalog snapshot and policy and keeps them fresh
// (gateway.md §7.2). Readers (Current, Policy, CheckCatalog, ...) are safe
// for concurrent use and never block on the backend. Subscribers (On*) are
// registered before Run and must return quickly: OnSnapshot and OnPolicy
// run one at a time on the fetch goroutine (fetches wait for them);
// OnSecretsChanged and OnResync run on the event goroutine, and OnResync
// also on the fetch goroutine after a policy change, so they may run
// concurrently with each other and with the first two.
type Cache struct {
	src     Source
	opts    Options
	log     *slog.Logger
	m       *metrics
	created time.Time

	snap      atomic.Pointer[Snapshot]
	policy    atomic.Pointer[proto.Policy]
	catalogOK atomic.Pointer[time.Time]
	policyOK  atomic.Pointer[time.Time]

	// wake has room for one signal: the fetch loop's doorbell.
	wake chan struct{}

	mu sync.Mutex
	// pend is the fetch work requested since the fetch loop last took it.
	pend pending
	// changed is closed and replaced when a new snapshot has been
	// published and its OnSnapshot subscribers have run; applied is its
	// revision (snapApplied: there is one).
	changed     chan struct{}
	applied     int64
	snapApplied bool
	// sdkRejected are the entries of the current snapshot the registrar
	// could not register.
	sdkRejected map[string]bool
	// etag is the ETag of the current snapshot (fetch loop only).
	etag string
	subs subscribers
}

// New returns a cache that reads from src. It registers its metrics on reg
// and fetches nothing until Run.
func New(src Source, opts Options, reg prometheus.Registerer, log *slog.Logger) *Cache {
	opts = opts.withDefaults()
	c := &Cache{
		src:         src,
		opts:        opts,
		log:         log,
		created:     opts.Now(),
		wake:        make(chan struct{}, 1),
		changed:     make(chan struct{}),
		sdkRejected: map[string]bool{},
	}
	c.m = newMetrics(reg, func() time.Duration { return c.age(&c.catalogOK) },
		func() time.Duration { return c.age(&c.policyOK) })
	return c
}

// Current returns the snapshot calls should use, or nil before the first
// successful catalog fetch. It does not check staleness (CheckCatalog does).
func (c *Cache) Current() *Snapshot { return c.snap.Load() }

// Policy returns the last fetched policy and whether one was ever fetched.
// It does not check staleness (CheckPolicy does).
func (c *Cache) Policy() (proto.Policy, bool) {
	p := c.policy.Load()
	if p == nil {
		return proto.Policy{}, false
	}
	return *p, true
}

// Stale returns the time since the last successful catalog fetch (or 304)
// and since the last successful policy fetch. Before the first success each
// counts from New, so the age of a gateway that never reached the backend
// grows like that of one that lost it.
func (c *Cache) Stale() (catalogAge, policyAge time.Duration) {
	return c.age(&c.catalogOK), c.age(&c.policyOK)
}

// age is the time since *last, or since New when it is unset.
func (c *Cache) age(last *atomic.Pointer[time.Time]) time.Duration {
	from := c.created
	if t := last.Load(); t != nil {
		from = *t
	}
	return max(c.opts.Now().Sub(from), 0)
}
