package remoteaccess

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Bounds on what the check reads from untrusted answers. Bodies are already
// cut at 1 MiB by the sandbox (sandbox.md §4.7).
const (
	maxHeaderLen     = 8 << 10 // one WWW-Authenticate value
	maxHeaderValues  = 16      // WWW-Authenticate values looked at
	maxChallenges    = 16      // challenges per value
	maxParams        = 32      // parameters per challenge
	maxListed        = 20      // list entries quoted in an observation
	maxKeysExamined  = 256     // JWKS entries looked at
	minRSABits       = 2048
	maxExponentBytes = 4
)

// challenge is one authentication challenge of a WWW-Authenticate header
// (RFC 9110 §11.6.1): its scheme and its parameters, names lowercased.
type challenge struct {
	scheme string
	params map[string]string
}

// bearerChallenge returns the first Bearer challenge of the header values,
// or false.
func bearerChallenge(values []string) (challenge, bool) {
	for _, c := range parseChallenges(values) {
		if strings.EqualFold(c.scheme, "Bearer") {
			return c, true
		}
	}
	return challenge{}, false
}

// parseChallenges parses WWW-Authenticate header values leniently: a
// malformed part is skipped up to the next comma, never an error. At most
// maxHeaderValues values of maxHeaderLen bytes are read.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for i, v := range values {
		if i == maxHeaderValues {
			break
		}
		if len(v) > maxHeaderLen {
			v = v[:maxHeaderLen]
		}
		out = append(out, parseHeaderValue(v)...)
	}
	return out
}

// headerScanner walks one header value.
type headerScanner struct {
	s   string
	pos int
}

func (h *headerScanner) done() bool { return h.pos >= len(h.s) }

func (h *headerScanner) peek() byte { return h.s[h.pos] }

func (h *headerScanner) skipSpace() {
	for !h.done() && (h.peek() == ' ' || h.peek() == '\t') {
		h.pos++
	}
}

// skipPast moves past the next comma (or to the end).
func (h *headerScanner) skipPast() {
	if i := strings.IndexByte(h.s[h.pos:], ','); i >= 0 {
		h.pos += i + 1
		return
	}
	h.pos = len(h.s)
}

func (h *headerScanner) token() string {
	start := h.pos
	for !h.done() && isTokenChar(h.peek()) {
		h.pos++
	}
	return h.s[start:h.pos]
}

// quoted reads a quoted-string whose opening quote is at pos; an
// unterminated one runs to the end.
func (h *headerScanner) quoted() string {
	var b strings.Builder
	h.pos++ // opening quote
	for !h.done() {
		c := h.peek()
		h.pos++
		switch {
		case c == '"':
			return b.String()
		case c == '\\' && !h.done():
			b.WriteByte(h.peek())
			h.pos++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func parseHeaderValue(v string) []challenge {
	h := &headerScanner{s: v}
	var out []challenge
	for !h.done() && len(out) < maxChallenges {
		for !h.done() && (h.peek() == ' ' || h.peek() == '\t' || h.peek() == ',') {
			h.pos++
		}
		if h.done() {
			break
		}
		scheme := h.token()
		if scheme == "" {
			h.skipPast()
			continue
		}
		c := challenge{scheme: scheme, params: map[string]string{}}
		h.readParams(&c)
		out = append(out, c)
	}
	return out
}

// readParams reads the auth-params of c up to the next challenge.
func (h *headerScanner) readParams(c *challenge) {
	for len(c.params) < maxParams {
		h.skipSpace()
		if h.done() {
			return
		}
		start := h.pos
		name := h.token()
		h.skipSpace()
		switch {
		case name == "" && h.peek() == ',':
			h.pos++ // an empty list element
			continue
		case name == "":
			h.skipPast() // junk
			continue
		case h.done() || h.peek() != '=':
			h.pos = start // the scheme of the next challenge
			return
		}
		h.pos++ // '='
		h.skipSpace()
		if h.done() || h.peek() == ',' || h.peek() == '=' {
			h.skipPast() // a token68 such as "abc==": no parameters
			return
		}
		var value string
		if h.peek() == '"' {
			value = h.quoted()
		} else {
			value = h.token()
		}
		if _, dup := c.params[strings.ToLower(name)]; !dup {
			c.params[strings.ToLower(name)] = value
		}
		h.skipSpace()
		if !h.done() {
			h.skipPast() // the comma, or junk up to it
		}
	}
}

// isTokenChar reports a tchar of RFC 9110 §5.6.2.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// jsonObject decodes an untrusted JSON document that must be an object.
func jsonObject(body string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil || m == nil {
		return nil, errors.New("the body is not a JSON object")
	}
	return m, nil
}

// stringField reads an optional string member; a member of another type is
// an error naming it.
func stringField(m map[string]json.RawMessage, name string) (string, bool, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, fmt.Errorf("%s is not a string", name)
	}
	return s, true, nil
}

// stringsField reads an optional array-of-strings member.
func stringsField(m map[string]json.RawMessage, name string) ([]string, bool, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil, false, nil
	}
	var s []string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, true, fmt.Errorf("%s is not an array of strings", name)
	}
	return s, true, nil
}

// protectedResource is the part of an RFC 9728 document the check reads.
type protectedResource struct {
	resource             string
	authorizationServers []string
	bearerMethods        []string
	hasBearerMethods     bool
}

