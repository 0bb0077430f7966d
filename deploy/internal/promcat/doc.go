// Package promcat gives the deploy tests one view of MCPbox's metric vocabulary: the metric catalogue
// (deploy/prometheus/catalogue.json, operations.md §3.4), the recording and alert rules
// (deploy/prometheus/rules.yaml, §3.7) and the metric names a PromQL expression selects.
//
// The Prometheus rule tests (OPS-21) and the Grafana dashboard tests (OPS-20) both ask "is every metric
// this expression uses one we define?"; this package answers it once so the two cannot drift apart.
package promcat
