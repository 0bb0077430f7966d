package ui

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

// FuzzSettingsAllowlistMessage: the line named in an allowlist error
// comes from the policy's field path, which must never index outside the
// submitted values or panic.
func FuzzSettingsAllowlistMessage(f *testing.F) {
	f.Add("remote_email_allowlist.values[1]", "a@example.com\nb@example.com")
	f.Add("remote_email_allowlist.values[-1]", "x")
	f.Add("remote_email_allowlist.values[99999999999999999999]", "")
	f.Add("remote_email_allowlist.mode", "")
	f.Add("values[", "a")
	f.Fuzz(func(t *testing.T, field, lines string) {
		values := strings.Split(lines, "\n")
		msg := allowlistMessage(&policy.FieldError{Field: field, Message: "m"}, values)
		if !strings.HasSuffix(msg, "m") {
			t.Fatalf("message %q lost the policy's text", msg)
		}
	})
}

// The enumerated settings: two options each, the restrictive one first,
// a warning and a relaxation exactly on the other.
func TestSettingsEnumeratedOptions(t *testing.T) {
	t.Parallel()
	for _, s := range securitySettings() {
		if len(s.Options) != 2 || s.Options[0].Warning != "" || s.Options[1].Warning == "" || s.Options[1].Relaxation == "" {
			t.Errorf("%s: %+v", s.Key, s.Options)
		}
		if enumValue(policy.Defaults(), s.Key) != s.Options[0].Value {
			t.Errorf("%s: the default is not the first option", s.Key)
		}
	}
}