// parseProtectedResource parses protected-resource metadata.
func parseProtectedResource(body string) (protectedResource, error) {
	m, err := jsonObject(body)
	if err != nil {
		return protectedResource{}, err
	}
	var p protectedResource
	var errs []error
	p.resource, _, err = stringField(m, "resource")
	errs = append(errs, err)
	p.authorizationServers, _, err = stringsField(m, "authorization_servers")
	errs = append(errs, err)
	p.bearerMethods, p.hasBearerMethods, err = stringsField(m, "bearer_methods_supported")
	errs = append(errs, err)
	return p, errors.Join(errs...)
}

// authServer is the part of RFC 8414 (or OpenID) metadata the check reads.
type authServer struct {
	issuer, authorizationEndpoint, tokenEndpoint, jwksURI, registrationEndpoint string
	codeChallengeMethods                                                        []string
}

// parseAuthServer parses authorization-server metadata.
func parseAuthServer(body string) (authServer, error) {
	m, err := jsonObject(body)
	if err != nil {
		return authServer{}, err
	}
	var a authServer
	var errs []error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"issuer", &a.issuer},
		{"authorization_endpoint", &a.authorizationEndpoint},
		{"token_endpoint", &a.tokenEndpoint},
		{"jwks_uri", &a.jwksURI},
		{"registration_endpoint", &a.registrationEndpoint},
	} {
		*f.dst, _, err = stringField(m, f.name)
		errs = append(errs, err)
	}
	a.codeChallengeMethods, _, err = stringsField(m, "code_challenge_methods_supported")
	errs = append(errs, err)
	return a, errors.Join(errs...)
}

// keySet is what the check learns from a JWKS: the kid of every usable key
// (edge.md §7.2) and why each other entry is not usable.
type keySet struct {
	total   int
	usable  []string
	refused []string
}

// parseJWKS parses a JSON Web Key Set; an entry that is not a usable RSA
// signing key is listed in refused with the reason.
func parseJWKS(body string) (keySet, error) {
	m, err := jsonObject(body)
	if err != nil {
		return keySet{}, err
	}
	raw, ok := m["keys"]
	if !ok {
		return keySet{}, errors.New("the document has no keys member")
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return keySet{}, errors.New("keys is not an array")
	}
	ks := keySet{total: len(entries)}
	for i, e := range entries {
		if i == maxKeysExamined {
			break
		}
		kid, why := usableKey(e)
		if why != "" {
			ks.refused = append(ks.refused, fmt.Sprintf("keys[%d]: %s", i, why))
			continue
		}
		ks.usable = append(ks.usable, kid)
	}
	return ks, nil
}

// usableKey returns the kid of a usable key, or why the entry is not one.
func usableKey(raw json.RawMessage) (kid, why string) {
	m, err := jsonObject(string(raw))
	if err != nil {
		return "", "not a JSON object"
	}
	get := func(name string) (string, bool) {
		s, present, err := stringField(m, name)
		if err != nil {
			return "\x00", true
		}
		return s, present
	}
	kty, _ := get("kty")
	kid, hasKid := get("kid")
	use, hasUse := get("use")
	alg, hasAlg := get("alg")
	ops, hasOps, opsErr := stringsField(m, "key_ops")
	switch {
	case kty != "RSA":
		return "", fmt.Sprintf("kty is %s, not RSA", quote(kty))
	case !hasKid || kid == "" || kid == "\x00":
		return "", "no kid"
	case hasUse && use != "sig":
		return "", fmt.Sprintf("use is %s, not sig", quote(use))
	case hasAlg && alg != "RS256":
		return "", fmt.Sprintf("alg is %s, not RS256", quote(alg))
	case opsErr != nil || (hasOps && !slices.Contains(ops, "verify")):
		return "", "key_ops does not contain verify"
	}
	n, _ := get("n")
	e, _ := get("e")
	bits := bitLen(n)
	switch {
	case bits < 0:
		return "", "n is not base64url"
	case bits < minRSABits:
		return "", fmt.Sprintf("the modulus has %d bits, fewer than %d", bits, minRSABits)
	case !normalExponent(e):
		return "", "e is not a normal public exponent"
	}
	return kid, ""
}

// decodeB64URL decodes unpadded (or padded) base64url.
func decodeB64URL(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil
}

// bitLen is the bit length of a base64url big-endian integer, -1 when it
// does not decode.
func bitLen(s string) int {
	b, ok := decodeB64URL(s)
	if !ok || len(b) == 0 {
		return -1
	}
	return new(big.Int).SetBytes(b).BitLen()
}

// normalExponent accepts an odd public exponent from 3 to 2^32-1.
func normalExponent(s string) bool {
	b, ok := decodeB64URL(s)
	if !ok || len(b) == 0 || len(b) > maxExponentBytes {
		return false
	}
	var e uint64
	for _, c := range b {
		e = e<<8 | uint64(c)
	}
	return e >= 3 && e%2 == 1
}

// quote shows an untrusted string in an observation: quoted, escaped and
// at most 200 characters.
func quote(s string) string { return fmt.Sprintf("%q", clip(s, 200)) }

// quoteList shows an untrusted list, at most maxListed entries.
func quoteList(list []string) string {
	parts := make([]string, 0, min(len(list), maxListed)+1)
	for i, s := range list {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("… %d more", len(list)-maxListed))
			break
		}
		parts = append(parts, quote(s))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// clip cuts s to at most n runes, marking the cut, without splitting a
// UTF-8 sequence.
func clip(s string, n int) string {
	count := 0
	for i := range s {
		if count == n {
			return s[:i] + "…"
		}
		count++
	}
	return s
}
