package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// eventLoop keeps the backend's event stream open (gateway.md §7.2):
// reconnects back off from ReconnectMin to ReconnectMax with jitter, and the
// backoff starts over after a connection that lasted ReconnectMax, so a
// backend that accepts and drops at once is not hammered.
func (c *Cache) eventLoop(ctx context.Context) {
	delay := c.opts.ReconnectMin
	for {
		var connectedAt atomic.Pointer[time.Time]
		err := c.src.Events(ctx, func(e proto.Event) {
			if connectedAt.Load() == nil {
				now := time.Now()
				connectedAt.Store(&now)
				c.connected(e)
			}
			c.handleEvent(e)
		})
		c.m.connected.Set(0)
		if ctx.Err() != nil {
			return
		}
		if at := connectedAt.Load(); at != nil && time.Since(*at) >= c.opts.ReconnectMax {
			delay = c.opts.ReconnectMin
		}
		c.log.Warn(fmt.Sprintf("backend event stream ended (connected: %t); reconnecting in %s", connectedAt.Load() != nil, delay),
			slog.Any(obs.KeyError, err))
		if !sleep(ctx, jitter(delay)) {
			return
		}
		delay = min(2*delay, c.opts.ReconnectMax)
	}
}

// connected handles the first event of a stream (normally hello): events
// may have been missed while disconnected, so derived caches are dropped
// and catalog and policy are fetched again, whatever revisions hello names.
func (c *Cache) connected(first proto.Event) {
	c.m.connected.Set(1)
	c.log.Info(fmt.Sprintf("backend event stream connected: %s with catalog revision %d, policy revision %d",
		first.Type, first.CatalogRevision, first.PolicyRevision))
	c.resync()
	c.request(pending{catalog: true, trigger: TriggerEvent, policy: true})
}

// handleEvent acts on one event. It never blocks on the backend: fetches are
// requested from the fetch loop.
func (c *Cache) handleEvent(e proto.Event) {
	switch e.Type {
	case proto.EventHello:
		// connected has already asked for both fetches.
	case proto.EventCatalogChanged:
		if c.catalogOlderThan(e.Revision) {
			c.request(pending{catalogRev: e.Revision, trigger: TriggerEvent})
		}
	case proto.EventPolicyChanged:
		if c.policyOlderThan(e.Revision) {
			c.request(pending{policyRev: e.Revision})
		}
	case proto.EventSecretsChanged:
		id, err := uuid.Parse(e.ServerID)
		if err != nil {
			// Unknown server: drop every derived entry rather than keep a
			// plan whose secrets may have changed.
			c.log.Warn("secrets_changed event with an unreadable server id; dropping every plan", slog.Any(obs.KeyError, err))
			c.resync()
			return
		}
		for _, fn := range c.subscribers().secrets {
			fn(id)
		}
	default:
		c.log.Debug("unknown backend event ignored", obs.KeyKind, string(e.Type))
	}
}

// jitter returns a duration in [d/2, d]: spread out so gateways that lost
// the backend together do not reconnect in step.
func jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1) //nolint:gosec // G404: reconnect jitter needs no cryptographic randomness
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
