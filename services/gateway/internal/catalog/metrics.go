package catalog

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Trigger says what started a catalog fetch: the trigger label of
// mcpbox_gateway_catalog_refreshes_total (gateway.md §13).
type Trigger string

// Triggers.
const (
	// TriggerStartup is the first fetch of Run.
	TriggerStartup Trigger = "startup"
	// TriggerEvent is a fetch caused by the event stream: a newer revision,
	// a (re)connect, or Cache.Refresh (the backend said a tool is not
	// executable, which is news the stream would also bring).
	TriggerEvent Trigger = "event"
	// TriggerPoll is the periodic fallback fetch.
	TriggerPoll Trigger = "poll"
	// TriggerWrite is a fetch for Cache.WaitRevision after a management call.
	TriggerWrite Trigger = "write"
)

// Refresh results.
const (
	resultChanged   = "changed"
	resultUnchanged = "unchanged"
	resultError     = "error"
)

// metrics are the catalog metrics of gateway.md §13.
type metrics struct {
	tools     prometheus.Gauge
	withheld  prometheus.Gauge
	revision  prometheus.Gauge
	refreshes *prometheus.CounterVec
	rejected  *prometheus.GaugeVec
	connected prometheus.Gauge
}

// newMetrics registers the catalog metrics on reg. The ages are computed at
// scrape time by catalogAge and policyAge.
func newMetrics(reg prometheus.Registerer, catalogAge, policyAge func() time.Duration) *metrics {
	f := promauto.With(reg)
	gauge := func(name, help string) prometheus.Gauge {
		return f.NewGauge(prometheus.GaugeOpts{Namespace: "mcpbox", Subsystem: "gateway", Name: name, Help: help})
	}
	age := func(name, help string, fn func() time.Duration) {
		f.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "mcpbox", Subsystem: "gateway", Name: name, Help: help},
			func() float64 { return fn().Seconds() })
	}
	m := &metrics{
		tools:    gauge("catalog_tools", "Callable user tools in the current catalog snapshot."),
		withheld: gauge("catalog_withheld_tools", "Known but not callable tools in the current catalog snapshot."),
		revision: gauge("catalog_revision", "Revision of the current catalog snapshot."),
		refreshes: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "catalog_refreshes_total",
			Help: "Catalog fetches, by what started them and what they found.",
		}, []string{"trigger", "result"}),
		rejected: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "catalog_rejected_entries",
			Help: "Entries of the current catalog the gateway skipped, by reason (name, reserved, duplicate, schema, sdk_rejected).",
		}, []string{"reason"}),
		connected: gauge("events_connected", "1 while the backend event stream is connected, else 0."),
	}
	age("catalog_age_seconds", "Seconds since the last successful catalog fetch or 304 (since start before the first).", catalogAge)
	age("policy_age_seconds", "Seconds since the last successful policy fetch (since start before the first).", policyAge)
	for _, t := range []Trigger{TriggerStartup, TriggerEvent, TriggerPoll, TriggerWrite} {
		for _, r := range []string{resultChanged, resultUnchanged, resultError} {
			m.refreshes.WithLabelValues(string(t), r)
		}
	}
	for _, r := range rejectReasons() {
		m.rejected.WithLabelValues(string(r))
	}
	return m
}

// refreshed counts one catalog fetch.
func (m *metrics) refreshed(t Trigger, result string) {
	m.refreshes.WithLabelValues(string(t), result).Inc()
}

// published sets the snapshot gauges; sdkRejected is the registrar's count.
func (m *metrics) published(s *Snapshot, sdkRejected int) {
	m.tools.Set(float64(s.Len()))
	m.withheld.Set(float64(s.WithheldLen()))
	m.revision.Set(float64(s.Revision()))
	counts := countRejected(s.Rejected())
	for _, r := range rejectReasons() {
		if r != RejectSDK {
			m.rejected.WithLabelValues(string(r)).Set(float64(counts[r]))
		}
	}
	m.rejected.WithLabelValues(string(RejectSDK)).Set(float64(sdkRejected))
}
