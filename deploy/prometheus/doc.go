// Package prometheus holds MCPbox's Prometheus material (operations.md §3.4, §3.7), which is data, not code:
//
//   - catalogue.json: every metric the four services export (name, type, labels, unit, service);
//   - rules.yaml: the recording and alerting rules, a plain Prometheus rule file that deploy/k8s wraps in a PrometheusRule;
//   - rules_test.yaml: promtool unit tests, run by `promtool test rules rules_test.yaml` in make test's deploy stage;
//   - RUNBOOK.md: one section per alert, the target of each alert's runbook annotation.
//
// The Go tests in this directory (OPS-21) check what promtool cannot: that the catalogue follows the naming rules, that every
// alert is annotated, linked to an existing runbook section and covered by a firing and a non-firing promtool case, and that
// every metric a rule uses is catalogued. To add an alert: add the rule, a runbook section whose heading is the alert name, and
// both promtool cases; the tests name whatever is missing.
package prometheus
