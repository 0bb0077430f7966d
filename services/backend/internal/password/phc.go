package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrInvalidHash is wrapped by every error about a stored hash that Verify refuses to use: not an argon2id v=19
// PHC string in canonical form, or parameters beyond the limits. Such a hash is never computed with; the row needs a
// new password.
var ErrInvalidHash = errors.New("password: stored hash refused")

// maxStoredLen bounds a stored string before it is split: the longest PHC string with allowed parameters
// (m=262144, t=10, p=16, 64-byte salt and key) has 207 bytes.
const maxStoredLen = 256

// b64 is the encoding of salt and key in a PHC string: standard alphabet, no padding. Strict refuses non-zero
// trailing bits, so each salt and key has exactly one spelling.
func b64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

// parseStored reads the parameters of a stored PHC string, strictly: exactly
// `$argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key>`, decimal numbers without sign or leading zeros, salt and key in
// the standard base64 alphabet without padding or line breaks, every value within [Params.validate]. Anything
// this accepts, argon2id.DecodeHash (which is more lenient) reads the same way. It never allocates in proportion
// to the parameters, so a hostile string costs nothing.
func parseStored(s string) (Params, error) {
	if len(s) > maxStoredLen {
		return Params{}, invalidHash("%d bytes, longer than any hash with allowed parameters (%d)", len(s), maxStoredLen)
	}
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return Params{}, invalidHash("not a PHC string of the form $argon2id$v=19$m=…,t=…,p=…$<salt>$<key>")
	}
	if f[1] != "argon2id" {
		return Params{}, invalidHash("the algorithm is not argon2id")
	}
	if f[2] != "v=19" {
		return Params{}, invalidHash("the version is not v=19")
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return Params{}, invalidHash("the parameters are not m=…,t=…,p=…")
	}
	m, errM := decimal(kv[0], "m=", math.MaxUint32)
	t, errT := decimal(kv[1], "t=", math.MaxUint32)
	p, errP := decimal(kv[2], "p=", math.MaxUint8)
	if err := errors.Join(errM, errT, errP); err != nil {
		return Params{}, fmt.Errorf("%w: %w", ErrInvalidHash, err)
	}
	salt, err := decode64(f[4], "salt")
	if err != nil {
		return Params{}, err
	}
	key, err := decode64(f[5], "key")
	if err != nil {
		return Params{}, err
	}
	params := Params{
		MemoryKiB: uint32(m), Iterations: uint32(t), Parallelism: uint8(p), //nolint:gosec // bounded by decimal
		SaltLen: uint32(len(salt)), KeyLen: uint32(len(key)), //nolint:gosec // bounded by maxStoredLen
	}
	if err := params.validate(); err != nil {
		return Params{}, fmt.Errorf("%w: %w", ErrInvalidHash, err)
	}
	return params, nil
}

// decimal parses prefix followed by a canonical decimal number no larger than limit.
func decimal(s, prefix string, limit uint64) (uint64, error) {
	digits, ok := strings.CutPrefix(s, prefix)
	if !ok || digits == "" || len(digits) > 10 || (len(digits) > 1 && digits[0] == '0') {
		return 0, fmt.Errorf("%s must be followed by a decimal number without leading zeros", prefix)
	}
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("%s must be followed by a decimal number without leading zeros", prefix)
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > limit {
		return 0, fmt.Errorf("%s%s is larger than %d", prefix, digits, limit)
	}
	return n, nil
}

// decode64 decodes a salt or key. base64 decoding skips CR and LF, so the alphabet is checked first.
func decode64(s, what string) ([]byte, error) {
	for i := range len(s) {
		if !isBase64Byte(s[i]) {
			return nil, invalidHash("the %s holds a byte outside standard base64 without padding", what)
		}
	}
	b, err := b64().DecodeString(s)
	if err != nil {
		return nil, invalidHash("the %s is not canonical standard base64 without padding", what)
	}
	return b, nil
}

// isBase64Byte reports whether c is in the standard base64 alphabet (RFC 4648 §4), padding excluded.
func isBase64Byte(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
		return true
	}
	return false
}

// invalidHash returns ErrInvalidHash with the reason. Reasons never quote the stored string: it is a credential.
func invalidHash(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidHash}, args...)...)
}

// formatPHC writes a PHC string the way argon2id.CreateHash does.
func formatPHC(p Params, salt, key []byte) string {
	return p.phcPrefix() + b64().EncodeToString(salt) + "$" + b64().EncodeToString(key)
}
