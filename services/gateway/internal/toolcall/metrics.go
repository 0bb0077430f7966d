package toolcall

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/catalog"
)

// Label values of the tool-call metrics that are not names (gateway.md
// §13).
const (
	// ServerManagement is the server label of the 30 management tools.
	ServerManagement = "mcpbox"
	// ToolUnknown counts calls of names no catalog entry has (server "").
	ToolUnknown = "_unknown"
	// ToolOther counts the tools beyond the per-tool cap (server "").
	ToolOther = "_other"
	// KindManagement is the kind label of management calls.
	KindManagement = "management"
)

// Per-tool series rules of gateway.md §13.
const (
	// DefaultMaxTools is MCPBOX_GATEWAY_METRICS_MAX_TOOLS's default.
	DefaultMaxTools = 1000
	// DepartedTTL is how long the series of a tool that left the catalog
	// are kept.
	DepartedTTL = time.Hour
	// sweepEvery bounds how often a call that finds the cap reached looks
	// for departed tools to make room.
	sweepEvery = time.Minute
)

// durationBuckets are the buckets of mcpbox_gateway_tool_call_duration_seconds.
func durationBuckets() []float64 {
	return []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
}

// CurrentCatalog gives the snapshot in use (catalog.Cache.Current), nil
// before the first load.
type CurrentCatalog interface {
	Current() *catalog.Snapshot
}

// Metrics are mcpbox_gateway_tool_calls_total{server,tool,outcome},
// mcpbox_gateway_tool_call_duration_seconds{kind,outcome} and
// mcpbox_gateway_inflight_tool_calls, shared by user-tool calls (this
// package) and management calls (package manage). Label values come only
// from catalog entries and the management names, never from a requested
// name: unknown names count as server "" tool "_unknown", user tools past
// the cap as server "" tool "_other" (management names do not count
// against it). The series of a user tool the catalog no longer lists
// (neither callable nor withheld) are deleted DepartedTTL after this was
// first noticed; the check runs on every scrape, so no goroutine is
// needed. It is safe for concurrent use.
type Metrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	// running counts the calls in flight, for Wait.
	running  sync.WaitGroup
	cat      CurrentCatalog
	maxTools int
	now      func() time.Time

	mu sync.Mutex
	// tools are the user tools with series, by exposed name.
	tools     map[string]*trackedTool
	lastSweep time.Time
}

// trackedTool is a user tool with series.
type trackedTool struct {
	server string
	// departed is when the tool was first seen missing from the catalog
	// (zero while it is listed).
	departed time.Time
}

// NewMetrics registers the metrics with reg (nil: not registered). cat
// says which tools are still listed; maxTools is the per-tool cap
// (DefaultMaxTools when < 1); now is the clock of the departure rule
// (time.Now when nil). Every kind × outcome of the histogram starts at
// zero.
func NewMetrics(reg prometheus.Registerer, cat CurrentCatalog, maxTools int, now func() time.Time) *Metrics {
	if maxTools < 1 {
		maxTools = DefaultMaxTools
	}
	if now == nil {
		now = time.Now
	}
	f := promauto.With(reg)
	m := &Metrics{
		// The counter is registered through sweeper, so that a scrape first
		// deletes the series of departed tools (promauto would register it
		// as is).
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "tool_calls_total",
			Help: "Tool calls by server, tool (catalog or management names, _unknown, _other) and outcome.",
		}, []string{"server", "tool", "outcome"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "tool_call_duration_seconds",
			Help:    "Tool call latency measured at the gateway, by kind (go, external, management) and outcome.",
			Buckets: durationBuckets(),
		}, []string{"kind", "outcome"}),
		inflight: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "inflight_tool_calls",
			Help: "Tool calls (user and management) in progress.",
		}),
		cat:      cat,
		maxTools: maxTools,
		now:      now,
		tools:    map[string]*trackedTool{},
	}
	if reg != nil {
		reg.MustRegister(sweeper{Collector: m.calls, sweep: m.sweep})
	}
	for _, k := range []string{string(proto.ToolKindGo), string(proto.ToolKindExternal), KindManagement} {
		for _, o := range proto.Outcomes() {
			m.duration.WithLabelValues(k, string(o))
		}
	}
	return m
}

// sweeper deletes departed tools' series before each collection.
type sweeper struct {
	prometheus.Collector
	sweep func()
}

// Collect sweeps, then collects.
func (s sweeper) Collect(ch chan<- prometheus.Metric) {
	s.sweep()
	s.Collector.Collect(ch)
}

// Begin counts a call in flight; call the returned function when it ends.
func (m *Metrics) Begin() (end func()) {
	m.running.Add(1)
	m.inflight.Inc()
	return func() {
		m.inflight.Dec()
		m.running.Done()
	}
}

// Wait returns when no call is in flight, or when ctx ends (false). At
// shutdown the calls the drain cut off are still writing their records;
// the record queue is flushed after them (gateway.md §12 steps 5–6).
func (m *Metrics) Wait(ctx context.Context) bool {
	done := make(chan struct{})
	go func() {
		m.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// ObserveManagement counts a management call (server "mcpbox").
func (m *Metrics) ObserveManagement(tool proto.ManagementTool, outcome proto.Outcome, d time.Duration) {
	m.calls.WithLabelValues(ServerManagement, string(tool), string(outcome)).Inc()
	m.duration.WithLabelValues(KindManagement, string(outcome)).Observe(d.Seconds())
}

// observeUser counts a user-tool call. server and name are a catalog or
// withheld entry's ("" name: no entry matched); kind is "" when unknown
// (no entry, or a withheld one), and only calls of a known kind are
// timed.
func (m *Metrics) observeUser(server, name string, kind proto.ToolKind, outcome proto.Outcome, d time.Duration) {
	m.countUser(server, name, outcome)
	if kind == proto.ToolKindGo || kind == proto.ToolKindExternal {
		m.duration.WithLabelValues(string(kind), string(outcome)).Observe(d.Seconds())
	}
}

// countUser increments the counter of a user tool under the cap. It holds
// m.mu while it does, so a sweep cannot delete the series between the
// label decision and the increment (which would leave an untracked
// series).
func (m *Metrics) countUser(server, name string, outcome proto.Outcome) {
	if name == "" {
		m.calls.WithLabelValues("", ToolUnknown, string(outcome)).Inc()
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tools[name]; !ok {
		if len(m.tools) >= m.maxTools && m.now().Sub(m.lastSweep) >= sweepEvery {
			m.sweepLocked()
		}
		if len(m.tools) >= m.maxTools {
			m.calls.WithLabelValues("", ToolOther, string(outcome)).Inc()
			return
		}
		m.tools[name] = &trackedTool{server: server}
	}
	m.calls.WithLabelValues(m.tools[name].server, name, string(outcome)).Inc()
}

// sweep deletes the series of tools gone from the catalog for DepartedTTL.
func (m *Metrics) sweep() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked()
}

// sweepLocked is sweep with m.mu held. Without a catalog nothing departs.
func (m *Metrics) sweepLocked() {
	now := m.now()
	m.lastSweep = now
	snap := m.cat.Current()
	if snap == nil {
		return
	}
	for name, t := range m.tools {
		_, listed := snap.Lookup(name)
		if _, withheld := snap.Withheld(name); listed || withheld {
			t.departed = time.Time{}
			continue
		}
		switch {
		case t.departed.IsZero():
			t.departed = now
		case now.Sub(t.departed) >= DepartedTTL:
			m.calls.DeletePartialMatch(prometheus.Labels{"server": t.server, "tool": name})
			delete(m.tools, name)
		}
	}
}
