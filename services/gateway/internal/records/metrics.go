package records

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Reasons a record is dropped (the reason label of
// mcpbox_gateway_exec_records_dropped_total, gateway.md §13).
const (
	// ReasonQueueFull: the queue reached a bound and dropped its oldest
	// record.
	ReasonQueueFull = "queue_full"
	// ReasonRejected: the backend refused the batch (4xx), or the record
	// could not be sent at all (it does not encode, or it alone exceeds the
	// batch size limit).
	ReasonRejected = "rejected"
	// ReasonShutdown: the record was still queued when the shutdown flush
	// ended, or arrived after it.
	ReasonShutdown = "shutdown"
)

// metrics are the record metrics of gateway.md §13.
type metrics struct {
	queued      prometheus.Gauge
	queuedBytes prometheus.Gauge
	capacity    prometheus.Gauge
	sent        prometheus.Counter
	dropped     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) metrics {
	f := promauto.With(reg)
	m := metrics{
		queued: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "exec_records_queued",
			Help: "Execution records waiting to be delivered to the backend, in-flight batch included.",
		}),
		queuedBytes: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "exec_records_queued_bytes",
			Help: "Size of the queued execution records as JSON, in bytes.",
		}),
		capacity: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "exec_records_capacity",
			Help: "Most execution records the queue holds (MCPBOX_GATEWAY_RECORD_QUEUE).",
		}),
		sent: f.NewCounter(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "exec_records_sent_total",
			Help: "Execution records delivered to the backend (in a batch it answered with a success).",
		}),
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mcpbox", Subsystem: "gateway", Name: "exec_records_dropped_total",
			Help: "Execution records never delivered, by reason (queue_full, rejected, shutdown).",
		}, []string{"reason"}),
	}
	for _, r := range []string{ReasonQueueFull, ReasonRejected, ReasonShutdown} {
		m.dropped.WithLabelValues(r)
	}
	return m
}
