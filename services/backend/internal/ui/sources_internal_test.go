package ui

import (
	"errors"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// addRules: each rule error goes to the control naming its field (the
// first per control), one naming no control to the form's Problem, a
// control naming no field takes every other field's; an error without a
// rule error changes nothing.
func TestAddRulesMapsFieldErrors(t *testing.T) {
	t.Parallel()
	err := errors.Join(
		&proto.RuleError{Field: "name", Message: "must be 1 to 64 printable characters."},
		&proto.RuleError{Field: "name", Message: "second."},
		&proto.RuleError{Field: "transport", Message: "must be streamable_http."},
		&proto.RuleError{Field: "url", Message: "must name a host."},
	)
	var p formProblems
	var name, u field
	if !p.addRules(err, control{"name", "source-name", "Name", &name}, control{"url", "source-url", "URL", &u}) {
		t.Fatal("rule errors not mapped")
	}
	if name.Error != "Name must be 1 to 64 printable characters." || u.Error != "URL must name a host." ||
		p.Problem != "must be streamable_http." || len(p.Summary) != 2 || p.Summary[0].Href != "#source-name" {
		t.Errorf("mapped: name %q url %q problem %q summary %+v", name.Error, u.Error, p.Problem, p.Summary)
	}

	var one field
	var q formProblems
	if !q.addRules(&proto.RuleError{Field: "host", Message: "must not have a scheme."}, control{"", "host-add", "Host", &one}) ||
		one.Error != "Host must not have a scheme." || q.Problem != "" {
		t.Errorf("catch-all control: %q %q", one.Error, q.Problem)
	}

	var none formProblems
	if none.addRules(errors.New("database down"), control{"", "host-add", "Host", &one}) || none.any() || none.Problem != "" {
		t.Error("a non-rule error was mapped")
	}
}
