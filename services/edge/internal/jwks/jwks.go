// Package jwks keeps the identity provider's signing keys (edge.md §7):
// discovery, jwx's jwk.Cache for fetching and background refresh, and
// around it the usable-key filter, the rate-limited unknown-kid refetch,
// the staleness limit, readiness and the JWKS metrics.
//
// How the pieces fit:
//
//   - The JWKS URL is registered with a jwk.Cache (httprc) whose HTTP client
//     applies the fetch rules of §7.1 (https only unless Insecure, 5 s, body
//     ≤ 1 MiB, at most 3 same-origin redirects) and reports every attempt to
//     the Source. The cache refreshes every Options.Refresh on real time.
//   - Each new set the cache holds is filtered once (§7.2) and, if it has a
//     usable key, replaces the set in use atomically; a set with no usable
//     key, a non-2xx answer or an unparsable body is a failed fetch and
//     leaves the set in use untouched. Keys() reads the set in use with one
//     atomic load and a map lookup.
//   - An unknown kid causes at most one forced cache.Refresh per
//     Options.MinRefetch (single-flight, §7.3); the spacing, the staleness
//     limit and the set's age use Options.Now, so tests drive them exactly.
//
// Decisions where the spec is silent:
//
//   - The jwx set is parsed leniently (jwk.WithStrictKeySetParsing(false)) so
//     one entry jwx refuses (a 1024-bit modulus, an unknown kty) is skipped
//     like any other unusable entry instead of failing the whole document.
//     Such an entry counts under the reason its members give (kty, use, alg,
//     no_kid), else "size": the key material itself was refused.
//   - key_ops without "verify" counts as reason "use". A bad exponent (even,
//     below 3, above 2³¹−1) and a modulus over 16384 bits count as "size".
//     Usable keys beyond the 64th are dropped with a warning and no counter
//     (the reason set is closed). A JWK carrying private members is used
//     through its public part.
//   - The skipped counter counts per processed set (each successful fetch);
//     the warning is logged only when an entry was not already skipped in
//     the previous set, so a provider's permanent encryption key does not
//     warn every refresh.
//   - "The last fetch attempt" of §7.3 is any attempt: scheduled, start-up
//     or forced. A refetch is allowed once Now − last attempt ≥ MinRefetch.
//   - A discovery document whose issuer differs, or whose jwks_uri is
//     missing, relative or not https (outside insecure dev mode), is a
//     permanent failure: no retry, Ready names the cause. Transport errors,
//     non-200 answers and a body that is not a JSON object are retried with
//     the start-up backoff.
//   - A configured JWKS URL that is not an absolute https URL (http only in
//     insecure dev mode), or that carries userinfo or a fragment, is refused
//     the same way (configuration also refuses it at startup).
//   - The start-up backoff starts at 1 s (or StartBackoffMax when smaller)
//     and doubles up to StartBackoffMax, without jitter.
//   - A set older than MaxStale makes Keys return ErrUnavailable at once,
//     without a refetch; the cache's schedule keeps trying to recover.
//   - Attempts are labelled by trigger as follows: the forced fetch of an
//     unknown kid or of the start-up retry carries its own trigger; any other
//     attempt is "startup" until a set is loaded, then "schedule".
package jwks

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
	"github.com/mcpbox/mcpbox/services/edge/internal/tokencheck"
)

// Defaults of the Options durations (edge.md §3, §7.3).
const (
	defaultRefresh         = 10 * time.Minute
	defaultMinRefetch      = 10 * time.Second
	defaultMaxStale        = 24 * time.Hour
	defaultStartBackoffMax = 60 * time.Second
	// forcedWait bounds how long a lookup waits for a forced fetch another
	// lookup started (§7.3).
	forcedWait = 5 * time.Second
	// flightLimit bounds a forced fetch: the 5 s fetch plus time queued in
	// the cache.
	flightLimit = fetchTimeout + 2*time.Second
	// ageTick is how often the age gauge is refreshed in the background.
	ageTick = 5 * time.Second
)

