package catalog

import (
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// RejectedBySDK records that the registrar could not register the named
// entry of the current snapshot (the SDK panicked or refused it): it is
// logged and counted under reason sdk_rejected until the entry leaves the
// catalog or changes (the registrar then tries again and reports again).
func (c *Cache) RejectedBySDK(name string, cause error) {
	c.mu.Lock()
	c.sdkRejected[name] = true
	n := len(c.sdkRejected)
	c.mu.Unlock()
	c.m.rejected.WithLabelValues(string(RejectSDK)).Set(float64(n))
	rev := int64(0)
	if s := c.Current(); s != nil {
		rev = s.Revision()
	}
	c.log.Warn("catalog entry rejected by the MCP SDK", obs.KeyTool, name, obs.KeyClass, string(RejectSDK),
		obs.KeyReason, fmt.Sprintf("revision %d", rev), slog.Any(obs.KeyError, cause))
}

// OnSnapshot registers fn to run after every new snapshot is published
// (prev is nil for the first). Diff(prev, next) says what to register.
func (c *Cache) OnSnapshot(fn func(prev, next *Snapshot)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs.snapshot = append(c.subs.snapshot, fn)
}

// OnPolicy registers fn to run when the policy is first loaded (prev is the
// zero Policy) and whenever a fetched policy differs from the previous one.
func (c *Cache) OnPolicy(fn func(prev, next proto.Policy)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs.policy = append(c.subs.policy, fn)
}

// OnSecretsChanged registers fn to run on a secrets_changed event, with the
// server whose secrets changed.
func (c *Cache) OnSecretsChanged(fn func(serverID uuid.UUID)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs.secrets = append(c.subs.secrets, fn)
}

// OnResync registers fn to run when events may have been missed or the
// policy changed, so caches derived from the backend (plans, gateway.md
// §8.3) must be dropped: on every (re)connect of the event stream, on a
// policy change after the first load, and on a secrets_changed event whose
// server id is unreadable.
func (c *Cache) OnResync(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs.resync = append(c.subs.resync, fn)
}

// subscribers are the registered callbacks.
type subscribers struct {
	snapshot []func(prev, next *Snapshot)
	policy   []func(prev, next proto.Policy)
	secrets  []func(uuid.UUID)
	resync   []func()
}

// subscribers returns a copy of the registered callbacks.
func (c *Cache) subscribers() subscribers {
	c.mu.Lock()
	defer c.mu.Unlock()
	return subscribers{
		snapshot: append([]func(prev, next *Snapshot){}, c.subs.snapshot...),
		policy:   append([]func(prev, next proto.Policy){}, c.subs.policy...),
		secrets:  append([]func(uuid.UUID){}, c.subs.secrets...),
		resync:   append([]func(){}, c.subs.resync...),
	}
}

// resync tells the OnResync subscribers.
func (c *Cache) resync() {
	for _, fn := range c.subscribers().resync {
		fn()
	}
}
