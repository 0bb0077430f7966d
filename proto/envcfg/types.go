package envcfg

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

const redacted = "[redacted]"

// Secret is a password-like value: it never prints, logs or marshals.
// Use string(s) where the value is needed.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Token is a service token or key. It prints as "[redacted sha256:1a2b3c4d]",
// the first 8 hex digits of its SHA-256, so a sender's and a receiver's
// configuration can be compared without revealing either.
type Token string

// Fingerprint returns the first 8 hex digits of the SHA-256 of t.
func (t Token) Fingerprint() string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:4])
}

// String implements fmt.Stringer.
func (t Token) String() string {
	if t == "" {
		return ""
	}
	return "[redacted sha256:" + t.Fingerprint() + "]"
}

// LogValue implements slog.LogValuer.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalJSON implements json.Marshaler.
func (t Token) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// DSN is a database URL whose password prints as "xxxxx".
type DSN string

// String implements fmt.Stringer.
func (d DSN) String() string {
	s := string(d)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		// Keyword/value form (host=... password=...): redact the password field.
		fields := strings.Fields(s)
		for i, f := range fields {
			if k, _, ok := strings.Cut(f, "="); ok && strings.EqualFold(k, "password") {
				fields[i] = k + "=xxxxx"
			}
		}
		if len(fields) == 0 && s != "" {
			return redacted
		}
		return strings.Join(fields, " ")
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// LogValue implements slog.LogValuer.
func (d DSN) LogValue() slog.Value { return slog.StringValue(d.String()) }

// MarshalJSON implements json.Marshaler.
func (d DSN) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Size is a byte count written with an IEC suffix ("1MiB", "512KiB") or as
// plain bytes.
type Size int64

var sizeUnits = []struct { //nolint:gochecknoglobals // constant table
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// ParseSize parses "4MiB", "512KiB", "1GiB", "100B" or "100".
func ParseSize(s string) (Size, error) {
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("must be a size like 1MiB, 512KiB or a number of bytes (got %q)", s)
	}
	return Size(n * mult), nil
}

// String renders the size with the largest exact IEC unit.
func (s Size) String() string {
	for _, u := range sizeUnits[:3] {
		if s != 0 && int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10)
}
