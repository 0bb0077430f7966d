package tokencheck

import (
	"net/http"
	"strings"
)

// maxTokenBytes is the fixed token limit (edge.md §3, §6.1).
const maxTokenBytes = 8 << 10

// extract returns the bearer token of h (§6.1): the only carrier is a single
// Authorization header with scheme Bearer (any case), one space, the token.
// Query strings, form bodies and cookies are never looked at (h is all it
// gets). The size limit is checked before the alphabet, and both before any
// parsing.
func extract(h http.Header) (string, Reason) {
	vals := h.Values("Authorization")
	switch len(vals) {
	case 0:
		return "", NoToken
	case 1:
	default:
		return "", DuplicateHeader
	}
	v := vals[0]
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", NoToken
	}
	if len(v) == len(scheme) {
		return "", Malformed // "Bearer " after Go's trimming: empty token
	}
	switch v[len(scheme)] {
	case ' ':
	case '\t':
		return "", Malformed
	default:
		return "", NoToken // "Bearerx ...": another scheme
	}
	tok := v[len(scheme)+1:]
	switch {
	case tok == "":
		return "", Malformed
	case len(tok) > maxTokenBytes:
		return "", TooLarge
	}
	for i := range len(tok) {
		if !tokenByte(tok[i]) {
			return "", Malformed // whitespace, padding, '+', '/', JSON, controls...
		}
	}
	return tok, ""
}

// tokenByte reports whether c is in the base64url alphabet or '.'.
func tokenByte(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	case c == '-', c == '_', c == '.':
		return true
	}
	return false
}
