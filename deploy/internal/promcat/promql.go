package promcat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// MetricNames parses a PromQL expression and returns the sorted, distinct metric names its vector and
// matrix selectors select (by bare name or by an equality matcher on __name__). A selector that picks
// its metric by regular expression cannot be checked, so it is reported as an error.
func MetricNames(expr string) ([]string, error) {
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parse PromQL %q: %w", expr, err)
	}
	var names []string
	var walkErr error
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector) // a MatrixSelector wraps a VectorSelector, so this sees both
		if !ok {
			return nil
		}
		name, err := selectorName(vs)
		if err != nil && walkErr == nil {
			walkErr = err
		}
		if name != "" {
			names = append(names, name)
		}
		return nil
	})
	if walkErr != nil {
		return nil, walkErr
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func selectorName(vs *parser.VectorSelector) (string, error) {
	if vs.Name != "" {
		return vs.Name, nil
	}
	for _, m := range vs.LabelMatchers {
		if m.Name != model.MetricNameLabel {
			continue
		}
		if m.Type == labels.MatchEqual {
			return m.Value, nil
		}
		return "", fmt.Errorf("selector %s: __name__ must be matched exactly so the metric can be checked", vs)
	}
	return "", fmt.Errorf("selector %s: names no metric", vs)
}

// Vocabulary is the set of metric names MCPbox queries may use: the catalogue (with histogram series),
// the recording rules, and the series every Prometheus has (up, go_*, process_*).
type Vocabulary struct {
	names map[string]bool
}

// NewVocabulary builds the vocabulary from the catalogue and the recorded metric names.
func NewVocabulary(catalogue []Metric, recorded []string) Vocabulary {
	v := Vocabulary{names: map[string]bool{}}
	for _, m := range catalogue {
		for _, n := range m.SeriesNames() {
			v.names[n] = true
		}
	}
	for _, n := range recorded {
		v.names[n] = true
	}
	return v
}

// Knows reports whether a query may use the metric name.
func (v Vocabulary) Knows(name string) bool {
	return v.names[name] || name == "up" || name == "time" ||
		strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")
}

// Unknown parses expr and returns the metric names it uses that the vocabulary does not know.
func (v Vocabulary) Unknown(expr string) ([]string, error) {
	names, err := MetricNames(expr)
	if err != nil {
		return nil, err
	}
	var unknown []string
	for _, n := range names {
		if !v.Knows(n) {
			unknown = append(unknown, n)
		}
	}
	return unknown, nil
}
