package grafana_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	sdkdashboard "github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/mcpbox/mcpbox/deploy/internal/promcat"
)

// datasourceUID is how every panel and query names its data source: the dashboard's datasource variable.
const datasourceUID = "${datasource}"

// dashboard is the lenient view of the dashboard JSON the checks walk. The SDK's strict decoder drops panels (those
// nested in collapsed rows among them), so panels are walked from this view instead.
type dashboard struct {
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          *int    `json:"id"`
	Type        string  `json:"type"`
	Title       string  `json:"title"`
	Collapsed   bool    `json:"collapsed"`
	Datasource  *dsRef  `json:"datasource"`
	Targets     []query `json:"targets"`
	Panels      []panel `json:"panels"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

type query struct {
	RefID      string `json:"refId"`
	Expr       string `json:"expr"`
	Datasource *dsRef `json:"datasource"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *dsRef          `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
}

// placed is a panel with the row it sits in ("" before the first row) and where it was found.
type placed struct {
	panel
	row    string
	nested bool // inside a collapsed row's panels
}

// name identifies a panel in messages.
func (p panel) name() string {
	id := "?"
	if p.ID != nil {
		id = fmt.Sprint(*p.ID)
	}
	return fmt.Sprintf("panel %s %q", id, p.Title)
}

// walk flattens the dashboard's panels, rows included, descending into the panels a collapsed row keeps.
func walk(d dashboard) []placed {
	var out []placed
	row := ""
	for _, p := range d.Panels {
		if p.Type == "row" {
			row = p.Title
		}
		out = append(out, placed{panel: p, row: row})
		for _, n := range p.Panels {
			out = append(out, placed{panel: n, row: row, nested: true})
		}
	}
	return out
}

// strictProblems decodes the dashboard with grafana-foundation-sdk's strict decoder, with every panel and data-query
// plugin registered so options, custom field config and Prometheus queries are checked too. v0.0.22 returns a
// typed-nil cog.BuildErrors on success, so an empty BuildErrors is success. Each problem names the top-level panel
// its path points into.
func strictProblems(data []byte, lenient dashboard) []string {
	plugins.RegisterDefaultPlugins()
	// The v1 JSON model is what Grafana exports and operations.md §3.6 names; dashboardv2 is a different schema.
	var d sdkdashboard.Dashboard //nolint:staticcheck // see above: v1 is the format under test
	err := d.UnmarshalJSONStrict(data)
	var buildErrs cog.BuildErrors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &buildErrs) && len(buildErrs) == 0:
		return nil
	case errors.As(err, &buildErrs):
		problems := make([]string, 0, len(buildErrs))
		for _, be := range buildErrs {
			problems = append(problems, fmt.Sprintf("strict decoding: %s%s: %s", be.Path, panelAt(be.Path, lenient), be.Message))
		}
		return problems
	default:
		return []string{"strict decoding: " + err.Error()}
	}
}

var panelIndexRE = regexp.MustCompile(`^panels\[(\d+)\](?:\.panels\[(\d+)\])?`)

// panelAt names the panel a BuildError path such as "panels[3].options" or "panels[13].panels[0].options" (a panel
// inside a row) points into.
func panelAt(path string, d dashboard) string {
	m := panelIndexRE.FindStringSubmatch(path)
	if m == nil {
		return ""
	}
	panels := d.Panels
	var p panel
	for _, idx := range m[1:] {
		i, err := strconv.Atoi(idx)
		if idx == "" || err != nil || i >= len(panels) {
			break
		}
		p, panels = panels[i], panels[i].Panels
	}
	return " (" + p.name() + ")"
}

// promQLFor replaces Grafana's variables with values the PromQL parser accepts.
func promQLFor(expr string) string {
	return strings.NewReplacer(
		"${__rate_interval}", "5m", "$__rate_interval", "5m",
		"${__interval}", "5m", "$__interval", "5m",
		"${__range}", "5m", "$__range", "5m",
		"${tool}", ".*", "$tool", ".*",
	).Replace(expr)
}

// panelProblems applies the per-panel rules of operations.md §3.6 to every panel, rows and collapsed-row children
// included: ids present and unique; each non-row panel has a title, a unit and the ${datasource} Prometheus data
// source (on the panel and on each query); each expression parses and uses only known metrics.
func panelProblems(panels []placed, vocab promcat.Vocabulary) []string {
	var problems []string
	ids := map[int]string{}
	for _, p := range panels {
		add := func(format string, args ...any) {
			problems = append(problems, p.name()+": "+fmt.Sprintf(format, args...))
		}
		switch {
		case p.ID == nil:
			add("has no id; every panel needs a unique id")
		case ids[*p.ID] != "":
			add("id %d is also used by %s; panel ids are unique", *p.ID, ids[*p.ID])
		default:
			ids[*p.ID] = p.name()
		}
		if p.Type == "row" {
			continue
		}
		if strings.TrimSpace(p.Title) == "" {
			add("has no title; every panel needs one")
		}
		if p.FieldConfig.Defaults.Unit == "" {
			add("has no fieldConfig.defaults.unit; every panel needs a unit")
		}
		if p.Datasource == nil || p.Datasource.UID != datasourceUID || p.Datasource.Type != "prometheus" {
			add("datasource must be {type: prometheus, uid: %q}, got %+v", datasourceUID, p.Datasource)
		}
		if len(p.Targets) == 0 {
			add("has no queries")
		}
		for _, q := range p.Targets {
			if q.Datasource != nil && q.Datasource.UID != datasourceUID {
				add("query %s: datasource uid %q, want %q", q.RefID, q.Datasource.UID, datasourceUID)
			}
			unknown, err := vocab.Unknown(promQLFor(q.Expr))
			if err != nil {
				add("query %s: expr does not parse as PromQL: %v", q.RefID, err)
				continue
			}
			for _, n := range unknown {
				add("query %s: metric %q is not in catalogue.json, not a recording rule and not up/go_*/process_*", q.RefID, n)
			}
		}
	}
	return problems
}

// requiredPanel is one row of operations.md §3.6's panel table.
type requiredPanel struct{ row, title, unit string }

// requiredPanels returns operations.md §3.6's required panels. Where the table lists two panels in one cell
// ("Approvals pending; DB pool", "Catalog and JWKS age; Versions"), they are two panels; the Versions table has no
// unit of its own in the spec, so any unit is accepted there.
func requiredPanels() []requiredPanel {
	return []requiredPanel{
		{"Traffic", "Tool call rate", "reqps"},
		{"Traffic", "Tool error rate", "percentunit"},
		{"Traffic", "Latency p50 / p95 / p99 per kind", "s"},
		{"Sandbox", "Sandbox pool", "short"},
		{"Sandbox", "Crashes by class", "short"},
		{"Sandbox", "Blocked egress", "reqps"},
		{"Security", "Auth failures", "reqps"},
		{"Security", "Edge JWT rejections by reason", "reqps"},
		{"Backend", "Approvals pending", "short"},
		{"Backend", "DB pool", "short"},
		{"Backend", "Execution records dropped", "short"},
		{"Health", "Catalog and JWKS age", "s"},
		{"Health", "Versions", ""},
	}
}

// layoutProblems checks the rows (Traffic, Sandbox, Security, Backend, Health, in that order), that every required
// panel is present in its row with its unit, and that at least one row is collapsed with its panels nested in it.
func layoutProblems(panels []placed) []string {
	var problems []string
	var rows []string
	collapsedWithPanels := false
	byTitle := map[string]placed{}
	for _, p := range panels {
		if p.Type == "row" {
			rows = append(rows, p.Title)
			collapsedWithPanels = collapsedWithPanels || (p.Collapsed && len(p.Panels) > 0)
			continue
		}
		byTitle[p.Title] = p
	}
	if want := []string{"Traffic", "Sandbox", "Security", "Backend", "Health"}; strings.Join(rows, ",") != strings.Join(want, ",") {
		problems = append(problems, fmt.Sprintf("rows are %q, want %q", rows, want))
	}
	if !collapsedWithPanels {
		problems = append(problems, "no collapsed row keeps its panels; at least one row is collapsed")
	}
	for _, r := range requiredPanels() {
		p, ok := byTitle[r.title]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("required panel %q (row %s) is missing", r.title, r.row))
		case p.row != r.row:
			problems = append(problems, fmt.Sprintf("%s: required in row %s, found in row %q", p.name(), r.row, p.row))
		case r.unit != "" && p.FieldConfig.Defaults.Unit != r.unit:
			problems = append(problems, fmt.Sprintf("%s: unit %q, want %q", p.name(), p.FieldConfig.Defaults.Unit, r.unit))
		}
	}
	return problems
}

var labelValuesRE = regexp.MustCompile(`^label_values\((\w+),\s*(\w+)\)$`)

// variableProblems checks the two variables of operations.md §3.6: datasource (Prometheus type) and tool
// (label_values(mcpbox_gateway_tool_calls_total, tool), multi-select with All, on ${datasource}).
func variableProblems(d dashboard, vocab promcat.Vocabulary) []string {
	var problems []string
	vars := map[string]variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if v, ok := vars["datasource"]; !ok || v.Type != "datasource" || string(v.Query) != `"prometheus"` {
		problems = append(problems, fmt.Sprintf(`variable "datasource": must exist with type datasource and query "prometheus", got %+v`, v))
	}
	v, ok := vars["tool"]
	if !ok {
		return append(problems, `variable "tool": missing`)
	}
	var q struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &q); err != nil {
		q.Query = strings.Trim(string(v.Query), `"`)
	}
	const want = "label_values(mcpbox_gateway_tool_calls_total, tool)"
	if v.Type != "query" || q.Query != want || !v.Multi || !v.IncludeAll {
		problems = append(problems, fmt.Sprintf(`variable "tool": must be a multi-select query variable with All over %s`, want))
	}
	if v.Datasource == nil || v.Datasource.UID != datasourceUID {
		problems = append(problems, fmt.Sprintf(`variable "tool": datasource uid must be %q`, datasourceUID))
	}
	if m := labelValuesRE.FindStringSubmatch(q.Query); m != nil && !vocab.Knows(m[1]) {
		problems = append(problems, fmt.Sprintf(`variable "tool": metric %q is not in catalogue.json`, m[1]))
	}
	return problems
}
