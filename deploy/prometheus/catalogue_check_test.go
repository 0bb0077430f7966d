package prometheus_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/deploy/internal/promcat"
)

// metricNameRE is operations.md §3.3's naming rule: mcpbox_<service>_<what>[_<unit>].
var metricNameRE = regexp.MustCompile(`^mcpbox_(backend|gateway|sandbox|edge)_[a-z][a-z0-9_]*[a-z0-9]$`)

var labelNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// unitOf returns the unit a metric name's suffix declares; a counter's unit sits before its _total
// (mcpbox_edge_body_bytes_total counts bytes).
func unitOf(name string) string {
	base := strings.TrimSuffix(name, "_total")
	for _, u := range []string{"timestamp_seconds", "seconds", "bytes"} {
		if strings.HasSuffix(base, "_"+u) {
			return u
		}
	}
	return ""
}

// catalogueProblems checks the catalogue's own rules (operations.md §3.3, §3.4) and returns one line per
// problem, naming the metric and the rule it breaks. raw is the file as stored, checked for its canonical
// formatting (sorted by name, 2-space indent, trailing newline) so that `make generate` output and hand
// edits cannot diverge.
func catalogueProblems(metrics []promcat.Metric, raw []byte) []string {
	var problems []string
	add := func(name, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("metric %q: ", name)+fmt.Sprintf(format, args...))
	}
	seen := map[string]bool{}
	for i, m := range metrics {
		if seen[m.Name] {
			add(m.Name, "listed twice; each metric appears once")
		}
		seen[m.Name] = true
		if i > 0 && metrics[i-1].Name > m.Name {
			add(m.Name, "out of order: it follows %q, but entries are sorted by name", metrics[i-1].Name)
		}
		if !metricNameRE.MatchString(m.Name) {
			add(m.Name, "name must match mcpbox_<backend|gateway|sandbox|edge>_<what>")
		} else if want := "mcpbox_" + m.Service + "_"; !strings.HasPrefix(m.Name, want) {
			add(m.Name, "service %q, but the name must start with %q", m.Service, want)
		}
		switch m.Type {
		case "counter":
			if !strings.HasSuffix(m.Name, "_total") {
				add(m.Name, "a counter's name must end in _total")
			}
		case "gauge", "histogram":
			if strings.HasSuffix(m.Name, "_total") {
				add(m.Name, "only counters end in _total, but this is a %s", m.Type)
			}
		default:
			add(m.Name, "type %q must be counter, gauge or histogram", m.Type)
		}
		if m.Type == "histogram" && (strings.HasSuffix(m.Name, "_bucket") || strings.HasSuffix(m.Name, "_sum") || strings.HasSuffix(m.Name, "_count")) {
			add(m.Name, "a histogram is catalogued by its base name, without _bucket, _sum or _count")
		}
		if want := unitOf(m.Name); m.Unit != want {
			add(m.Name, "unit %q disagrees with the name's suffix, which says %q", m.Unit, want)
		}
		if m.Labels == nil {
			add(m.Name, "labels must be a list ([] when there are none)")
		}
		if !slices.IsSorted(m.Labels) || len(slices.Compact(slices.Clone(m.Labels))) != len(m.Labels) {
			add(m.Name, "labels %v must be sorted and distinct", m.Labels)
		}
		for _, l := range m.Labels {
			if !labelNameRE.MatchString(l) || l == "le" || l == "job" || l == "instance" {
				add(m.Name, "label %q must be snake_case and not le, job or instance (Prometheus owns those)", l)
			}
		}
	}
	canonical, err := json.MarshalIndent(metrics, "", "  ")
	if err == nil && string(raw) != string(canonical)+"\n" {
		problems = append(problems, "catalogue.json: not in canonical form (2-space indent, fields name, type, labels, unit, service, trailing newline)")
	}
	return problems
}

// TestOPS21_CatalogueFollowsMetricRules proves catalogue.json obeys operations.md §3.3 and §3.4: every name is
// mcpbox_<service>_…, matches its service, only counters end in _total, the unit agrees with the suffix, no metric
// is listed twice, entries are sorted, and the file is canonically formatted. It also pins the four build_info gauges
// and the three service_token_checks_total counters that dashboards and alerts rely on.
func TestOPS21_CatalogueFollowsMetricRules(t *testing.T) {
	t.Parallel()
	raw, metrics := readFile(t, "catalogue.json"), deployedCatalogue(t)
	for _, p := range catalogueProblems(metrics, raw) {
		t.Error(p)
	}
	byName := map[string]promcat.Metric{}
	for _, m := range metrics {
		byName[m.Name] = m
	}
	for _, svc := range []string{"backend", "gateway", "sandbox", "edge"} {
		if m, ok := byName["mcpbox_"+svc+"_build_info"]; !ok || m.Type != "gauge" || !slices.Equal(m.Labels, []string{"go_version", "revision", "version"}) {
			t.Errorf("mcpbox_%s_build_info: want a gauge labelled go_version, revision, version; got %+v", svc, m)
		}
	}
	for _, svc := range []string{"backend", "gateway", "sandbox"} {
		if _, ok := byName["mcpbox_"+svc+"_service_token_checks_total"]; !ok {
			t.Errorf("mcpbox_%s_service_token_checks_total: missing; every token receiver counts its checks", svc)
		}
	}
}

