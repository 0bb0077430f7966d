package seal

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"unicode"
)

// setupCodeLabel is the HMAC message of backend.md §7.1.
const setupCodeLabel = "mcpbox setup code"

// deriveSetupCode returns the first 16 characters of base32 (standard
// alphabet, no padding) of HMAC-SHA256(key, "mcpbox setup code") as four
// groups of four joined by "-".
func deriveSetupCode(key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(setupCodeLabel))
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac.Sum(nil))[:16]
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// SetupCode returns the first-run setup code derived from the current
// encryption key (backend.md §7.1), e.g. "ABCD-EFGH-IJKL-MNOP": every
// replica derives the same code. It applies only when MCPBOX_SETUP_CODE is
// unset. Compare a submitted code with SetupCodeMatches, which ignores
// case, spaces and hyphens.
func (k *Keyring) SetupCode() string { return k.setupCode }

// SetupCodeMatches reports whether given is the setup code want, ignoring
// case, whitespace and hyphens in both, in constant time for codes of equal
// normalised length. An empty want never matches.
func SetupCodeMatches(given, want string) bool {
	g, w := normaliseSetupCode(given), normaliseSetupCode(want)
	if w == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(g), []byte(w)) == 1
}

// normaliseSetupCode upper-cases s and drops whitespace and hyphens.
func normaliseSetupCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
}
