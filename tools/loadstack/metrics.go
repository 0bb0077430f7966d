package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The Go and process collectors' metrics every service exposes (proto/obs NewRegistry) that the soak samples.
const (
	metricGoroutines = "go_goroutines"
	metricRSS        = "process_resident_memory_bytes"
	metricHeapInuse  = "go_memstats_heap_inuse_bytes"
)

// serviceSample is one reading of a service's /metrics.
type serviceSample struct {
	Goroutines     float64 `json:"goroutines"`
	RSSBytes       float64 `json:"rss_bytes"`
	HeapInuseBytes float64 `json:"heap_inuse_bytes"`
}

// buildInfo is the labels of a service's mcpbox_<service>_build_info.
type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"go_version"`
}

// parseMetrics reads the Prometheus text exposition of one service: the three gauges the soak samples (each must
// be there) and, when present, the labels of its build_info.
func parseMetrics(r io.Reader) (serviceSample, buildInfo, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return serviceSample{}, buildInfo{}, fmt.Errorf("metrics: %w", err)
	}
	var s serviceSample
	for name, dst := range map[string]*float64{metricGoroutines: &s.Goroutines, metricRSS: &s.RSSBytes, metricHeapInuse: &s.HeapInuseBytes} {
		f := families[name]
		if f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge() == nil {
			return serviceSample{}, buildInfo{}, fmt.Errorf("metrics: no single gauge %s", name)
		}
		*dst = f.GetMetric()[0].GetGauge().GetValue()
	}
	var bi buildInfo
	for name, f := range families {
		if !strings.HasPrefix(name, "mcpbox_") || !strings.HasSuffix(name, "_build_info") || len(f.GetMetric()) == 0 {
			continue
		}
		bi = buildInfoOf(f.GetMetric()[0])
	}
	return s, bi, nil
}

// buildInfoOf reads the version, revision and go_version labels.
func buildInfoOf(m *dto.Metric) buildInfo {
	var bi buildInfo
	for _, lp := range m.GetLabel() {
		switch lp.GetName() {
		case "version":
			bi.Version = lp.GetValue()
		case "revision":
			bi.Revision = lp.GetValue()
		case "go_version":
			bi.GoVersion = lp.GetValue()
		}
	}
	return bi
}

// scrape reads one service's /metrics.
func scrape(ctx context.Context, hc *http.Client, url string) (serviceSample, buildInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return serviceSample{}, buildInfo{}, fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return serviceSample{}, buildInfo{}, fmt.Errorf("GET %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return serviceSample{}, buildInfo{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	s, bi, err := parseMetrics(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return serviceSample{}, buildInfo{}, fmt.Errorf("GET %s: %w", url, err)
	}
	return s, bi, nil
}

// metricsEndpoint is where one service of the stack serves /metrics.
type metricsEndpoint struct {
	service string
	url     string
}

// metricsEndpoints lists every service's /metrics on the stack at offset (operations.md §3.4): the backend's
// internal listener, the gateway's local listener, the sandbox's listener and the edge's admin listener.
func metricsEndpoints(offset int) []metricsEndpoint {
	return []metricsEndpoint{
		{"backend", loopbackURL(devPortBackendInternal, offset, "/metrics")},
		{"gateway", loopbackURL(devPortGatewayLocal, offset, "/metrics")},
		{"sandbox", loopbackURL(devPortSandbox, offset, "/metrics")},
		{"edge", loopbackURL(devPortEdgeAdmin, offset, "/metrics")},
	}
}
