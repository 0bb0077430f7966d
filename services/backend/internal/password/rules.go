package password

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Length limits of a new password, in Unicode characters (runes), not bytes (backend.md §7.2).
const (
	MinLen = 12
	MaxLen = 128
)

// RuleError is a password that breaks a rule of backend.md §7.2. Field is the request field at fault ("password"
// at setup, "new_password" on a change), and Message starts with it, so the API can answer 400 `validation_failed`
// with both as they are.
type RuleError struct {
	Field   string
	Message string
}

// Error returns Message, e.g. "password: must be 12 to 128 characters (got 11)."
func (e *RuleError) Error() string { return e.Message }

// CheckNew checks the password chosen at first-run setup for username (field "password"): 12 to 128 characters,
// and not the username in any letter case. It returns nil or a *RuleError.
func CheckNew(username, password string) error {
	return check("password", username, password)
}

// CheckChange checks a password change by username from current to next (field "new_password"): the rules of
// CheckNew, and next must differ from current. It does not verify current against the stored hash; that is
// Hasher.Verify's job. It returns nil or a *RuleError.
func CheckChange(username, current, next string) error {
	if err := check("new_password", username, next); err != nil {
		return err
	}
	if next == current {
		return &RuleError{
			Field:   "new_password",
			Message: "new_password: must differ from the current password; choose a new one.",
		}
	}
	return nil
}

// check applies the rules every new password meets.
func check(field, username, password string) error {
	if n := utf8.RuneCountInString(password); n < MinLen || n > MaxLen {
		return &RuleError{
			Field:   field,
			Message: fmt.Sprintf("%s: must be %d to %d characters (got %d).", field, MinLen, MaxLen, n),
		}
	}
	if strings.EqualFold(password, username) {
		return &RuleError{
			Field:   field,
			Message: field + ": must not be the username (compared ignoring letter case).",
		}
	}
	return nil
}
