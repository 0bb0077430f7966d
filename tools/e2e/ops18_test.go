package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// catalogueEntry is one metric of deploy/prometheus/catalogue.json
// (operations.md §3.4).
type catalogueEntry struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Labels  []string `json:"labels"`
	Unit    string   `json:"unit"`
	Service string   `json:"service"`
}

// metricsURLs are the e2e stack's /metrics endpoints by service.
func metricsURLs() map[string]string {
	return map[string]string{
		"backend": "http://127.0.0.1:18004/metrics", "gateway": "http://127.0.0.1:18002/metrics",
		"sandbox": "http://127.0.0.1:18001/metrics", "edge": "http://127.0.0.1:19080/metrics",
	}
}

// checkLiveMetrics is OPS-18 on the running e2e stack: each service's live
// /metrics passes `promtool check metrics`, and exposes exactly its entries
// of deploy/prometheus/catalogue.json (name, type, label names; enum
// series start at zero, so every entry without a traffic label is present
// from the start) plus go_* and process_* (and promhttp's own promhttp_*
// counters).
func checkLiveMetrics(t *testing.T) {
	t.Helper()
	byService := map[string]map[string]catalogueEntry{}
	for _, e := range readCatalogue(t) {
		if byService[e.Service] == nil {
			byService[e.Service] = map[string]catalogueEntry{}
		}
		byService[e.Service][e.Name] = e
	}
	for svc, url := range metricsURLs() {
		code, body := get(t, url)
		if code != 200 {
			t.Errorf("%s /metrics: %d", svc, code)
			continue
		}
		promtoolCheck(t, svc, body)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Errorf("%s /metrics does not parse: %v", svc, err)
			continue
		}
		want := byService[svc]
		for name, f := range families {
			if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
				continue
			}
			e, ok := want[name]
			if !ok {
				t.Errorf("%s exposes %s, which deploy/prometheus/catalogue.json does not list", svc, name)
				continue
			}
			if got := strings.ToLower(f.GetType().String()); got != e.Type {
				t.Errorf("%s: %s is a %s, the catalogue says %s", svc, name, got, e.Type)
			}
			if got := labelNames(f); !slices.Equal(got, slices.Sorted(slices.Values(e.Labels))) {
				t.Errorf("%s: %s has labels %v, the catalogue says %v", svc, name, got, e.Labels)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(want)) {
			if _, ok := families[name]; !ok && !slices.ContainsFunc(want[name].Labels, trafficLabel) {
				t.Errorf("%s does not expose %s of the catalogue (series of closed label sets start at zero)", svc, name)
			}
		}
	}
}

// trafficLabel reports whether a label takes its values from the traffic
// served (operations.md §3.3: route, code, server, tool, table, key_id, and
// the HTTP method), so its family has no series before that traffic.
func trafficLabel(label string) bool {
	return slices.Contains([]string{"route", "code", "server", "tool", "table", "key_id", "method"}, label)
}

// readCatalogue reads deploy/prometheus/catalogue.json.
func readCatalogue(t *testing.T) []catalogueEntry {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", "catalogue.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []catalogueEntry
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("catalogue.json: %v", err)
	}
	return out
}

// labelNames is the sorted union of a family's label names.
func labelNames(f *dto.MetricFamily) []string {
	set := map[string]bool{}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			set[l.GetName()] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// promtoolCheck runs `promtool check metrics` on a /metrics body (Debian's
// prometheus package, which make test's deps stage installs).
func promtoolCheck(t *testing.T, svc, body string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not on PATH (make test's deps stage installs Debian's prometheus package): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics on %s's /metrics: %v\n%s", svc, err, out.String())
	}
}
