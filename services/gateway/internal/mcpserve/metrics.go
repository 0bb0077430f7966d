package mcpserve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Session events, the label values of
// mcpbox_gateway_session_events_total{event} (gateway.md §13).
const (
	eventCreated     = "created"
	eventClosed      = "closed"
	eventEvicted     = "evicted"
	eventCapFallback = "cap_fallback"
)

// metrics are the session and stream metrics of gateway.md §13.
type metrics struct {
	sessions *prometheus.GaugeVec
	streams  *prometheus.GaugeVec
	events   *prometheus.CounterVec
}

// newMetrics registers the metrics on reg, every label value at zero.
func newMetrics(reg prometheus.Registerer, listeners []string) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		sessions: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "sessions",
			Help: "Open hybrid-mode MCP sessions, by listener.",
		}, []string{"listener"}),
		streams: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "listen_streams",
			Help: "Open subscriptions/listen streams on this replica, by listener.",
		}, []string{"listener"}),
		events: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "session_events_total",
			Help: "Hybrid-mode session events: created, closed, evicted (per-caller cap), cap_fallback (global cap).",
		}, []string{"event"}),
	}
	for _, l := range listeners {
		m.sessions.WithLabelValues(l)
		m.streams.WithLabelValues(l)
	}
	for _, e := range []string{eventCreated, eventClosed, eventEvicted, eventCapFallback} {
		m.events.WithLabelValues(e)
	}
	return m
}

func (m *metrics) sessionEvent(event string) { m.events.WithLabelValues(event).Inc() }

func (m *metrics) sessionEvents(event string, n int) {
	m.events.WithLabelValues(event).Add(float64(n))
}

func (m *metrics) setSessions(listener string, n int) {
	m.sessions.WithLabelValues(listener).Set(float64(n))
}

func (m *metrics) listenStreams(listener string, delta float64) {
	m.streams.WithLabelValues(listener).Add(delta)
}
