package promcat_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/deploy/internal/promcat"
)

// TestMetricNames proves the selector walk finds names in nested calls, range vectors, binary operands
// and __name__ matchers, ignores function names such as time(), and refuses regex-selected metrics.
func TestMetricNames(t *testing.T) {
	t.Parallel()
	got, err := promcat.MetricNames(`sum(rate(a_total{x="1"}[5m])) / on() group_left b + {__name__="c"} - time() or absent(up)`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a_total", "b", "c", "up"}; !slices.Equal(got, want) {
		t.Errorf("MetricNames = %v, want %v", got, want)
	}
	if _, err := promcat.MetricNames(`{__name__=~"mcpbox_.*"}`); err == nil || !strings.Contains(err.Error(), "__name__") {
		t.Errorf("regex __name__: err = %v, want an error naming __name__", err)
	}
	if _, err := promcat.MetricNames(`sum(rate(x[5m])`); err == nil {
		t.Error("unbalanced parenthesis parsed without error")
	}
}

// TestVocabulary proves histogram series, recording rules and the standard exporters' names are known,
// and that anything else is reported as unknown.
func TestVocabulary(t *testing.T) {
	t.Parallel()
	v := promcat.NewVocabulary([]promcat.Metric{
		{Name: "mcpbox_edge_upstream_duration_seconds", Type: "histogram"},
		{Name: "mcpbox_edge_inflight", Type: "gauge"},
	}, []string{"job:mcpbox_edge_inflight:max"})
	for _, n := range []string{
		"mcpbox_edge_upstream_duration_seconds_bucket", "mcpbox_edge_upstream_duration_seconds_count",
		"mcpbox_edge_inflight", "job:mcpbox_edge_inflight:max", "up", "go_goroutines", "process_resident_memory_bytes",
	} {
		if !v.Knows(n) {
			t.Errorf("Knows(%q) = false, want true", n)
		}
	}
	unknown, err := v.Unknown(`mcpbox_edge_inflight_bucket + mcpbox_edge_inflight + mcpbox_edge_made_up`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"mcpbox_edge_inflight_bucket", "mcpbox_edge_made_up"}; !slices.Equal(unknown, want) {
		t.Errorf("Unknown = %v, want %v", unknown, want)
	}
}
