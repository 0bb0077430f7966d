package prometheus_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	"github.com/mcpbox/mcpbox/deploy/internal/promcat"
)

// unitTestFile is the part of promtool's unit-test format that rules_test.yaml uses; decoding it strictly
// means a misspelled key (which promtool might silently ignore) fails here.
type unitTestFile struct {
	RuleFiles          []string        `json:"rule_files"`
	EvaluationInterval string          `json:"evaluation_interval"`
	Tests              []unitTestGroup `json:"tests"`
}

type unitTestGroup struct {
	Name           string           `json:"name"`
	Interval       string           `json:"interval"`
	InputSeries    []inputSeries    `json:"input_series"`
	AlertRuleTests []alertTestCase  `json:"alert_rule_test"`
	PromQLExprTest []promqlExprTest `json:"promql_expr_test"`
}

type inputSeries struct {
	Series string `json:"series"`
	Values string `json:"values"`
}

type alertTestCase struct {
	EvalTime  string     `json:"eval_time"`
	Alertname string     `json:"alertname"`
	ExpAlerts []expAlert `json:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `json:"exp_labels"`
	ExpAnnotations map[string]string `json:"exp_annotations"`
}

type promqlExprTest struct {
	Expr       string      `json:"expr"`
	EvalTime   string      `json:"eval_time"`
	ExpSamples []expSample `json:"exp_samples"`
}

type expSample struct {
	Labels string  `json:"labels"`
	Value  float64 `json:"value"`
}

// where names a rule in messages: `alert "X" (group "g")` or `recording rule "r" (group "g")`.
func where(g promcat.RuleGroup, r promcat.Rule) string {
	if r.Alert != "" {
		return fmt.Sprintf("alert %q (group %q)", r.Alert, g.Name)
	}
	return fmt.Sprintf("recording rule %q (group %q)", r.Record, g.Name)
}

// ruleShapeProblems checks every rule's own fields (operations.md §3.7): exactly one of record/alert, a valid
// `for`, severity page or ticket, summary and description, and a runbook annotation equal to
// RUNBOOK.md#<alert name in lower case> whose anchor exists among anchors. Names are unique.
func ruleShapeProblems(f promcat.RuleFile, anchors map[string]bool) []string {
	var problems []string
	seen := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			w := where(g, r)
			add := func(format string, args ...any) { problems = append(problems, w+": "+fmt.Sprintf(format, args...)) }
			if (r.Alert == "") == (r.Record == "") {
				add("needs exactly one of alert and record")
				continue
			}
			if seen[r.Name()] {
				add("name used twice; rule names are unique")
			}
			seen[r.Name()] = true
			if r.Record != "" {
				if r.For != "" || len(r.Annotations) > 0 {
					add("a recording rule has no for or annotations")
				}
				continue
			}
			if _, err := model.ParseDuration(r.For); r.For != "" && err != nil {
				add("for %q is not a Prometheus duration: %v", r.For, err)
			}
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				add("severity label %q must be page or ticket", s)
			}
			for _, key := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[key]) == "" {
					add("needs a %s annotation", key)
				}
			}
			anchor := strings.ToLower(r.Alert)
			switch rb := r.Annotations["runbook"]; {
			case rb == "":
				add("needs a runbook annotation, RUNBOOK.md#%s", anchor)
			case rb != "RUNBOOK.md#"+anchor:
				add("runbook annotation %q must be RUNBOOK.md#%s", rb, anchor)
			case !anchors[anchor]:
				add("runbook anchor #%s has no section in RUNBOOK.md (add a heading %q)", anchor, "## "+r.Alert)
			}
		}
	}
	return problems
}

// ruleMetricProblems parses every rule expression with the Prometheus parser and names each metric that is
// neither catalogued, recorded by a rule in f, nor up/go_*/process_*.
func ruleMetricProblems(f promcat.RuleFile, catalogue []promcat.Metric) []string {
	var recorded []string
	for _, r := range f.RecordingRules() {
		recorded = append(recorded, r.Record)
	}
	vocab := promcat.NewVocabulary(catalogue, recorded)
	var problems []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			unknown, err := vocab.Unknown(r.Expr)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: expr does not parse: %v", where(g, r), err))
				continue
			}
			for _, n := range unknown {
				problems = append(problems, fmt.Sprintf("%s: expr uses metric %q, which is not in catalogue.json, not a recording rule and not up/go_*/process_*", where(g, r), n))
			}
		}
	}
	return problems
}

// coverageProblems checks that every alert has a firing case (an alert_rule_test with non-empty exp_alerts)
// and a non-firing case (one with empty exp_alerts), that every recording rule is evaluated by a
// promql_expr_test, and that test cases name only alerts that exist.
func coverageProblems(f promcat.RuleFile, tests unitTestFile) []string {
	firing, quiet, evaluated := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, g := range tests.Tests {
		for _, c := range g.AlertRuleTests {
			if len(c.ExpAlerts) > 0 {
				firing[c.Alertname] = true
			} else {
				quiet[c.Alertname] = true
			}
		}
		for _, c := range g.PromQLExprTest {
			names, err := promcat.MetricNames(c.Expr)
			if err == nil {
				for _, n := range names {
					evaluated[n] = true
				}
			}
		}
	}
	var problems []string
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			w := where(g, r)
			switch {
			case r.Alert != "":
				alerts[r.Alert] = true
				if !firing[r.Alert] {
					problems = append(problems, w+": no firing case in rules_test.yaml (an alert_rule_test with non-empty exp_alerts)")
				}
				if !quiet[r.Alert] {
					problems = append(problems, w+": no non-firing case in rules_test.yaml (an alert_rule_test with empty exp_alerts)")
				}
			case !evaluated[r.Record]:
				problems = append(problems, w+": not evaluated by any promql_expr_test in rules_test.yaml")
			}
		}
	}
	for _, g := range tests.Tests {
		for _, c := range g.AlertRuleTests {
			if !alerts[c.Alertname] {
				problems = append(problems, fmt.Sprintf("test group %q: alert_rule_test names alert %q, which rules.yaml does not define", g.Name, c.Alertname))
			}
		}
	}
	return problems
}

// inputSeriesProblems names input series whose metric is unknown: a typo there makes a non-firing case
// pass for the wrong reason.
func inputSeriesProblems(tests unitTestFile, vocab promcat.Vocabulary) []string {
	var problems []string
	for _, g := range tests.Tests {
		for _, s := range g.InputSeries {
			unknown, err := vocab.Unknown(s.Series)
			if err != nil {
				problems = append(problems, fmt.Sprintf("test group %q: input series %q does not parse: %v", g.Name, s.Series, err))
			}
			for _, n := range unknown {
				problems = append(problems, fmt.Sprintf("test group %q: input series uses metric %q, which is not in catalogue.json", g.Name, n))
			}
		}
	}
	return problems
}

var (
	headingRE      = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)
	anchorStripRE  = regexp.MustCompile(`[^\p{L}\p{N}\s_-]`)
	anchorSpacesRE = regexp.MustCompile(`\s`)
)

// runbookAnchors returns the anchors GitHub generates for the Markdown headings (outside code fences):
// lower case, punctuation removed, spaces as hyphens, repeats suffixed -1, -2, ….
func runbookAnchors(md []byte) map[string]bool {
	anchors := map[string]bool{}
	counts := map[string]int{}
	fenced := false
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		m := headingRE.FindStringSubmatch(line)
		if fenced || m == nil {
			continue
		}
		slug := anchorSpacesRE.ReplaceAllString(anchorStripRE.ReplaceAllString(strings.ToLower(m[1]), ""), "-")
		if n := counts[slug]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			anchors[slug] = true
		}
		counts[slug]++
	}
	return anchors
}

// deployed loads the real files of this directory.
func deployed(t *testing.T) (promcat.RuleFile, unitTestFile, []promcat.Metric, map[string]bool) {
	t.Helper()
	rules, err := promcat.ParseRules(readFile(t, "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tests unitTestFile
	if err := yaml.UnmarshalStrict(readFile(t, "rules_test.yaml"), &tests); err != nil {
		t.Fatalf("rules_test.yaml: %v", err)
	}
	return rules, tests, deployedCatalogue(t), runbookAnchors(readFile(t, "RUNBOOK.md"))
}

// deployedCatalogue parses catalogue.json.
func deployedCatalogue(t *testing.T) []promcat.Metric {
	t.Helper()
	catalogue, err := promcat.ParseCatalogue(readFile(t, "catalogue.json"))
	if err != nil {
		t.Fatal(err)
	}
	return catalogue
}

// readFile reads a file of this directory.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestOPS21_AlertsAreAnnotatedAndLinked proves every alert in rules.yaml has severity page|ticket, summary and
// description annotations, and a runbook annotation pointing to an existing RUNBOOK.md anchor; and that the
// runbook has no section for an alert that does not exist.
func TestOPS21_AlertsAreAnnotatedAndLinked(t *testing.T) {
	t.Parallel()
	rules, _, _, anchors := deployed(t)
	for _, p := range ruleShapeProblems(rules, anchors) {
		t.Error(p)
	}
	alerts := map[string]bool{}
	for _, r := range rules.Alerts() {
		alerts[strings.ToLower(r.Alert)] = true
	}
	for a := range anchors {
		if strings.HasPrefix(a, "mcpbox") && !strings.Contains(a, "-") && !alerts[a] { // alert-named sections only
			t.Errorf("RUNBOOK.md: section #%s belongs to no alert in rules.yaml", a)
		}
	}
}

// TestOPS21_AlertsHaveFiringAndQuietCases proves every alert has a firing and a non-firing promtool case, every
// recording rule is evaluated, the test file loads rules.yaml, and its input series use catalogued metrics.
func TestOPS21_AlertsHaveFiringAndQuietCases(t *testing.T) {
	t.Parallel()
	rules, tests, catalogue, _ := deployed(t)
	if !slices.Equal(tests.RuleFiles, []string{"rules.yaml"}) {
		t.Errorf("rules_test.yaml: rule_files = %v, want [rules.yaml]", tests.RuleFiles)
	}
	for _, p := range coverageProblems(rules, tests) {
		t.Error(p)
	}
	for _, p := range inputSeriesProblems(tests, promcat.NewVocabulary(catalogue, nil)) {
		t.Error(p)
	}
}

// TestOPS21_RuleMetricsAreCatalogued proves every metric a rule expression selects (parsed with the Prometheus
// PromQL parser) is in catalogue.json, a recording rule, or up/go_*/process_*.
func TestOPS21_RuleMetricsAreCatalogued(t *testing.T) {
	t.Parallel()
	rules, _, catalogue, _ := deployed(t)
	for _, p := range ruleMetricProblems(rules, catalogue) {
		t.Error(p)
	}
}

// specAlert is one row of operations.md §3.7's alert table.
type specAlert struct{ name, forDuration, severity string }

// specAlerts returns operations.md §3.7's alerts with their for and severity.
func specAlerts() []specAlert {
	return []specAlert{
		{"MCPboxBackendDown", "2m", "page"},
		{"MCPboxGatewayDown", "2m", "page"},
		{"MCPboxSandboxDown", "2m", "page"},
		{"MCPboxEdgeDown", "2m", "page"},
		{"MCPboxPlatformErrorRateHigh", "5m", "page"},
		{"MCPboxToolErrorRateHigh", "15m", "ticket"},
		{"MCPboxSandboxSaturated", "10m", "ticket"},
		{"MCPboxSandboxRejecting", "5m", "page"},
		{"MCPboxSandboxSeccompViolation", "0m", "ticket"},
		{"MCPboxJWKSRefreshFailing", "5m", "ticket"},
		{"MCPboxJWKSFetchErrors", "15m", "ticket"},
		{"MCPboxEdgeJWTRejectionsHigh", "15m", "ticket"},
		{"MCPboxEdgeUpstreamErrors", "10m", "ticket"},
		{"MCPboxExecutionRecordsDropped", "0m", "ticket"},
		{"MCPboxCatalogStale", "5m", "ticket"},
		{"MCPboxDBPoolSaturated", "10m", "ticket"},
		{"MCPboxServiceTokenRejected", "0m", "ticket"},
		{"MCPboxAdminLoginFailuresHigh", "0m", "ticket"},
		{"MCPboxRetentionNotRunning", "1h", "ticket"},
		{"MCPboxCertificateExpiringSoon", "10m", "ticket"},
		{"MCPboxCertificateExpiringImminent", "10m", "page"},
	}
}

// TestOPS21_RulesMatchSpec proves rules.yaml holds exactly the recording rules and alerts of operations.md §3.7,
// each alert with the table's for and severity, and that the availability alerts select the four scrape jobs
// (the optional edge without absent()).
func TestOPS21_RulesMatchSpec(t *testing.T) {
	t.Parallel()
	rules, _, _, _ := deployed(t)
	var recorded []string
	for _, r := range rules.RecordingRules() {
		recorded = append(recorded, r.Record)
	}
	wantRecorded := []string{
		"tool:mcpbox_gateway_tool_calls:rate5m", "tool:mcpbox_gateway_tool_call_errors:ratio_rate5m",
		"kind_le:mcpbox_gateway_tool_call_duration_seconds_bucket:rate5m", "code:mcpbox_backend_http_requests:rate5m",
	}
	if !slices.Equal(recorded, wantRecorded) {
		t.Errorf("recording rules = %v, want %v", recorded, wantRecorded)
	}
	got := map[string]promcat.Rule{}
	for _, r := range rules.Alerts() {
		got[r.Alert] = r
	}
	if len(got) != len(specAlerts()) {
		t.Errorf("rules.yaml has %d alerts, operations.md §3.7 lists %d", len(got), len(specAlerts()))
	}
	for _, want := range specAlerts() {
		r, ok := got[want.name]
		if !ok {
			t.Errorf("alert %q: missing from rules.yaml", want.name)
			continue
		}
		gotFor, err := model.ParseDuration(r.For)
		wantFor, _ := model.ParseDuration(want.forDuration)
		if r.For == "" {
			gotFor, err = 0, nil
		}
		if err != nil || gotFor != wantFor {
			t.Errorf("alert %q: for = %q, want %s", want.name, r.For, want.forDuration)
		}
		if r.Labels["severity"] != want.severity {
			t.Errorf("alert %q: severity = %q, want %s", want.name, r.Labels["severity"], want.severity)
		}
	}
	for _, svc := range []string{"backend", "gateway", "sandbox", "edge"} {
		r := got["MCPbox"+strings.ToUpper(svc[:1])+svc[1:]+"Down"]
		sel := fmt.Sprintf(`up{job="mcpbox-%s"}`, svc)
		wantAbsent := svc != "edge"
		if !strings.Contains(r.Expr, "sum("+sel+") == 0") || strings.Contains(r.Expr, "absent("+sel+")") != wantAbsent {
			t.Errorf("alert %q: expr %q must be sum(%s) == 0, with absent() unless the job is the optional edge", r.Alert, r.Expr, sel)
		}
	}
}

// TestOPS21_RuleChecksRejectBadRules proves the checks above fail on broken fixtures, each with a message naming
// the alert (or test group) and the rule it breaks.
func TestOPS21_RuleChecksRejectBadRules(t *testing.T) {
	t.Parallel()
	catalogue := []promcat.Metric{{Name: "mcpbox_edge_inflight", Type: "gauge", Labels: []string{}, Service: "edge"}}
	fixture := func(t *testing.T, src string) promcat.RuleFile {
		t.Helper()
		f, err := promcat.ParseRules([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	const annotated = `
        labels: {severity: ticket}
        annotations: {summary: s, description: d, runbook: "RUNBOOK.md#mcpboxedgebusy"}`
	anchors := map[string]bool{"mcpboxedgebusy": true}

	t.Run("uncatalogued metric", func(t *testing.T) {
		t.Parallel()
		f := fixture(t, `
groups:
  - name: g
    rules:
      - alert: MCPboxEdgeBusy
        expr: max(mcpbox_edge_inflight) > 100 and max(mcpbox_edge_inflight_requests) > 0`+annotated)
		assertProblem(t, ruleMetricProblems(f, catalogue), `alert "MCPboxEdgeBusy"`, `"mcpbox_edge_inflight_requests"`, "not in catalogue.json")
	})
	t.Run("recorded metric is known", func(t *testing.T) {
		t.Parallel()
		f := fixture(t, `
groups:
  - name: g
    rules:
      - record: job:mcpbox_edge_inflight:max
        expr: max by (job) (mcpbox_edge_inflight)
      - alert: MCPboxEdgeBusy
        expr: job:mcpbox_edge_inflight:max > 100 and up == 1`+annotated)
		if p := ruleMetricProblems(f, catalogue); len(p) > 0 {
			t.Errorf("recording rule and up were reported: %v", p)
		}
	})
	t.Run("unparseable expr", func(t *testing.T) {
		t.Parallel()
		f := fixture(t, `
groups:
  - name: g
    rules:
      - alert: MCPboxEdgeBusy
        expr: max(mcpbox_edge_inflight > 100`+annotated)
		assertProblem(t, ruleMetricProblems(f, catalogue), `alert "MCPboxEdgeBusy"`, "does not parse")
	})
	t.Run("alert without runbook", func(t *testing.T) {
		t.Parallel()
		f := fixture(t, `
groups:
  - name: g
    rules:
      - alert: MCPboxEdgeBusy
        expr: max(mcpbox_edge_inflight) > 100
        labels: {severity: ticket}
        annotations: {summary: s, description: d}`)
		assertProblem(t, ruleShapeProblems(f, anchors), `alert "MCPboxEdgeBusy"`, "needs a runbook annotation")
	})
	t.Run("runbook anchor missing", func(t *testing.T) {
		t.Parallel()
		f := fixture(t, `
groups:
  - name: g
    rules:
      - alert: MCPboxEdgeBusy
        expr: max(mcpbox_edge_inflight) > 100`+annotated)
		assertProblem(t, ruleShapeProblems(f, map[string]bool{}), `alert "MCPboxEdgeBusy"`, "#mcpboxedgebusy has no section")
	})
	t.Run("bad severity and missing summary", func(t *testing.T) {
		t.Parallel()
		f := fixture(t, `
groups:
  - name: g
    rules:
      - alert: MCPboxEdgeBusy
        expr: max(mcpbox_edge_inflight) > 100
        labels: {severity: critical}
        annotations: {description: d, runbook: "RUNBOOK.md#mcpboxedgebusy"}`)
		problems := ruleShapeProblems(f, anchors)
		assertProblem(t, problems, `alert "MCPboxEdgeBusy"`, `severity label "critical" must be page or ticket`)
		assertProblem(t, problems, `alert "MCPboxEdgeBusy"`, "needs a summary annotation")
	})
	t.Run("unknown field", func(t *testing.T) {
		t.Parallel()
		_, err := promcat.ParseRules([]byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotation: {}\n"))
		if err == nil || !strings.Contains(err.Error(), "annotation") {
			t.Errorf("strict decode: err = %v, want one naming the unknown field annotation", err)
		}
	})
	t.Run("alert without non-firing case", func(t *testing.T) {
		t.Parallel()
		f := fixture(t, `
groups:
  - name: g
    rules:
      - alert: MCPboxEdgeBusy
        expr: max(mcpbox_edge_inflight) > 100`+annotated)
		tests := unitTestFile{Tests: []unitTestGroup{{Name: "busy", AlertRuleTests: []alertTestCase{
			{EvalTime: "5m", Alertname: "MCPboxEdgeBusy", ExpAlerts: []expAlert{{ExpLabels: map[string]string{"severity": "ticket"}}}},
			{EvalTime: "5m", Alertname: "MCPboxEdgeBusyTypo"},
		}}}}
		problems := coverageProblems(f, tests)
		assertProblem(t, problems, `alert "MCPboxEdgeBusy"`, "no non-firing case")
		assertProblem(t, problems, `test group "busy"`, `"MCPboxEdgeBusyTypo"`, "does not define")
	})
	t.Run("alert without firing case and unevaluated recording rule", func(t *testing.T) {
		t.Parallel()
		f := fixture(t, `
groups:
  - name: g
    rules:
      - record: job:mcpbox_edge_inflight:max
        expr: max by (job) (mcpbox_edge_inflight)
      - alert: MCPboxEdgeBusy
        expr: max(mcpbox_edge_inflight) > 100`+annotated)
		tests := unitTestFile{Tests: []unitTestGroup{{Name: "idle", AlertRuleTests: []alertTestCase{{EvalTime: "5m", Alertname: "MCPboxEdgeBusy"}}}}}
		problems := coverageProblems(f, tests)
		assertProblem(t, problems, `alert "MCPboxEdgeBusy"`, "no firing case")
		assertProblem(t, problems, `recording rule "job:mcpbox_edge_inflight:max"`, "not evaluated")
	})
	t.Run("misspelled input series", func(t *testing.T) {
		t.Parallel()
		tests := unitTestFile{Tests: []unitTestGroup{{Name: "busy", InputSeries: []inputSeries{{Series: `mcpbox_edge_inflite{job="mcpbox-edge"}`, Values: "1x5"}}}}}
		assertProblem(t, inputSeriesProblems(tests, promcat.NewVocabulary(catalogue, nil)), `test group "busy"`, `"mcpbox_edge_inflite"`)
	})
}

// TestRunbookAnchors proves the anchor rule matches GitHub's for the headings the runbook uses.
func TestRunbookAnchors(t *testing.T) {
	t.Parallel()
	got := runbookAnchors([]byte("# MCPbox alert runbook\n## MCPboxBackendDown\n```\n## not a heading\n```\n## Checks: first!\n## Checks: first!\n"))
	for _, want := range []string{"mcpbox-alert-runbook", "mcpboxbackenddown", "checks-first", "checks-first-1"} {
		if !got[want] {
			t.Errorf("anchor %q missing from %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a line inside a code fence produced an anchor")
	}
}
