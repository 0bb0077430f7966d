// Package secretcheck applies the weak-secret rules of operations.md §2.1 to the values devstack
// generates, so that .data/dev.env and deploy/compose/.env would pass the production check.
//
// The services have their own copy of these rules in proto; this one exists because tools/ is outside
// the workspace and must not depend on the services' configuration code for a dev-only check.
package secretcheck

import (
	"errors"
	"fmt"
	"strings"
)

// MinTokenBytes is the minimum length of a service token (and of any other generated secret).
const MinTokenBytes = 32

// MinSetupCodeChars is the minimum length of MCPBOX_SETUP_CODE (backend.md §3).
const MinSetupCodeChars = 16

// denylist holds placeholders a secret must not contain, compared after lowercasing and dropping
// everything but letters and digits. It includes every word of proto/envcfg's list, and matches
// anywhere rather than only as a prefix, so whatever devstack generates also passes the services' check.
func denylist() []string {
	return []string{
		"changeme", "change", "secret", "password", "passwd", "example", "sample", "placeholder", "default",
		"test", "dev", "mcpbox", "token", "dummy", "insecure", "xxxx", "todo", "replace",
		"admin", "letmein", "qwerty", "123456",
	}
}

// Check reports every rule value breaks. minLen is the minimum length in bytes (MinTokenBytes for tokens,
// MinSetupCodeChars for the setup code).
func Check(value string, minLen int) error {
	var errs []error
	if value == "" {
		return errors.New("missing")
	}
	if len(value) < minLen {
		errs = append(errs, fmt.Errorf("must be at least %d bytes (got %d)", minLen, len(value)))
	}
	if n := distinct(value); n < 12 {
		errs = append(errs, fmt.Errorf("must have at least 12 distinct characters (got %d)", n))
	}
	if p := period(value); p > 0 && p <= 4 && len(value) > p {
		errs = append(errs, fmt.Errorf("must not be a pattern repeated every %d characters", p))
	}
	norm := normalize(value)
	for _, word := range denylist() {
		if strings.Contains(norm, word) {
			errs = append(errs, fmt.Errorf("must not contain the placeholder %q", word))
		}
	}
	return errors.Join(errs...)
}

// CheckEncryptionKey applies the encryption-key rule: exactly 64 hex digits, not all one digit, and the
// general rules.
func CheckEncryptionKey(value string) error {
	if len(value) != 64 {
		return fmt.Errorf("must be exactly 64 hex digits (got %d characters)", len(value))
	}
	for _, c := range value {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return fmt.Errorf("must be hex digits only (found %q)", c)
		}
	}
	if strings.Count(value, value[:1]) == len(value) {
		return errors.New("must not be one repeated digit")
	}
	return Check(value, 64)
}

// Distinct reports the first name whose value equals an earlier one's: a service's secrets must differ.
func Distinct(names []string, values map[string]string) error {
	seen := map[string]string{}
	for _, n := range names {
		v := values[n]
		if v == "" {
			continue
		}
		if other, ok := seen[v]; ok {
			return fmt.Errorf("%s: must differ from %s", n, other)
		}
		seen[v] = n
	}
	return nil
}

func distinct(s string) int {
	set := map[rune]struct{}{}
	for _, r := range s {
		set[r] = struct{}{}
	}
	return len(set)
}

// period returns the smallest p such that s is a prefix of s[:p] repeated, or 0 for none below len(s).
func period(s string) int {
	for p := 1; p < len(s); p++ {
		ok := true
		for i := p; i < len(s); i++ {
			if s[i] != s[i-p] {
				ok = false
				break
			}
		}
		if ok {
			return p
		}
	}
	return 0
}

func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}
