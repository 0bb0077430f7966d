package promrule

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// Drift compares a PrometheusRule's typed spec.groups with a rule file's groups as parsed data (OPS-30). It returns
// nil when they are equal, or an error naming the first group that differs and both versions of it.
func Drift(rules []byte, got []monitoringv1.RuleGroup) error {
	want, err := Groups(rules)
	if err != nil {
		return err
	}
	wantN, err := normalize(want)
	if err != nil {
		return err
	}
	gotN, err := normalize(got)
	if err != nil {
		return err
	}
	if path, w, g, differs := firstDiff("spec.groups", any(wantN), any(gotN)); differs {
		wj, _ := json.Marshal(w)
		gj, _ := json.Marshal(g)
		return fmt.Errorf("PrometheusRule/mcpbox: %s differs from rules.yaml (regenerate with "+
			"`cd deploy && GOWORK=off go run ./k8s/cmd/genrule`): rules.yaml has %s, the PrometheusRule %s", path, wj, gj)
	}
	return nil
}

// firstDiff walks two generic JSON values and returns the path of the first difference and both values there.
func firstDiff(path string, a, b any) (string, any, any, bool) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return path, a, b, true
		}
		keys := make([]string, 0, len(av)+len(bv))
		for k := range av {
			keys = append(keys, k)
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, x, y, d := firstDiff(path+"."+k, av[k], bv[k]); d {
				return p, x, y, true
			}
		}
		return "", nil, nil, false
	case []any:
		bv, ok := b.([]any)
		if !ok {
			return path, a, b, true
		}
		for i := range max(len(av), len(bv)) {
			var x, y any
			if i < len(av) {
				x = av[i]
			}
			if i < len(bv) {
				y = bv[i]
			}
			if p, x, y, d := firstDiff(fmt.Sprintf("%s[%d]", path, i), x, y); d {
				return p, x, y, true
			}
		}
		return "", nil, nil, false
	default:
		if reflect.DeepEqual(a, b) {
			return "", nil, nil, false
		}
		return path, a, b, true
	}
}

// normalize turns any JSON-marshalable value into the generic data encoding/json decodes it to.
func normalize(v any) ([]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out []any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}
