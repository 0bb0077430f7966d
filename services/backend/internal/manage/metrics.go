package manage

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
)

// resultOK is the result label of a call that succeeded.
const resultOK = "ok"

func newCallsMetric() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpbox_backend_management_calls_total",
		Help: "Management operations served, by forwarded mcpbox_* tool and result (ok or an error code).",
	}, []string{"tool", "result"})
}

// Instrument registers mcpbox_backend_management_calls_total with reg
// (backend.md §3); call it once, before serving. Without it the service
// counts but exports nothing.
func (s *Service) Instrument(reg prometheus.Registerer) error {
	if err := reg.Register(s.calls); err != nil {
		return fmt.Errorf("manage: register mcpbox_backend_management_calls_total: %w", err)
	}
	return nil
}

// count records one served call; only known tool names reach it, so the
// label set stays bounded.
func (s *Service) count(tool proto.ManagementTool, resp proto.ManageResponse) {
	result := resultOK
	if !resp.OK && resp.Error != nil {
		result = resp.Error.Code
	}
	s.calls.WithLabelValues(string(tool), result).Inc()
}
