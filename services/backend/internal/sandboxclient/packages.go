package sandboxclient

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// packagesMaxAge bounds how long a cached catalogue is served without
// asking the sandbox again.
const packagesMaxAge = time.Minute

// packageCache holds the last catalogue. The catalogue changes only with a
// sandbox build (its catalogue_version, sandbox.md §4.4), and the backend
// learns of a new one in two cheap ways: every analyze answer carries the
// catalogue_version in analyzer_version (sandbox.md §4.3), so an analyze
// whose analyzer_version does not contain the cached catalogue_version drops
// the cache; and an entry older than packagesMaxAge is refetched, which
// covers a sandbox rollout that no analyze has seen yet. Concurrent misses
// may each fetch (the catalogue is small); the last answer is kept.
type packageCache struct {
	mu  sync.Mutex
	cat *proto.PackageCatalogue
	at  time.Time
}

// get returns a copy of the cached catalogue when it is fresh at now.
func (p *packageCache) get(now time.Time) (proto.PackageCatalogue, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cat == nil || now.Sub(p.at) >= packagesMaxAge || now.Before(p.at) {
		return proto.PackageCatalogue{}, false
	}
	return cloneCatalogue(*p.cat), true
}

// put stores cat as fetched at now.
func (p *packageCache) put(cat proto.PackageCatalogue, now time.Time) {
	cat = cloneCatalogue(cat)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cat, p.at = &cat, now
}

// noteAnalyzerVersion drops the cached catalogue when an analyze answer
// shows the sandbox runs another catalogue_version.
func (p *packageCache) noteAnalyzerVersion(analyzerVersion string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cat != nil && !strings.Contains(analyzerVersion, p.cat.CatalogueVersion) {
		p.cat = nil
	}
}

// cloneCatalogue copies the package list, so callers cannot change the
// cache.
func cloneCatalogue(c proto.PackageCatalogue) proto.PackageCatalogue {
	c.Packages = slices.Clone(c.Packages)
	return c
}

// Packages returns the sandbox's package catalogue, GET /v1/packages
// (sandbox.md §4.4), from the cache described on packageCache when it is
// fresh. Deadline 5 s; retried twice on a connect error. A cached answer
// sends no request and counts in no metric.
func (c *Client) Packages(ctx context.Context) (proto.PackageCatalogue, error) {
	if cat, ok := c.packages.get(c.now()); ok {
		return cat, nil
	}
	var out proto.PackageCatalogue
	k := call{
		op: OpPackages, method: http.MethodGet, path: proto.PathSandboxPackages, token: true,
		deadline: packagesDeadline, attempts: retriedAttempts,
	}
	if err := c.do(ctx, k, &out, func(int) error { return validCatalogue(&out) }); err != nil {
		return proto.PackageCatalogue{}, err
	}
	c.packages.put(out, c.now())
	return cloneCatalogue(out), nil
}
