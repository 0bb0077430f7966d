package main

import (
	"strings"
	"testing"
)

func TestMetricValue(t *testing.T) {
	t.Parallel()
	const help = "# HELP mcpbox_sandbox_pool_cold_starts_total Executions that found no idle worker.\n" +
		"# TYPE mcpbox_sandbox_pool_cold_starts_total counter\n"
	tests := []struct {
		name    string
		text    string
		want    float64
		wantErr string
	}{
		{"plain", help + "mcpbox_sandbox_pool_cold_starts_total 3\n", 3, ""},
		{"among others", "go_goroutines 12\n" + help + "mcpbox_sandbox_pool_cold_starts_total 41\nmcpbox_sandbox_pool_warm 4\n", 41, ""},
		{"labels summed", `mcpbox_sandbox_pool_cold_starts_total{reason="empty"} 2` + "\n" + `mcpbox_sandbox_pool_cold_starts_total{reason="a}b"} 5`, 7, ""},
		{"timestamp", "mcpbox_sandbox_pool_cold_starts_total 4 1700000000000\n", 4, ""},
		{"exponent", "mcpbox_sandbox_pool_cold_starts_total 1.5e+06\n", 1.5e6, ""},
		{"crlf and indentation", "  mcpbox_sandbox_pool_cold_starts_total\t9\r\n", 9, ""},
		{"longer name is another metric", "mcpbox_sandbox_pool_cold_starts_total_created 1.7e9\nmcpbox_sandbox_pool_cold_starts_total 1\n", 1, ""},
		{"missing", help + "mcpbox_sandbox_pool_cold_starts_totalx 5\n", 0, "no mcpbox_sandbox_pool_cold_starts_total"},
		{"empty", "", 0, "no mcpbox_sandbox_pool_cold_starts_total"},
		{"not a number", "mcpbox_sandbox_pool_cold_starts_total many\n", 0, "not a number"},
		{"no value", "mcpbox_sandbox_pool_cold_starts_total{a=\"b\"}\n", 0, "no value"},
		{"unclosed labels", "mcpbox_sandbox_pool_cold_starts_total{a=\"b\" 3\n", 0, "unclosed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := metricValue(tt.text, coldStartsMetric)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
