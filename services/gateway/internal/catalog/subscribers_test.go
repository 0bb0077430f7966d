package catalog

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

// policyLog records OnPolicy calls.
type policyLog struct {
	mu    sync.Mutex
	calls [][2]proto.Policy
}

func (l *policyLog) add(prev, next proto.Policy) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, [2]proto.Policy{prev, next})
}

func (l *policyLog) get() [][2]proto.Policy {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][2]proto.Policy(nil), l.calls...)
}

// The catalog level of acceptance item 41: a policy_changed event brings
// the new policy to the subscribers and drops derived caches; an old
// revision fetches nothing.
func TestPolicyChangeCallbacks(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1)
	var policies policyLog
	var resyncs atomic.Int32
	h := start(t, src, testOptions(), func(c *Cache) {
		c.OnPolicy(policies.add)
		c.OnResync(func() { resyncs.Add(1) })
	})
	eventually(t, "the connect fetch", func() bool { return h.refreshes(t, TriggerEvent, resultUnchanged) == 1 })
	eventually(t, "the connect policy fetch", func() bool { _, p, _ := src.calls(); return p == 2 })
	calls := policies.get()
	if len(calls) != 1 || calls[0][0].Revision != 0 || calls[0][1].Revision != 1 {
		t.Fatalf("OnPolicy calls %+v, want one for the first load", calls)
	}
	baseResyncs := resyncs.Load() // the connect

	p2 := proto.DefaultPolicy()
	p2.Revision, p2.RemoteToolEditing, p2.MCPRateLimitRPM = 2, proto.ToggleEnabled, 600
	src.setPolicy(p2)
	src.emit(t, proto.Event{Type: proto.EventPolicyChanged, Revision: 2})
	eventually(t, "the policy change", func() bool { return len(policies.get()) == 2 })
	calls = policies.get()
	if calls[1][0].Revision != 1 || calls[1][1].RemoteToolEditing != proto.ToggleEnabled {
		t.Errorf("second OnPolicy call %+v", calls[1])
	}
	eventually(t, "the resync of the policy change", func() bool { return resyncs.Load() == baseResyncs+1 })
	if p, err := h.c.CheckPolicy(); err != nil || p.MCPRateLimitRPM != 600 {
		t.Errorf("CheckPolicy() = %+v, %v", p, err)
	}

	_, before, _ := src.calls()
	src.emit(t, proto.Event{Type: proto.EventPolicyChanged, Revision: 2})
	src.emit(t, proto.Event{Type: proto.EventPolicyChanged, Revision: 1})
	if _, after, _ := src.calls(); after != before {
		t.Errorf("%d policy fetches for old revisions, want 0", after-before)
	}
}

// secrets_changed names its server to the subscribers; an unreadable id
// drops everything instead.
func TestSecretsChanged(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1)
	var mu sync.Mutex
	var servers []uuid.UUID
	var resyncs atomic.Int32
	h := start(t, src, testOptions(), func(c *Cache) {
		c.OnSecretsChanged(func(id uuid.UUID) {
			mu.Lock()
			defer mu.Unlock()
			servers = append(servers, id)
		})
		c.OnResync(func() { resyncs.Add(1) })
	})
	eventually(t, "connected", func() bool { return h.value(t, "mcpbox_gateway_events_connected") == 1 })
	id := uuid.MustParse("6f1c1f8e-3b1a-4c55-9d8e-0a1b2c3d4e5f")
	src.emit(t, proto.Event{Type: proto.EventSecretsChanged, ServerID: id.String()})
	mu.Lock()
	got := append([]uuid.UUID(nil), servers...)
	mu.Unlock()
	if len(got) != 1 || got[0] != id {
		t.Errorf("OnSecretsChanged got %v, want [%v]", got, id)
	}
	before := resyncs.Load()
	src.emit(t, proto.Event{Type: proto.EventSecretsChanged, ServerID: "not-a-uuid"})
	if resyncs.Load() != before+1 {
		t.Error("an unreadable server id did not resync")
	}
}

// RejectedBySDK counts until the entry leaves the catalog or changes.
func TestRejectedBySDKCounted(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1, tool("w__a"), tool("w__b"))
	src.block = true
	var c *Cache
	h := start(t, src, testOptions(), func(cc *Cache) {
		c = cc
		// The registrar reports refusals from its OnSnapshot callback.
		cc.OnSnapshot(func(_, next *Snapshot) {
			if e, ok := next.Lookup("w__a"); ok && e.Description == "Refused." {
				cc.RejectedBySDK("w__a", errTestSDK)
			}
		})
	})
	eventually(t, "revision 1", revisionIs(c, 1))
	sdk := func() float64 { return h.value(t, "mcpbox_gateway_catalog_rejected_entries", "reason", "sdk_rejected") }

	refused := tool("w__a")
	refused.Description = "Refused."
	src.setCatalog(2, refused, tool("w__b"))
	c.Refresh()
	eventually(t, "revision 2", revisionIs(c, 2))
	if got := sdk(); got != 1 {
		t.Fatalf("sdk_rejected = %v, want 1", got)
	}
	if h.logLines("catalog entry rejected by the MCP SDK") != 1 {
		t.Error("the SDK rejection was not logged once")
	}
	src.setCatalog(3, refused, tool("w__b"), tool("w__c")) // w__a unchanged
	c.Refresh()
	eventually(t, "revision 3", revisionIs(c, 3))
	if got := sdk(); got != 1 {
		t.Errorf("sdk_rejected = %v after an unrelated change, want 1", got)
	}
	src.setCatalog(4, tool("w__a"), tool("w__b")) // w__a fixed
	c.Refresh()
	eventually(t, "revision 4", revisionIs(c, 4))
	if got := sdk(); got != 0 {
		t.Errorf("sdk_rejected = %v after the entry changed, want 0", got)
	}
}
