package catalog

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// Errors of CheckCatalog, CheckPolicy and Ready when nothing was loaded yet.
var (
	// ErrCatalogNotLoaded: no catalog fetch has succeeded yet (user-tool
	// calls answer "still loading", gateway.md §7.2).
	ErrCatalogNotLoaded = errors.New("catalog not loaded yet")
	// ErrPolicyNotLoaded: no policy fetch has succeeded yet (the remote
	// listener answers 503 -32082, gateway.md §6.3).
	ErrPolicyNotLoaded = errors.New("remote-access policy not loaded yet")
)

// StaleError says the catalog or the policy is older than MaxStaleness.
type StaleError struct {
	// What is "catalog" or "policy".
	What string
	// Age is the time since the last successful fetch; Limit is
	// MaxStaleness.
	Age, Limit time.Duration
}

// Error names what is stale and for how long; safe for /readyz.
func (e *StaleError) Error() string {
	return fmt.Sprintf("%s not refreshed from the backend for %s (limit %s)",
		e.What, e.Age.Round(time.Second), e.Limit)
}

// CheckCatalog returns the current snapshot and whether it may serve calls:
// ErrCatalogNotLoaded before the first load, a *StaleError (with the
// snapshot, for messages) when it is older than MaxStaleness.
func (c *Cache) CheckCatalog() (*Snapshot, error) {
	s := c.Current()
	if s == nil {
		return nil, ErrCatalogNotLoaded
	}
	if err := c.staleness("catalog", &c.catalogOK); err != nil {
		return s, err
	}
	return s, nil
}

// CheckPolicy returns the policy and whether it may be used (gateway.md
// §6.3, fail closed): ErrPolicyNotLoaded before the first load, a
// *StaleError when it is older than MaxStaleness.
func (c *Cache) CheckPolicy() (proto.Policy, error) {
	p, ok := c.Policy()
	if !ok {
		return p, ErrPolicyNotLoaded
	}
	return p, c.staleness("policy", &c.policyOK)
}

// staleness returns a *StaleError when the limit is on and exceeded.
func (c *Cache) staleness(what string, last *atomic.Pointer[time.Time]) error {
	if c.opts.MaxStaleness <= 0 {
		return nil
	}
	if age := c.age(last); age > c.opts.MaxStaleness {
		return &StaleError{What: what, Age: age, Limit: c.opts.MaxStaleness}
	}
	return nil
}

// Ready is the catalog's part of /readyz (gateway.md §12): a snapshot exists
// and is fresh and, with RequirePolicy, the policy is loaded and fresh. The
// error joins every failing condition; its text is safe to show.
func (c *Cache) Ready() error {
	_, catErr := c.CheckCatalog()
	var polErr error
	if c.opts.RequirePolicy {
		_, polErr = c.CheckPolicy()
	}
	return errors.Join(catErr, polErr)
}
