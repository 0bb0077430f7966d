package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mcpbox/mcpbox/proto"
)

var errTestSDK = errors.New("AddTool: invalid parameter header annotations")

// The catalog metrics of gateway.md §13, with ages computed at scrape
// time, pass promlint.
func TestMetrics(t *testing.T) {
	t.Parallel()
	src := newFakeSource(42, tool("w__a"), tool("w__b"), tool("mcpbox__x"))
	src.cat.Withheld = []proto.WithheldTool{{ToolID: "t", Name: "w__draft", Version: 1, Reason: proto.WithheldDraft}}
	clock := newFakeClock()
	opts := testOptions()
	opts.Now = clock.Now
	h := start(t, src, opts, nil)
	eventually(t, "connected and resynced", func() bool {
		return h.value(t, "mcpbox_gateway_events_connected") == 1 && h.refreshes(t, TriggerEvent, resultUnchanged) == 1
	})
	eventually(t, "the connect policy fetch", func() bool { _, p, _ := src.calls(); return p == 2 })
	clock.Advance(42 * time.Second)

	want := `
# HELP mcpbox_gateway_catalog_age_seconds Seconds since the last successful catalog fetch or 304 (since start before the first).
# TYPE mcpbox_gateway_catalog_age_seconds gauge
mcpbox_gateway_catalog_age_seconds 42
# HELP mcpbox_gateway_catalog_rejected_entries Entries of the current catalog the gateway skipped, by reason (name, reserved, duplicate, schema, sdk_rejected).
# TYPE mcpbox_gateway_catalog_rejected_entries gauge
mcpbox_gateway_catalog_rejected_entries{reason="duplicate"} 0
mcpbox_gateway_catalog_rejected_entries{reason="name"} 0
mcpbox_gateway_catalog_rejected_entries{reason="reserved"} 1
mcpbox_gateway_catalog_rejected_entries{reason="schema"} 0
mcpbox_gateway_catalog_rejected_entries{reason="sdk_rejected"} 0
# HELP mcpbox_gateway_catalog_refreshes_total Catalog fetches, by what started them and what they found.
# TYPE mcpbox_gateway_catalog_refreshes_total counter
mcpbox_gateway_catalog_refreshes_total{result="changed",trigger="event"} 0
mcpbox_gateway_catalog_refreshes_total{result="changed",trigger="poll"} 0
mcpbox_gateway_catalog_refreshes_total{result="changed",trigger="startup"} 1
mcpbox_gateway_catalog_refreshes_total{result="changed",trigger="write"} 0
mcpbox_gateway_catalog_refreshes_total{result="error",trigger="event"} 0
mcpbox_gateway_catalog_refreshes_total{result="error",trigger="poll"} 0
mcpbox_gateway_catalog_refreshes_total{result="error",trigger="startup"} 0
mcpbox_gateway_catalog_refreshes_total{result="error",trigger="write"} 0
mcpbox_gateway_catalog_refreshes_total{result="unchanged",trigger="event"} 1
mcpbox_gateway_catalog_refreshes_total{result="unchanged",trigger="poll"} 0
mcpbox_gateway_catalog_refreshes_total{result="unchanged",trigger="startup"} 0
mcpbox_gateway_catalog_refreshes_total{result="unchanged",trigger="write"} 0
# HELP mcpbox_gateway_catalog_revision Revision of the current catalog snapshot.
# TYPE mcpbox_gateway_catalog_revision gauge
mcpbox_gateway_catalog_revision 42
# HELP mcpbox_gateway_catalog_tools Callable user tools in the current catalog snapshot.
# TYPE mcpbox_gateway_catalog_tools gauge
mcpbox_gateway_catalog_tools 2
# HELP mcpbox_gateway_catalog_withheld_tools Known but not callable tools in the current catalog snapshot.
# TYPE mcpbox_gateway_catalog_withheld_tools gauge
mcpbox_gateway_catalog_withheld_tools 1
# HELP mcpbox_gateway_events_connected 1 while the backend event stream is connected, else 0.
# TYPE mcpbox_gateway_events_connected gauge
mcpbox_gateway_events_connected 1
# HELP mcpbox_gateway_policy_age_seconds Seconds since the last successful policy fetch (since start before the first).
# TYPE mcpbox_gateway_policy_age_seconds gauge
mcpbox_gateway_policy_age_seconds 42
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(h.reg)
	if err != nil || len(problems) != 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

// Before the first load the ages count from New.
func TestAgesBeforeFirstLoad(t *testing.T) {
	t.Parallel()
	src := newFakeSource(1)
	src.down = true
	clock := newFakeClock()
	opts := testOptions()
	opts.Now = clock.Now
	h := start(t, src, opts, nil)
	eventually(t, "the failed startup fetch", func() bool { return h.refreshes(t, TriggerStartup, resultError) == 1 })
	clock.Advance(90 * time.Second)
	if cat, pol := h.c.Stale(); cat != 90*time.Second || pol != 90*time.Second {
		t.Errorf("Stale() = %v, %v; want 90s, 90s", cat, pol)
	}
	if got := h.value(t, "mcpbox_gateway_catalog_age_seconds"); got != 90 {
		t.Errorf("catalog_age_seconds = %v, want 90", got)
	}
}
