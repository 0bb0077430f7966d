package approvals

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Decision labels of mcpbox_backend_approval_decisions_total (backend.md §3).
const (
	DecisionApproved = "approved"
	DecisionRejected = "rejected"
	DecisionRevoked  = "revoked"
)

// pendingTimeout bounds the count a scrape of approvals_pending runs.
const pendingTimeout = 2 * time.Second

func newDecisionsMetric() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpbox_backend_approval_decisions_total",
		Help: "Admin decisions on tools, network and package requests and external sources.",
	}, []string{"kind", "decision"})
	for _, k := range []string{ItemTool, ItemNetwork, ItemPackage, ItemSource} {
		for _, d := range []string{DecisionApproved, DecisionRejected, DecisionRevoked} {
			c.WithLabelValues(k, d)
		}
	}
	return c
}

// CountDecision counts one committed admin decision: kind is tool,
// network, package or source; decision approved, rejected or revoked.
// Revocations that a revoked request cascades to are not decisions.
func (s *Service) CountDecision(kind, decision string) {
	s.decisions.WithLabelValues(kind, decision).Inc()
}

// Instrument registers mcpbox_backend_approval_decisions_total and
// mcpbox_backend_approvals_pending (counted from the database at each
// scrape, so every replica reports the same numbers) with reg; call it
// once, before serving.
func (s *Service) Instrument(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{s.decisions, pendingCollector{s: s}} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("approvals: register metrics: %w", err)
		}
	}
	return nil
}

// pendingCollector reports what waits for review, by kind. A scrape while
// the database does not answer reports nothing rather than failing the
// whole scrape.
type pendingCollector struct{ s *Service }

//nolint:gochecknoglobals // a constant descriptor
var pendingDesc = prometheus.NewDesc("mcpbox_backend_approvals_pending",
	"Items waiting for an admin's review, by kind (tool, network, package, source).", []string{"kind"}, nil)

func (pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- pendingDesc }

func (p pendingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), pendingTimeout)
	defer cancel()
	sum, err := p.s.Summary(ctx)
	if err != nil {
		return
	}
	for kind, n := range map[string]int64{
		ItemTool: sum.PendingTools, ItemNetwork: sum.PendingNetwork, ItemPackage: sum.PendingPackages, ItemSource: sum.PendingSources,
	} {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n), kind)
	}
}
