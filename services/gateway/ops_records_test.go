package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// OPS-24: with the backend down and MCPBOX_GATEWAY_RECORD_QUEUE=5, eight
// tool calls still succeed; the gateway keeps the newest 5 records and drops
// the 3 oldest, counted as
// mcpbox_gateway_exec_records_dropped_total{reason="queue_full"}. When the
// backend returns, the kept 5 arrive exactly once: the queue empties, and
// the backend received each of them once and none of the dropped ones.
//
// "Down" is a front that answers every new request to the fake backend
// with 503 (what a proxy in front of a stopped backend answers) while the
// gateway serves from its cached catalog. A first call, made once the event
// stream is open and while the backend is up, caches the plan and is
// delivered before the outage. Every call is recorded whatever its outcome
// (gateway.md §9), so the test asks each call for an answer, not for
// success: a plan cache dropped meanwhile would fail a call at the backend.
func TestOPS24_RecordQueueWhileTheBackendIsDown(t *testing.T) {
	t.Parallel()
	be, sb := newFakeBackend(t), newFakeSandbox(t)
	be.catalog.Tools = []proto.CatalogTool{addTool()}
	var down atomic.Bool
	inner := be.srv.Config.Handler
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "the backend is down", http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	_, urls := startGateway(t, be, sb, map[string]string{
		"MCPBOX_BACKEND_INTERNAL_URL": front.URL, "MCPBOX_GATEWAY_RECORD_QUEUE": "5", "MCPBOX_GATEWAY_REMOTE_LISTEN": "off",
	})
	metrics := strings.TrimSuffix(urls["local"], "/mcp") + "/metrics"

	call := func(a int) {
		t.Helper()
		code, _, msg := rpc(t, urls["local"], "tools/call", fmt.Sprintf(`{"name":"e2e__add","arguments":{"a":%d,"b":0}}`, a))
		result, _ := msg["result"].(map[string]any)
		if code != http.StatusOK || result == nil {
			t.Fatalf("call %d: %d %v", a, code, msg)
		}
	}
	eventually(t, 10*time.Second, "the gateway's event stream", func() bool {
		be.mu.Lock()
		defer be.mu.Unlock()
		return len(be.streams) > 0
	})
	call(0)
	<-be.recorded // the warm-up record is delivered before the outage

	down.Store(true)
	const calls, kept = 8, 5
	for a := 1; a <= calls; a++ {
		call(a)
	}
	if got := metricValue(t, metrics, `mcpbox_gateway_exec_records_dropped_total{reason="queue_full"}`); got != calls-kept {
		t.Errorf("dropped as queue_full while the backend is down: %v, want %d", got, calls-kept)
	}
	if got := metricValue(t, metrics, "mcpbox_gateway_exec_records_queued"); got != kept {
		t.Errorf("queued while the backend is down: %v, want %d", got, kept)
	}
	if recs := be.recordsSnapshot(); len(recs) != 1 {
		t.Fatalf("the backend received %d records during the outage, want only the warm-up one", len(recs))
	}

	down.Store(false)
	eventually(t, 30*time.Second, "the queue delivered to the returned backend", func() bool {
		return metricValue(t, metrics, "mcpbox_gateway_exec_records_queued") == 0 &&
			metricValue(t, metrics, "mcpbox_gateway_exec_records_sent_total") == 1+kept
	})
	recs := be.recordsSnapshot()
	ids := map[string]int{}
	var args []int
	for _, r := range recs {
		ids[r.ID]++
		var in struct{ A int }
		if err := json.Unmarshal(r.InputArgs, &in); err != nil {
			t.Fatalf("record %s input_args %s: %v", r.ID, r.InputArgs, err)
		}
		args = append(args, in.A)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("record %s arrived %d times, want once", id, n)
		}
	}
	slices.Sort(args)
	if want := []int{0, 4, 5, 6, 7, 8}; !slices.Equal(args, want) {
		t.Errorf("records delivered for the calls with a = %v, want %v (the warm-up and the newest %d)", args, want, kept)
	}
	if got := metricValue(t, metrics, `mcpbox_gateway_exec_records_dropped_total{reason="queue_full"}`); got != calls-kept {
		t.Errorf("dropped as queue_full after the backend returned: %v, want still %d", got, calls-kept)
	}
}

// metricValue returns the value of one series (name and labels exactly as
// exposed) from the metrics page at url, failing the test if it is absent.
func metricValue(t *testing.T, url, series string) float64 {
	t.Helper()
	code, body := lifecycletest.Get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d", url, code)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: value %q: %v", series, v, err)
			}
			return f
		}
	}
	t.Fatalf("%s: not exposed at %s", series, url)
	return 0
}
