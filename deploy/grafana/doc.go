// Package grafana holds MCPbox's Grafana dashboard, mcpbox-overview.json (uid mcpbox-overview, operations.md §3.6).
// It is data, not code: import it into Grafana (Dashboards → New → Import) or provision it from a ConfigMap.
//
// The Go tests in this directory (OPS-20) decode it strictly with grafana-foundation-sdk, parse every PromQL expression,
// check each metric against deploy/prometheus/catalogue.json and the recording rules in deploy/prometheus/rules.yaml, and
// check the panel set, ids, units, titles and the ${datasource} variable, including panels nested in collapsed rows.
// Edit the JSON in Grafana's JSON model view or by hand; the tests name any panel that breaks a rule.
package grafana
