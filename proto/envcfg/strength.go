package envcfg

import (
	"fmt"
	"strings"
	"unicode"
)

// MinTokenBytes is the shortest service token or secret accepted.
const MinTokenBytes = 32

// placeholders are values people paste from examples. A secret that starts
// with one (after lowercasing and dropping non-alphanumerics), or contains
// one of six letters or more, is refused outside dev mode.
func placeholders() []string {
	return []string{
		"changeme", "change", "secret", "password", "passwd", "example", "sample", "placeholder",
		"default", "test", "dev", "mcpbox", "token", "dummy", "insecure", "xxxx", "todo", "replace",
	}
}

// CheckStrength returns nil when value is strong enough to be a service
// token or key outside dev mode (operations.md §2.1), else the rule it breaks:
// shorter than minBytes, fewer than 12 distinct characters, a pattern
// repeated with a period of 4 or less, or a placeholder.
func CheckStrength(value string, minBytes int) error {
	if len(value) < minBytes {
		return fmt.Errorf("must be at least %d bytes (got %d)", minBytes, len(value))
	}
	for p := 1; p <= 4; p++ {
		if periodic(value, p) {
			return fmt.Errorf("must not be a pattern repeated every %d character(s); generate one with `openssl rand -hex 32`", p)
		}
	}
	distinct := map[rune]bool{}
	for _, r := range value {
		distinct[r] = true
	}
	if len(distinct) < 12 {
		return fmt.Errorf("must have at least 12 distinct characters (got %d); generate one with `openssl rand -hex 32`", len(distinct))
	}
	norm := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, value)
	for _, w := range placeholders() {
		if strings.HasPrefix(norm, w) || (len(w) >= 6 && strings.Contains(norm, w)) {
			return fmt.Errorf("looks like a placeholder (%q); generate one with `openssl rand -hex 32`", w)
		}
	}
	return nil
}

func periodic(s string, p int) bool {
	if len(s) <= p {
		return false
	}
	for i := p; i < len(s); i++ {
		if s[i] != s[i-p] {
			return false
		}
	}
	return true
}

// CheckKeyHex checks an AES-256 key: exactly 64 hex digits, not all one digit.
func CheckKeyHex(value string) error {
	if len(value) != 64 {
		return fmt.Errorf("must be exactly 64 hex characters (got %d); generate one with `openssl rand -hex 32`", len(value))
	}
	for _, c := range value {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return fmt.Errorf("must be exactly 64 hex characters (found %q); generate one with `openssl rand -hex 32`", c)
		}
	}
	if strings.Count(strings.ToLower(value), strings.ToLower(value[:1])) == len(value) {
		return fmt.Errorf("must not repeat one digit; generate one with `openssl rand -hex 32`")
	}
	return nil
}