// TestOPS21_CatalogueChecksRejectBadEntries proves each catalogue rule fires on a broken fixture, with a
// message naming the metric and the rule.
func TestOPS21_CatalogueChecksRejectBadEntries(t *testing.T) {
	t.Parallel()
	good := promcat.Metric{Name: "mcpbox_edge_inflight", Type: "gauge", Labels: []string{}, Service: "edge"}
	cases := []struct {
		name    string
		metrics []promcat.Metric
		want    []string
	}{
		{
			"gauge ending in _total",
			[]promcat.Metric{{Name: "mcpbox_edge_open_total", Type: "gauge", Labels: []string{}, Service: "edge"}},
			[]string{`"mcpbox_edge_open_total"`, "only counters end in _total"},
		},
		{
			"counter without _total",
			[]promcat.Metric{{Name: "mcpbox_edge_panics", Type: "counter", Labels: []string{}, Service: "edge"}},
			[]string{`"mcpbox_edge_panics"`, "must end in _total"},
		},
		{
			"unit disagrees with suffix",
			[]promcat.Metric{{Name: "mcpbox_edge_jwks_age_seconds", Type: "gauge", Labels: []string{}, Service: "edge"}},
			[]string{`"mcpbox_edge_jwks_age_seconds"`, `unit "" disagrees`, `"seconds"`},
		},
		{
			"wrong prefix",
			[]promcat.Metric{{Name: "edge_inflight", Type: "gauge", Labels: []string{}, Service: "edge"}},
			[]string{`"edge_inflight"`, "must match mcpbox_"},
		},
		{
			"service disagrees with prefix",
			[]promcat.Metric{{Name: "mcpbox_edge_sessions", Type: "gauge", Labels: []string{}, Service: "gateway"}},
			[]string{`"mcpbox_edge_sessions"`, `must start with "mcpbox_gateway_"`},
		},
		{
			"duplicate",
			[]promcat.Metric{good, good},
			[]string{`"mcpbox_edge_inflight"`, "listed twice"},
		},
		{
			"unsorted",
			[]promcat.Metric{good, {Name: "mcpbox_backend_schema_version", Type: "gauge", Labels: []string{}, Service: "backend"}},
			[]string{`"mcpbox_backend_schema_version"`, "sorted by name"},
		},
		{
			"unknown type",
			[]promcat.Metric{{Name: "mcpbox_edge_keys", Type: "summary", Labels: []string{}, Service: "edge"}},
			[]string{`"mcpbox_edge_keys"`, "must be counter, gauge or histogram"},
		},
		{
			"reserved label",
			[]promcat.Metric{{Name: "mcpbox_edge_upstream_duration_seconds", Type: "histogram", Labels: []string{"le"}, Unit: "seconds", Service: "edge"}},
			[]string{`"mcpbox_edge_upstream_duration_seconds"`, `label "le"`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			raw, err := json.MarshalIndent(c.metrics, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			assertProblem(t, catalogueProblems(c.metrics, append(raw, '\n')), c.want...)
		})
	}
	t.Run("not canonical", func(t *testing.T) {
		t.Parallel()
		raw := []byte(`[{"name":"mcpbox_edge_inflight","type":"gauge","labels":[],"unit":"","service":"edge"}]`)
		assertProblem(t, catalogueProblems([]promcat.Metric{good}, raw), "catalogue.json", "canonical form")
	})
	t.Run("unknown field", func(t *testing.T) {
		t.Parallel()
		_, err := promcat.ParseCatalogue([]byte(`[{"name":"mcpbox_edge_inflight","typ":"gauge"}]`))
		if err == nil || !strings.Contains(err.Error(), `"typ"`) {
			t.Errorf("strict decode: err = %v, want one naming the unknown field \"typ\"", err)
		}
	})
}

// assertProblem fails unless at least one problem contains every fragment of want, printing all problems
// otherwise.
func assertProblem(t *testing.T, problems []string, want ...string) {
	t.Helper()
	for _, p := range problems {
		if containsAll(p, want) {
			return
		}
	}
	t.Errorf("no problem contains all of %q; got:\n%s", want, strings.Join(problems, "\n"))
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
