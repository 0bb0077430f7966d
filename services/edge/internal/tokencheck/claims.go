package tokencheck

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/edge/internal/metrics"
)

// checkClaims applies §6.4 to the verified claims c, in the order iss, aud,
// exp, nbf, iat, sub, client, scope. A claim of the wrong JSON type counts
// as missing.
func (v *Verifier) checkClaims(c map[string]any) (Identity, Reason) {
	iss, ok := c["iss"].(string)
	if !ok || iss == "" || iss != v.cfg.Issuer {
		return Identity{}, IssMismatch
	}
	if !v.audienceOK(c["aud"]) {
		return Identity{}, AudMismatch
	}
	now := v.cfg.Now()
	nowS := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	skew := v.cfg.Skew.Seconds()
	exp, ok := numericDate(c["exp"])
	if !ok {
		return Identity{}, ExpMissing
	}
	if nowS >= exp+skew { // accepted while now < exp + skew
		return Identity{}, Expired
	}
	if nbf, ok := numericDate(c["nbf"]); ok && nbf > nowS+skew {
		return Identity{}, NotYetValid
	}
	if iat, ok := numericDate(c["iat"]); ok && iat > nowS+skew {
		return Identity{}, NotYetValid
	}
	sub, ok := c["sub"].(string)
	if !ok || !proto.ValidSub(sub) {
		return Identity{}, SubInvalid
	}
	if len(v.cfg.AllowedClients) > 0 {
		client, ok := c["azp"].(string)
		if !ok {
			client, ok = c["client_id"].(string)
		}
		if !ok || !slices.Contains(v.cfg.AllowedClients, client) {
			return Identity{}, ClientNotAllowed
		}
	}
	for _, want := range v.cfg.RequiredScopes {
		if !inSpaceList(c["scope"], want) && !inScp(c["scp"], want) {
			return Identity{}, InsufficientScope
		}
	}
	return Identity{Issuer: iss, Subject: sub}, ""
}

// audienceOK: aud is a string, or an array of strings, holding at least one
// configured audience exactly.
func (v *Verifier) audienceOK(aud any) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(v.cfg.Audiences, a)
	case []any:
		found := false
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return false
			}
			found = found || slices.Contains(v.cfg.Audiences, s)
		}
		return found
	}
	return false
}

// numericDate reads a NumericDate: a JSON number only (a string such as
// "9999999999" is the wrong type, so missing). A value beyond float64's range
// is ±Inf, which compares the right way.
func numericDate(x any) (float64, bool) {
	n, ok := x.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// inSpaceList: x is a space-delimited string with want as a whole element.
func inSpaceList(x any, want string) bool {
	s, ok := x.(string)
	if !ok {
		return false
	}
	for f := range strings.SplitSeq(s, " ") {
		if f == want {
			return true
		}
	}
	return false
}

// inScp: scp is an array with want as an element, or a space-delimited
// string.
func inScp(x any, want string) bool {
	a, ok := x.([]any)
	if !ok {
		return inSpaceList(x, want)
	}
	for _, e := range a {
		if s, ok := e.(string); ok && s == want {
			return true
		}
	}
	return false
}

// email returns the forwardable email of §6.5, or why it is withheld.
func (v *Verifier) email(c map[string]any) (email, withheld string) {
	x := c[v.cfg.EmailClaim]
	if x == nil { // absent or null
		return "", metrics.EmailAbsent
	}
	s, ok := x.(string)
	if !ok || !proto.ValidEmail(s) { // ValidEmail also caps at 254 bytes
		return "", metrics.EmailInvalid
	}
	ev, present := c["email_verified"]
	if v.cfg.RequireEmailVerified {
		if b, ok := ev.(bool); !ok || !b {
			return "", metrics.EmailUnverified
		}
		return s, ""
	}
	if present {
		switch e := ev.(type) {
		case bool:
			if !e {
				return "", metrics.EmailUnverified
			}
		case string:
			if strings.EqualFold(e, "false") {
				return "", metrics.EmailUnverified
			}
		}
	}
	return s, ""
}
