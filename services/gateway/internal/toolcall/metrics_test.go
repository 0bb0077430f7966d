package toolcall

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/proto/testclock"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

const callsMetric = "mcpbox_gateway_tool_calls_total"

// series returns the label sets (server/tool/outcome) and values of
// mcpbox_gateway_tool_calls_total.
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != callsMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			out[labelString(m)] = m.GetCounter().GetValue()
		}
	}
	return out
}

// labelString is "server/tool/outcome".
func labelString(m *dto.Metric) string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l["server"] + "/" + l["tool"] + "/" + l["outcome"]
}

// TestGW92_UnknownNamesAddNoSeries: 1,000 calls with random names add no
// series beyond tool="_unknown".
func TestGW92_UnknownNamesAddNoSeries(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := rand.New(rand.NewPCG(92, 92))
	for i := range 1000 {
		var name string
		switch i % 3 {
		case 0:
			name = fmt.Sprintf("s%d__t%d", r.Uint64(), r.Uint64())
		case 1:
			name = fmt.Sprintf("mcpbox_%x", r.Uint64())
		default:
			name = fmt.Sprintf("%x \n<\x00>", r.Uint64())
		}
		h.svc.User(t.Context(), caller.Local(), name, nil)
	}
	got := series(t, h.reg)
	want := map[string]float64{"/_unknown/unavailable": 1000}
	if asJSON(t, got) != asJSON(t, want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	if problems, err := testutil.GatherAndLint(h.reg); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

// TestUserCallsCountUnderTheirCatalogLabels: the server and tool labels
// come from the entry, the duration is timed under the tool's kind.
func TestUserCallsCountUnderTheirCatalogLabels(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.svc.User(t.Context(), caller.Local(), forecastName, json.RawMessage(`{"city":"Oslo"}`))
	h.svc.User(t.Context(), caller.Local(), forecastName, json.RawMessage(`[]`))
	got := series(t, h.reg)
	want := map[string]float64{"weather/weather__forecast/ok": 1, "weather/weather__forecast/invalid_arguments": 1}
	if asJSON(t, got) != asJSON(t, want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	if n := testutil.ToFloat64(h.metrics.inflight); n != 0 {
		t.Errorf("inflight = %v after the calls", n)
	}
	count := histogramCount(t, h.reg, "go", "ok")
	if count != 1 {
		t.Errorf("duration{kind=go,outcome=ok} count = %d, want 1", count)
	}
}

// histogramCount is the sample count of one duration series.
func histogramCount(t *testing.T, reg *prometheus.Registry, kind, outcome string) uint64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "mcpbox_gateway_tool_call_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["kind"] == kind && l["outcome"] == outcome {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	t.Fatalf("no duration series kind=%s outcome=%s", kind, outcome)
	return 0
}

// TestDurationHistogramStartsAtZeroWithTheSpecBuckets: 3 kinds × 10
// outcomes, the 17 buckets of gateway.md §13.
func TestDurationHistogramStartsAtZeroWithTheSpecBuckets(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	NewMetrics(reg, &fakeCatalog{}, 0, nil)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	n := 0
	for _, f := range fams {
		if f.GetName() != "mcpbox_gateway_tool_call_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			n++
			var bounds []float64
			for _, b := range m.GetHistogram().GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
			if !slices.Equal(bounds, want) {
				t.Fatalf("buckets = %v", bounds)
			}
		}
	}
	if n != 30 {
		t.Errorf("%d duration series at start, want 30", n)
	}
}

// TestManagementCallsCountUnderMcpbox: server "mcpbox", kind management.
func TestManagementCallsCountUnderMcpbox(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, &fakeCatalog{}, 0, nil)
	end := m.Begin()
	if testutil.ToFloat64(m.inflight) != 1 {
		t.Error("inflight not counted")
	}
	m.ObserveManagement(proto.MgmtListServers, proto.OutcomeOK, time.Millisecond)
	end()
	if got := series(t, reg); asJSON(t, got) != `{"mcpbox/mcpbox_list_servers/ok":1}` {
		t.Errorf("series = %v", got)
	}
	if histogramCount(t, reg, KindManagement, "ok") != 1 {
		t.Error("management duration not observed")
	}
}

// TestToolSeriesCapAndDeparture: past the cap tools count as _other; the
// series of a tool that left the catalog go an hour after (injected
// clock), which makes room under the cap.
func TestToolSeriesCapAndDeparture(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	clock := testclock.New()
	a, b, c := goTool(), extTool(), goTool()
	c.ToolID, c.Name = "7cef8a2d-0d8b-41f3-8a0f-9e3d2c1b0a98", "weather__alerts"
	cat := &fakeCatalog{}
	cat.set(snapshot(1, []proto.CatalogTool{a, b, c}), nil)
	m := NewMetrics(reg, cat, 2, clock.Now)

	for _, ct := range []proto.CatalogTool{a, b, c} {
		m.observeUser(ct.ServerName, ct.Name, ct.Kind, proto.OutcomeOK, time.Millisecond)
	}
	want := map[string]float64{"weather/weather__forecast/ok": 1, "github/github__search_issues/ok": 1, "/_other/ok": 1}
	if got := series(t, reg); asJSON(t, got) != asJSON(t, want) {
		t.Fatalf("series = %v, want %v", got, want)
	}

	cat.set(snapshot(2, []proto.CatalogTool{b, c}), nil) // weather__forecast leaves
	series(t, reg)                                       // a scrape notices it
	clock.Advance(59 * time.Minute)
	if got := series(t, reg); got["weather/weather__forecast/ok"] != 1 {
		t.Fatalf("series deleted before the hour: %v", got)
	}
	clock.Advance(time.Minute)
	got := series(t, reg)
	if _, still := got["weather/weather__forecast/ok"]; still {
		t.Fatalf("series of a departed tool kept past the hour: %v", got)
	}
	m.observeUser(c.ServerName, c.Name, c.Kind, proto.OutcomeOK, time.Millisecond)
	if got := series(t, reg); got["weather/weather__alerts/ok"] != 1 {
		t.Errorf("the freed slot was not used: %v", got)
	}
}