// Options configure Start.
type Options struct {
	Issuer     string // exact issuer; discovery base when JWKSURL is empty
	JWKSURL    string
	Refresh    time.Duration // JWKS_REFRESH
	MinRefetch time.Duration // JWKS_MIN_REFETCH
	MaxStale   time.Duration // JWKS_MAX_STALE
	Insecure   bool          // allow http:// (dev mode)
	// StartBackoffMax caps the start-up retry backoff (default 60 s; tests
	// shorten it, EDGE-47).
	StartBackoffMax time.Duration
	// Client overrides the fetch client's transport roots (tests serving
	// TLS); the fetch rules of §7.1 are applied on top of it. Optional.
	Client *http.Client
	Now    func() time.Time // default time.Now
	Log    *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Refresh <= 0 {
		o.Refresh = defaultRefresh
	}
	if o.MinRefetch <= 0 {
		o.MinRefetch = defaultMinRefetch
	}
	if o.MaxStale <= 0 {
		o.MaxStale = defaultMaxStale
	}
	if o.StartBackoffMax <= 0 {
		o.StartBackoffMax = defaultStartBackoffMax
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Source is the edge's key set. Safe for concurrent use.
type Source struct {
	o   Options
	m   *metrics.Edge
	ctx context.Context //nolint:containedctx // the lifetime of the background work, given to Start
	hc  *http.Client    // the rules client

	cur        atomic.Pointer[keySet] // the usable set in use; nil until loaded
	loaded     chan struct{}          // closed once the first set is in use and its fetch recorded
	loadOnce   sync.Once
	registered chan struct{} // closed once res is set: attempts wait for it

	mu          sync.Mutex
	cache       *jwk.Cache
	res         *httprc.ResourceBase[jwk.Set]
	url         string
	lastSeen    jwk.Set   // the cache's set last run through the filter
	lastAttempt time.Time // Now() at the start of the last fetch attempt
	pending     string    // trigger of the forced fetch not yet seen by the client
	flight      *flight
	fatal       error  // permanent failure (discovery, refused URL)
	lastErr     string // of the last attempt; empty after a success
	attempts    int    // completed JWKS fetch attempts
	warned      map[string]bool
	changed     chan struct{} // closed and replaced on every state change
}

// keySet is a filtered set: read-only once published.
type keySet struct {
	byKID     map[string][]*rsa.PublicKey
	n         int
	fetchedAt time.Time
}

type flight struct{ done chan struct{} }

// Start begins discovery and key loading in the background and returns at
// once; the Source is unready until a usable set is loaded. It stops when
// ctx ends.
func Start(ctx context.Context, o Options, m *metrics.Edge) *Source {
	s := &Source{
		o:          o.withDefaults(),
		m:          m,
		ctx:        ctx,
		loaded:     make(chan struct{}),
		registered: make(chan struct{}),
		warned:     map[string]bool{},
		changed:    make(chan struct{}),
	}
	s.hc = newFetchClient(o.Client, o.Insecure)
	go s.run()
	return s
}

// Keys returns the usable keys named kid (tokencheck.KeySource): an unknown
// kid triggers at most one rate-limited refetch (§7.3). Errors are
// tokencheck.ErrUnknownKID or tokencheck.ErrUnavailable. The slice is shared
// and must not be modified.
func (s *Source) Keys(ctx context.Context, kid string) ([]*rsa.PublicKey, error) {
	ks := s.usable()
	if ks == nil {
		return nil, tokencheck.ErrUnavailable
	}
	if keys, ok := ks.byKID[kid]; ok {
		return keys, nil
	}
	return s.refetch(ctx, kid)
}

// usable returns the set in use, or nil when none is loaded or it is older
// than MaxStale.
func (s *Source) usable() *keySet {
	ks := s.cur.Load()
	if ks == nil || s.o.Now().Sub(ks.fetchedAt) > s.o.MaxStale {
		return nil
	}
	return ks
}

// refetch is the unknown-kid path of §7.3.
func (s *Source) refetch(ctx context.Context, kid string) ([]*rsa.PublicKey, error) {
	s.mu.Lock()
	// The set may have changed since the caller looked.
	if ks := s.usable(); ks != nil {
		if keys, ok := ks.byKID[kid]; ok {
			s.mu.Unlock()
			return keys, nil
		}
	}
	f, leader := s.flight, false
	if f == nil {
		if s.cache == nil || s.o.Now().Sub(s.lastAttempt) < s.o.MinRefetch {
			s.mu.Unlock()
			s.m.RefetchSuppress.Inc()
			return nil, tokencheck.ErrUnknownKID
		}
		f, leader = s.startFlightLocked(metrics.TriggerUnknownKID), true
	}
	s.mu.Unlock()

	if leader {
		// The flight itself is bounded (flightLimit).
		select {
		case <-f.done:
		case <-ctx.Done():
		}
	} else {
		t := time.NewTimer(forcedWait)
		select {
		case <-f.done:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	ks := s.usable()
	if ks == nil {
		return nil, tokencheck.ErrUnavailable
	}
	if keys, ok := ks.byKID[kid]; ok {
		return keys, nil
	}
	return nil, tokencheck.ErrUnknownKID
}

// startFlightLocked starts a forced fetch (cache.Refresh) labelled trigger.
func (s *Source) startFlightLocked(trigger string) *flight {
	f := &flight{done: make(chan struct{})}
	s.flight = f
	s.pending = trigger
	s.lastAttempt = s.o.Now()
	go s.runFlight(f, trigger)
	return f
}

func (s *Source) runFlight(f *flight, trigger string) {
	ctx, cancel := context.WithTimeout(s.ctx, flightLimit)
	defer cancel()
	// The attempt's result is recorded by the client (endAttempt); the
	// error here repeats it.
	_, _ = s.cache.Refresh(ctx, s.url)
	s.mu.Lock()
	if s.pending == trigger { // the refresh never reached the client
		s.pending = ""
	}
	s.flight = nil
	s.notifyLocked()
	s.mu.Unlock()
	close(f.done)
}

// Ready returns nil when a usable, not-too-stale set is loaded, else an
// error whose text names the cause (for /readyz; never a secret).
func (s *Source) Ready() error {
	now := s.o.Now()
	s.updateAge(now)
	s.mu.Lock()
	fatal, lastErr := s.fatal, s.lastErr
	s.mu.Unlock()
	if fatal != nil {
		return fatal
	}
	ks := s.cur.Load()
	if ks == nil {
		return errors.New("jwks: no usable key set loaded yet" + lastErrSuffix(lastErr))
	}
	if age := now.Sub(ks.fetchedAt); age > s.o.MaxStale {
		return fmt.Errorf("jwks: key set is stale: last successful fetch %s ago, limit %s%s",
			age.Round(time.Second), s.o.MaxStale, lastErrSuffix(lastErr))
	}
	return nil
}

func lastErrSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " (last error: " + e + ")"
}

// Status describes the set in use for /readyz.
type Status struct {
	Keys      int     `json:"keys"`
	AgeS      float64 `json:"age_s"`
	LastError string  `json:"last_error,omitempty"`
}

// Status returns the current key-set status: the usable keys of the last
// good set, its age, and the error of the last attempt (or the permanent
// failure) when there is one.
func (s *Source) Status() Status {
	now := s.o.Now()
	s.updateAge(now)
	var st Status
	if ks := s.cur.Load(); ks != nil {
		st.Keys = ks.n
		st.AgeS = now.Sub(ks.fetchedAt).Seconds()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.LastError = s.lastErr
	if s.fatal != nil {
		st.LastError = s.fatal.Error()
	}
	return st
}

// run is the background start-up: the URL (configured or discovered), the
// cache registration, the start-up retries, then the age gauge.
func (s *Source) run() {
	u, ok := s.jwksURL()
	if !ok {
		return
	}
	if err := s.register(u); err != nil {
		s.setFatal(fmt.Errorf("jwks: key-set cache: %w", err))
		return
	}
	s.startup()
	t := time.NewTicker(ageTick)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.updateAge(s.o.Now())
		}
	}
}

// jwksURL returns the configured JWKS URL, or discovers it (§7.1), retrying
// transient failures with the start-up backoff.
func (s *Source) jwksURL() (string, bool) {
	if s.o.JWKSURL != "" {
		if _, err := validateURL(s.o.JWKSURL, s.o.Insecure); err != nil {
			s.setFatal(fmt.Errorf("jwks: JWKS URL refused: %w", err))
			return "", false
		}
		return s.o.JWKSURL, true
	}
	if s.o.Issuer == "" {
		s.setFatal(errors.New("jwks: neither a JWKS URL nor an issuer to discover it from"))
		return "", false
	}
	b := newBackoff(s.o.StartBackoffMax)
	for {
		u, err := discover(s.ctx, s.hc, s.o.Issuer, s.o.Insecure)
		if err == nil {
			s.mu.Lock()
			s.lastErr = ""
			s.mu.Unlock()
			s.o.Log.Info("jwks discovered", obs.KeyHost, hostOf(u))
			return u, true
		}
		var pe *permanentError
		if errors.As(err, &pe) {
			s.setFatal(fmt.Errorf("jwks: %s", pe.msg))
			s.o.Log.Error("jwks discovery failed", obs.KeyError, pe.msg)
			return "", false
		}
		msg := "discovery: " + err.Error()
		s.mu.Lock()
		s.lastErr = msg
		s.notifyLocked()
		s.mu.Unlock()
		s.o.Log.Warn("jwks discovery failed, retrying", obs.KeyError, msg)
		if !s.sleep(b.next()) {
			return "", false
		}
	}
}

func (s *Source) register(u string) error {
	defer close(s.registered)
	cache, err := jwk.NewCache(s.ctx, httprc.NewClient(httprc.WithWorkers(2)))
	if err != nil {
		return err
	}
	err = cache.Register(s.ctx, u,
		jwk.WithHTTPClient(observedClient{s: s, hc: s.hc}),
		jwk.WithConstantInterval(s.o.Refresh),
		// Also the retry delay after a transport error.
		jwk.WithMinInterval(s.o.Refresh),
		jwk.WithMaxFetchBodySize(maxBody),
		jwk.WithStrictKeySetParsing(false),
		jwk.WithWaitReady(false),
	)
	if err != nil {
		return err
	}
	res, err := cache.LookupResource(s.ctx, u)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cache, s.res, s.url = cache, res, u
	s.mu.Unlock()
	return nil
}

// startup waits for the cache's first fetch and, while no set is loaded,
// forces fetches with a growing backoff (§7.3 "startup").
func (s *Source) startup() {
	if !s.waitUntil(func() bool { return s.attempts > 0 }) {
		return
	}
	b := newBackoff(s.o.StartBackoffMax)
	for s.cur.Load() == nil {
		if !s.sleep(b.next()) {
			return
		}
		s.mu.Lock()
		if s.cur.Load() != nil {
			s.mu.Unlock()
			return
		}
		f := s.flight
		if f == nil {
			f = s.startFlightLocked(metrics.TriggerStartup)
		}
		s.mu.Unlock()
		select {
		case <-f.done:
		case <-s.ctx.Done():
			return
		}
	}
}

// waitUntil blocks until cond (evaluated under mu) holds or ctx ends.
func (s *Source) waitUntil(cond func() bool) bool {
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-s.ctx.Done():
			return false
		}
	}
}

func (s *Source) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *Source) setFatal(err error) {
	s.mu.Lock()
	s.fatal = err
	s.notifyLocked()
	s.mu.Unlock()
}

// notifyLocked wakes everything waiting for a state change.
func (s *Source) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// backoff doubles from 1 s (or max when smaller) up to max.
type backoff struct{ cur, max time.Duration }

func newBackoff(maxDelay time.Duration) *backoff {
	return &backoff{cur: min(time.Second, maxDelay), max: maxDelay}
}

func (b *backoff) next() time.Duration {
	d := b.cur
	b.cur = min(2*b.cur, b.max)
	return d
}

func hostOf(raw string) string {
	u, err := validateURL(raw, true)
	if err != nil {
		return ""
	}
	return u.Host
}
