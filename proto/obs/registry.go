package obs

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mcpbox/mcpbox/proto/buildinfo"
)

// NewRegistry returns the one registry of a process (operations.md §3.3):
// the Go and process collectors plus mcpbox_<service>_build_info = 1.
func NewRegistry(service string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	promauto.With(reg).NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "mcpbox", Subsystem: service, Name: "build_info",
		Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "revision", "go_version"}).
		WithLabelValues(buildinfo.Version, buildinfo.Revision, buildinfo.GoVersion()).Set(1)
	return reg
}

// MetricsHandler serves reg in the Prometheus text format. The handler's
// own error counter is not registered: a service exposes exactly its
// catalogue plus the Go and process collectors (operations.md §3.4).
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
