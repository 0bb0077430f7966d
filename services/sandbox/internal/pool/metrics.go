package pool

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/lockdown"
)

// metrics are the pool's series of sandbox.md §15.1.
type metrics struct {
	workers       *prometheus.GaugeVec
	queueLength   prometheus.Gauge
	queueWait     prometheus.Histogram
	coldStarts    prometheus.Counter
	spawnFailures prometheus.Counter
	spawnSeconds  prometheus.Histogram
	crashes       *prometheus.CounterVec
	executions    *prometheus.CounterVec
	duration      *prometheus.HistogramVec
}

// ExecutionOutcomes lists every outcome label of
// mcpbox_sandbox_executions_total: the API's own outcomes and the snake_case
// of each execution error type.
func ExecutionOutcomes() []string {
	out := []string{"ok", "cancelled", "hash_mismatch", "invalid_request", "saturated"}
	for _, t := range []proto.SandboxErrorType{
		proto.ErrTypeSyntaxError, proto.ErrTypeValidationError, proto.ErrTypeImportError,
		proto.ErrTypeUnsupportedFeature, proto.ErrTypeCompileError, proto.ErrTypeInvalidArguments,
		proto.ErrTypeToolError, proto.ErrTypeEgressDenied, proto.ErrTypeInvalidResult, proto.ErrTypePanic,
		proto.ErrTypeTimeout, proto.ErrTypeMemoryLimitExceeded, proto.ErrTypeCPULimitExceeded,
		proto.ErrTypeStackOverflow, proto.ErrTypeThreadLimitExceeded, proto.ErrTypeOutputLimitExceeded,
		proto.ErrTypeSecurityViolation, proto.ErrTypeWorkerCrashed,
	} {
		out = append(out, t.SnakeCase())
	}
	return out
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		workers: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mcpbox_sandbox_pool_workers", Help: "Worker processes by state.",
		}, []string{"state"}),
		queueLength: f.NewGauge(prometheus.GaugeOpts{
			Name: "mcpbox_sandbox_pool_queue_length", Help: "Executions waiting for capacity.",
		}),
		queueWait: f.NewHistogram(prometheus.HistogramOpts{
			Name: "mcpbox_sandbox_queue_wait_seconds", Help: "Time spent waiting for capacity.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		coldStarts: f.NewCounter(prometheus.CounterOpts{
			Name: "mcpbox_sandbox_pool_cold_starts_total", Help: "Executions that found no idle worker.",
		}),
		spawnFailures: f.NewCounter(prometheus.CounterOpts{
			Name: "mcpbox_sandbox_worker_spawn_failures_total", Help: "Worker spawns that failed.",
		}),
		spawnSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name: "mcpbox_sandbox_worker_spawn_seconds", Help: "Time from spawn to the ready frame.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		crashes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpbox_sandbox_worker_crashes_total", Help: "Workers that ended without a usable result, by class.",
		}, []string{"class"}),
		executions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpbox_sandbox_executions_total", Help: "Executions by outcome.",
		}, []string{"outcome"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mcpbox_sandbox_execution_duration_seconds", Help: "Execution wall time.",
			Buckets: prometheus.ExponentialBucketsRange(0.001, 300, 16),
		}, []string{"result"}),
	}
	for _, s := range []string{"idle", "busy", "starting"} {
		m.workers.WithLabelValues(s)
	}
	for _, c := range lockdown.CrashClasses() {
		m.crashes.WithLabelValues(string(c))
	}
	for _, o := range ExecutionOutcomes() {
		m.executions.WithLabelValues(o)
	}
	m.duration.WithLabelValues("ok")
	m.duration.WithLabelValues("error")
	return m
}

// RecordExecution counts one /v1/execute request with its final outcome
// (an ExecutionOutcomes label) and, when a worker ran, its duration. The
// API calls it once per request, after caps and redaction decided the
// outcome, so the pool does not count executions itself.
func (p *Pool) RecordExecution(outcome string, d time.Duration) {
	p.m.executions.WithLabelValues(outcome).Inc()
	if d <= 0 {
		return
	}
	result := "error"
	if outcome == "ok" {
		result = "ok"
	}
	p.m.duration.WithLabelValues(result).Observe(d.Seconds())
}
