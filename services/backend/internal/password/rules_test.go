package password

import (
	"errors"
	"strings"
	"testing"
)

func TestRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		check      func() error
		field, msg string // empty: no error
	}{
		// BE-12: an 11-character setup password is refused, naming the field.
		{
			"11 characters", func() error { return CheckNew("admin", "abcdefghijk") },
			"password", "password: must be 12 to 128 characters (got 11).",
		},
		{"12 characters", func() error { return CheckNew("admin", "abcdefghijkl") }, "", ""},
		{"12 multi-byte characters", func() error { return CheckNew("admin", strings.Repeat("é", 12)) }, "", ""},
		{
			"11 four-byte characters (44 bytes)", func() error { return CheckNew("admin", strings.Repeat("🔑", 11)) },
			"password", "password: must be 12 to 128 characters (got 11).",
		},
		{
			"empty", func() error { return CheckNew("admin", "") },
			"password", "password: must be 12 to 128 characters (got 0).",
		},
		{"128 characters", func() error { return CheckNew("admin", strings.Repeat("ж", 128)) }, "", ""},
		{
			"129 characters", func() error { return CheckNew("admin", strings.Repeat("a", 129)) },
			"password", "password: must be 12 to 128 characters (got 129).",
		},
		{
			"equal to the username", func() error { return CheckNew("administrator1", "administrator1") },
			"password", "password: must not be the username (compared ignoring letter case).",
		},
		{
			"username in other case", func() error { return CheckNew("Administrator1", "aDMINISTRATOR1") },
			"password", "password: must not be the username (compared ignoring letter case).",
		},
		{"contains the username", func() error { return CheckNew("admin", "admin-but-longer") }, "", ""},
		{
			"change: unchanged", func() error { return CheckChange("admin", "same old password", "same old password") },
			"new_password", "new_password: must differ from the current password; choose a new one.",
		},
		{
			"change: too short", func() error { return CheckChange("admin", "same old password", "short") },
			"new_password", "new_password: must be 12 to 128 characters (got 5).",
		},
		{
			"change: username", func() error { return CheckChange("Administrator1", "old password here", "administrator1") },
			"new_password", "new_password: must not be the username (compared ignoring letter case).",
		},
		{"change: differs only in case", func() error {
			return CheckChange("admin", "same old password", "Same Old Password")
		}, "", ""},
		{"change: valid", func() error { return CheckChange("admin", "old password here", "a brand new one") }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.check()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want *RuleError", err, err)
			}
			if re.Field != tt.field || re.Message != tt.msg || err.Error() != tt.msg {
				t.Fatalf("got field %q, message %q; want %q, %q", re.Field, re.Message, tt.field, tt.msg)
			}
		})
	}
}
