package servers

import (
	"errors"
	"testing"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/proto"
)

// Constraint violations map by constraint name (backend.md §15.1), so a rule
// the database enforces that the Go check missed still names its field.
func TestMapConstraint(t *testing.T) {
	t.Parallel()
	other := errors.New("other")
	tests := []struct {
		name  string
		err   error
		check func(error) bool
	}{
		{"unique name", &db.ConflictError{Constraint: "servers_name_key"}, func(err error) bool {
			var taken *NameTakenError
			return errors.As(err, &taken) && taken.Name == "weather"
		}},
		{"name check", &db.CheckError{Constraint: "servers_name_check"}, func(err error) bool {
			var re *proto.RuleError
			return errors.As(err, &re) && re.Field == "name" && re.Message != ""
		}},
		{"description check", &db.CheckError{Constraint: "servers_description_check"}, func(err error) bool {
			var re *proto.RuleError
			return errors.As(err, &re) && re.Field == "description" && re.Error() == "description: must be at most 2000 characters."
		}},
		{"another unique constraint", &db.ConflictError{Constraint: "servers_pkey"}, func(err error) bool {
			var taken *NameTakenError
			return !errors.As(err, &taken) && errors.Is(err, db.ErrConflict)
		}},
		{"not a constraint", other, func(err error) bool { return errors.Is(err, other) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := mapConstraint(tc.err, "weather"); !tc.check(got) {
				t.Fatalf("mapConstraint(%v) = %v", tc.err, got)
			}
		})
	}
	// A name the Go rule accepts but the database refused still gets a
	// message naming the whole rule.
	var re *proto.RuleError
	if err := mapConstraint(&db.CheckError{Constraint: "servers_name_check"}, "fine"); !errors.As(err, &re) ||
		re.Field != "name" || re.Message == "" {
		t.Fatalf("got %v", err)
	}
}
