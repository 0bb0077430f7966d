package secrets

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
		{"unique name", &db.ConflictError{Constraint: "server_secrets_server_id_name_key"}, func(err error) bool {
			var exists *AlreadyExistsError
			return errors.As(err, &exists) && exists.Name == "API_KEY"
		}},
		{"name check", &db.CheckError{Constraint: "server_secrets_name_check"}, func(err error) bool {
			var re *proto.RuleError
			return errors.As(err, &re) && re.Field == "name" && re.Message != ""
		}},
		{"description check", &db.CheckError{Constraint: "server_secrets_description_check"}, func(err error) bool {
			var re *proto.RuleError
			return errors.As(err, &re) && re.Error() == "description: must be at most 2000 characters."
		}},
		{"another unique constraint", &db.ConflictError{Constraint: "server_secrets_pkey"}, func(err error) bool {
			var exists *AlreadyExistsError
			return !errors.As(err, &exists) && errors.Is(err, db.ErrConflict)
		}},
		{"not a constraint", other, func(err error) bool { return errors.Is(err, other) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := mapConstraint(tc.err, "API_KEY"); !tc.check(got) {
				t.Fatalf("mapConstraint(%v) = %v", tc.err, got)
			}
		})
	}
}
