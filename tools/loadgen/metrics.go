package main

import (
	"fmt"
	"strconv"
	"strings"
)

// coldStartsMetric counts executions that found no idle worker (services/sandbox/internal/pool/metrics.go).
const coldStartsMetric = "mcpbox_sandbox_pool_cold_starts_total"

// metricValue is the value of the counter name in Prometheus text exposition format, summed over its label sets.
// Only the lines of that exact name count: a longer name sharing the prefix is another metric.
func metricValue(text, name string) (float64, error) {
	var (
		sum   float64
		found bool
	)
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return 0, fmt.Errorf("metric line %q: unclosed label set", truncate(line, 120))
			}
			rest = rest[end+1:]
		case strings.HasPrefix(rest, " "), strings.HasPrefix(rest, "\t"):
		default:
			continue
		}
		fields := strings.Fields(rest) // value, then an optional timestamp
		if len(fields) == 0 {
			return 0, fmt.Errorf("metric line %q: no value", truncate(line, 120))
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: value %q is not a number", truncate(line, 120), fields[0])
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no %s in the metrics: is the target a sandbox of this version?", name)
	}
	return sum, nil
}
