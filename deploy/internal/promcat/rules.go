package promcat

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// RuleFile is a Prometheus rule file (the format promtool check rules reads), modelled only as far as
// MCPbox uses it so that strict decoding rejects anything else.
type RuleFile struct {
	Groups []RuleGroup `json:"groups"`
}

// RuleGroup is one group of rules, evaluated in order.
type RuleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []Rule `json:"rules"`
}

// Rule is a recording rule (Record set) or an alerting rule (Alert set).
type Rule struct {
	Record      string            `json:"record,omitempty"`
	Alert       string            `json:"alert,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Name returns the alert name or the recorded metric name.
func (r Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// ParseRules decodes rule-file YAML strictly: unknown fields and duplicate keys are errors.
func ParseRules(data []byte) (RuleFile, error) {
	var f RuleFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return RuleFile{}, fmt.Errorf("decode rules: %w", err)
	}
	return f, nil
}

// Alerts returns every alerting rule, in file order.
func (f RuleFile) Alerts() []Rule {
	return f.rules(func(r Rule) bool { return r.Alert != "" })
}

// RecordingRules returns every recording rule, in file order.
func (f RuleFile) RecordingRules() []Rule {
	return f.rules(func(r Rule) bool { return r.Record != "" })
}

func (f RuleFile) rules(keep func(Rule) bool) []Rule {
	var out []Rule
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if keep(r) {
				out = append(out, r)
			}
		}
	}
	return out
}
