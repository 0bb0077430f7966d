package grafana_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/deploy/internal/promcat"
)

// vocabulary loads the metric names queries may use: ../prometheus/catalogue.json and the recording rules of
// ../prometheus/rules.yaml.
func vocabulary(t *testing.T) promcat.Vocabulary {
	t.Helper()
	catalogue, err := promcat.ParseCatalogue(readFile(t, "../prometheus/catalogue.json"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := promcat.ParseRules(readFile(t, "../prometheus/rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var recorded []string
	for _, r := range rules.RecordingRules() {
		recorded = append(recorded, r.Record)
	}
	return promcat.NewVocabulary(catalogue, recorded)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func decode(t *testing.T, data []byte) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// allProblems runs every §3.6 check.
func allProblems(data []byte, d dashboard, vocab promcat.Vocabulary) []string {
	panels := walk(d)
	problems := strictProblems(data, d)
	problems = append(problems, panelProblems(panels, vocab)...)
	problems = append(problems, layoutProblems(panels)...)
	return append(problems, variableProblems(d, vocab)...)
}

// TestOPS20_DashboardPassesChecks proves mcpbox-overview.json passes every operations.md §3.6 check: it decodes
// strictly with grafana-foundation-sdk v0.0.22 (an empty BuildErrors counting as success); every panel, those inside
// collapsed rows included, has a unique id, a title, a unit and the ${datasource} data source; every expression
// parses as PromQL once Grafana's variables are substituted and uses only catalogued or recorded metrics; every
// required panel sits in its row with its unit; and the datasource and tool variables are as specified.
func TestOPS20_DashboardPassesChecks(t *testing.T) {
	t.Parallel()
	data := readFile(t, "mcpbox-overview.json")
	d := decode(t, data)
	if d.UID != "mcpbox-overview" {
		t.Errorf("uid = %q, want mcpbox-overview", d.UID)
	}
	for _, p := range allProblems(data, d, vocabulary(t)) {
		t.Error(p)
	}
	nested, exprs := 0, 0
	for _, p := range walk(d) {
		if p.nested {
			nested++
		}
		exprs += len(p.Targets)
	}
	if nested == 0 || exprs < len(requiredPanels()) {
		t.Errorf("walked %d nested panels and %d queries; the walk must reach collapsed rows' panels", nested, exprs)
	}
}

// fixture returns a small dashboard that passes the panel, variable and strict checks: a collapsed row holding one
// timeseries panel. Negative cases mutate it.
func fixture() map[string]any {
	ds := map[string]any{"type": "prometheus", "uid": "${datasource}"}
	return map[string]any{
		"uid": "fixture", "title": "fixture", "schemaVersion": 39,
		"annotations": map[string]any{"list": []any{}},
		"templating": map[string]any{"list": []any{
			map[string]any{"type": "datasource", "name": "datasource", "query": "prometheus"},
			map[string]any{
				"type": "query", "name": "tool", "datasource": ds, "multi": true, "includeAll": true,
				"query": map[string]any{"query": "label_values(mcpbox_gateway_tool_calls_total, tool)", "refId": "A"},
			},
		}},
		"panels": []any{map[string]any{
			"id": 1, "type": "row", "title": "Security", "collapsed": true,
			"gridPos": map[string]any{"h": 1, "w": 24, "x": 0, "y": 0},
			"panels": []any{map[string]any{
				"id": 2, "type": "timeseries", "title": "Edge JWT rejections by reason", "datasource": ds,
				"gridPos":     map[string]any{"h": 8, "w": 12, "x": 0, "y": 1},
				"fieldConfig": map[string]any{"defaults": map[string]any{"unit": "reqps"}, "overrides": []any{}},
				"targets": []any{map[string]any{
					"refId": "A", "datasource": ds,
					"expr": `sum by (reason) (rate(mcpbox_edge_jwt_rejections_total{reason!="no_token"}[$__rate_interval]))`,
				}},
			}},
		}},
	}
}

// nestedPanel returns the fixture's timeseries panel inside its collapsed row.
func nestedPanel(f map[string]any) map[string]any {
	row := f["panels"].([]any)[0].(map[string]any)
	return row["panels"].([]any)[0].(map[string]any)
}

// TestOPS20_ChecksRejectBrokenDashboards proves each check fails on a broken fixture, naming the panel (or variable)
// and the rule; the broken panel sits in a collapsed row, so each case also proves the nested walk.
func TestOPS20_ChecksRejectBrokenDashboards(t *testing.T) {
	t.Parallel()
	vocab := vocabulary(t)
	panelChecks := func(data []byte, d dashboard) []string {
		return append(strictProblems(data, d), append(panelProblems(walk(d), vocab), variableProblems(d, vocab)...)...)
	}
	cases := []struct {
		name   string
		mutate func(f map[string]any)
		want   []string
	}{
		{"fixture is clean", func(map[string]any) {}, nil},
		{"misspelled field", func(f map[string]any) {
			top := f["panels"].([]any)
			top = append(top, map[string]any{"id": 3, "type": "timeseries", "titel": "Oops", "title": "Oops"})
			f["panels"] = top
		}, []string{"strict decoding", `panel 3 "Oops"`, "titel"}},
		{"unparseable expr", func(f map[string]any) {
			nestedPanel(f)["targets"].([]any)[0].(map[string]any)["expr"] = `sum(rate(mcpbox_edge_jwt_rejections_total[$__rate_interval])`
		}, []string{`panel 2 "Edge JWT rejections by reason"`, "query A", "does not parse"}},
		{"uncatalogued metric", func(f map[string]any) {
			nestedPanel(f)["targets"].([]any)[0].(map[string]any)["expr"] = `sum(rate(mcpbox_edge_jwt_rejected_total[$__rate_interval]))`
		}, []string{`panel 2 "Edge JWT rejections by reason"`, `"mcpbox_edge_jwt_rejected_total"`, "not in catalogue.json"}},
		{"missing unit", func(f map[string]any) {
			nestedPanel(f)["fieldConfig"] = map[string]any{"defaults": map[string]any{}, "overrides": []any{}}
		}, []string{`panel 2 "Edge JWT rejections by reason"`, "no fieldConfig.defaults.unit"}},
		{"missing title", func(f map[string]any) {
			nestedPanel(f)["title"] = ""
		}, []string{`panel 2 ""`, "has no title"}},
		{"duplicate id", func(f map[string]any) {
			nestedPanel(f)["id"] = 1
		}, []string{`panel 1 "Edge JWT rejections by reason"`, `also used by panel 1 "Security"`, "unique"}},
		{"fixed datasource", func(f map[string]any) {
			nestedPanel(f)["datasource"] = map[string]any{"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}
		}, []string{`panel 2 "Edge JWT rejections by reason"`, "datasource must be", "${datasource}"}},
		{"tool variable single-select", func(f map[string]any) {
			f["templating"].(map[string]any)["list"].([]any)[1].(map[string]any)["multi"] = false
		}, []string{`variable "tool"`, "multi-select"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := fixture()
			c.mutate(f)
			data, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			problems := panelChecks(data, decode(t, data))
			if c.want == nil {
				if len(problems) > 0 {
					t.Errorf("clean fixture reported:\n%s", strings.Join(problems, "\n"))
				}
				return
			}
			for _, p := range problems {
				if containsAll(p, c.want) {
					return
				}
			}
			t.Errorf("no problem contains all of %q; got:\n%s", c.want, strings.Join(problems, "\n"))
		})
	}
}

// TestOPS20_LayoutChecksRejectMissingPanels proves the layout check names a missing required panel, a panel in the
// wrong row, a wrong unit, and a dashboard without a collapsed row.
func TestOPS20_LayoutChecksRejectMissingPanels(t *testing.T) {
	t.Parallel()
	unit := func(u string) (p panel) {
		p.FieldConfig.Defaults.Unit = u
		return p
	}
	id := func(i int) *int { return &i }
	tr := panel{ID: id(1), Type: "row", Title: "Traffic"}
	calls := unit("short")
	calls.ID, calls.Title = id(2), "Tool call rate"
	h := panel{ID: id(3), Type: "row", Title: "Health"}
	errRate := unit("percentunit")
	errRate.ID, errRate.Title = id(4), "Tool error rate"
	problems := layoutProblems(walk(dashboard{Panels: []panel{tr, calls, h, errRate}}))
	for _, want := range [][]string{
		{`panel 2 "Tool call rate"`, `unit "short", want "reqps"`},
		{`panel 4 "Tool error rate"`, "required in row Traffic", `"Health"`},
		{`required panel "Versions"`, "missing"},
		{"no collapsed row"},
		{"rows are"},
	} {
		found := false
		for _, p := range problems {
			found = found || containsAll(p, want)
		}
		if !found {
			t.Errorf("no problem contains all of %q; got:\n%s", want, strings.Join(problems, "\n"))
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
