// Package mint turns a token request into the claims of a devidp access token.
//
// A request names the subject, email, audience, scope and lifetime; any other field is copied into the
// token as an extra claim and wins over the standard ones, so tests can mint tokens the edge must reject
// (another iss, a past exp, a string email_verified). The result is what an identity provider the edge
// accepts issues (edge.md §8.1): iss, sub, aud, exp, iat, nbf, jti, and email with email_verified.
package mint

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DefaultAudience is the edge's default resource under `make run` (operations.md §1.3).
const DefaultAudience = "http://127.0.0.1:8080/mcp"

// DefaultTTL is the lifetime of a token whose request names none.
const DefaultTTL = 12 * time.Hour

// Request is a parsed token request.
type Request struct {
	Sub   string
	Email string
	// EmailVerified is the email_verified claim: nil omits it. When the request does not mention it and
	// Email is set, it is true.
	EmailVerified any
	// Aud is a string or a []string.
	Aud   any
	Scope string
	TTL   time.Duration
	// Extra claims, copied last.
	Extra map[string]any
}

// known reports the request fields that are not copied as extra claims.
func known(name string) bool {
	switch name {
	case "sub", "email", "email_verified", "aud", "scope", "ttl":
		return true
	}
	return false
}

// ParseRequest reads the JSON body of POST /dev/token. ttl is a Go duration ("12h", "-1h") or a number of
// seconds; aud a string or an array of strings.
func ParseRequest(body []byte) (Request, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil {
		return Request{}, fmt.Errorf("body: a JSON object is required: %w", err)
	}
	r := Request{TTL: DefaultTTL, Aud: DefaultAudience}
	if err := str(fields, "sub", &r.Sub); err != nil {
		return Request{}, err
	}
	if err := str(fields, "email", &r.Email); err != nil {
		return Request{}, err
	}
	if err := str(fields, "scope", &r.Scope); err != nil {
		return Request{}, err
	}
	if raw, ok := fields["email_verified"]; ok {
		if err := json.Unmarshal(raw, &r.EmailVerified); err != nil {
			return Request{}, fmt.Errorf("email_verified: %w", err)
		}
	} else if r.Email != "" {
		r.EmailVerified = true
	}
	if raw, ok := fields["aud"]; ok {
		aud, err := parseAud(raw)
		if err != nil {
			return Request{}, err
		}
		r.Aud = aud
	}
	if raw, ok := fields["ttl"]; ok {
		ttl, err := parseTTL(raw)
		if err != nil {
			return Request{}, err
		}
		r.TTL = ttl
	}
	for name, raw := range fields {
		if known(name) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return Request{}, fmt.Errorf("%s: %w", name, err)
		}
		if r.Extra == nil {
			r.Extra = map[string]any{}
		}
		r.Extra[name] = v
	}
	return r, r.Validate()
}

// Validate reports a request that cannot become a token.
func (r Request) Validate() error {
	if r.Sub == "" {
		return errors.New("sub: required")
	}
	switch a := r.Aud.(type) {
	case string:
		if a == "" {
			return errors.New("aud: must not be empty")
		}
	case []string:
		if len(a) == 0 {
			return errors.New("aud: must not be empty")
		}
	default:
		return fmt.Errorf("aud: must be a string or an array of strings, got %T", r.Aud)
	}
	return nil
}

// Claims builds the claims of a token issued by issuer at now.
func (r Request) Claims(issuer string, now time.Time) (map[string]any, error) {
	jti, err := newJTI()
	if err != nil {
		return nil, err
	}
	c := map[string]any{
		"iss": issuer,
		"sub": r.Sub,
		"aud": r.Aud,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(r.TTL).Unix(),
		"jti": jti,
	}
	if r.Email != "" {
		c["email"] = r.Email
	}
	if r.EmailVerified != nil {
		c["email_verified"] = r.EmailVerified
	}
	if r.Scope != "" {
		c["scope"] = r.Scope
	}
	for k, v := range r.Extra {
		c[k] = v
	}
	return c, nil
}

func str(fields map[string]json.RawMessage, name string, dst *string) error {
	raw, ok := fields[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s: must be a string", name)
	}
	return nil
}

func parseAud(raw json.RawMessage) (any, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return one, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("aud: must be a string or an array of strings")
	}
	return many, nil
}

func parseTTL(raw json.RawMessage) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("ttl: %w", err)
		}
		return d, nil
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err != nil {
		return 0, errors.New(`ttl: must be a duration such as "12h" or a number of seconds`)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

func newJTI() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("mint: jti: %w", err)
	}
	return hex.EncodeToString(b), nil
}
