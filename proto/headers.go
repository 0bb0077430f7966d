package proto

import (
	"strings"
)

// Header names shared by the services (contracts.md §2).
//
//nolint:gosec // G101: header names, not credentials
const (
	// HeaderServiceToken carries the callee's service token; the only carrier
	// (Authorization is never accepted for it).
	HeaderServiceToken = "X-MCPbox-Service-Token"
	// HeaderUserEmail is the verified email the edge forwards, when valid.
	HeaderUserEmail = "X-MCPbox-User-Email"
	// HeaderUserSub is the verified JWT subject the edge forwards.
	HeaderUserSub = "X-MCPbox-User-Sub"
	// HeaderRequestID is generated at the first hop and propagated everywhere.
	HeaderRequestID = "X-Request-Id"
	// HeaderCSRF carries the web UI's CSRF token on cookie-authenticated mutations.
	HeaderCSRF = "X-CSRF-Token"
	// HeaderBackgroundRefresh marks a UI request that must not extend the session.
	HeaderBackgroundRefresh = "X-Background-Refresh"
	// HeaderPrefix is the prefix of every MCPbox-internal header; the edge drops
	// every incoming header that starts with it.
	HeaderPrefix = "X-Mcpbox-"
)

//nolint:gochecknoglobals // read-only patterns, compiled on first use
var (
	requestIDRe  = lazyRegexp(`^[A-Za-z0-9._:-]{1,128}$`)
	emailLocalRe = lazyRegexp(`^[A-Za-z0-9._%+-]+$`)
	emailLabelRe = lazyRegexp(`^[A-Za-z0-9-]+$`)
	tldRe        = lazyRegexp(`^[A-Za-z]{2,}$`)
)

// ValidRequestID reports whether id may be kept as a request id: 1–128
// characters of [A-Za-z0-9._:-]. Anything else is replaced by a fresh UUIDv4.
func ValidRequestID(id string) bool { return requestIDRe().MatchString(id) }

// ValidSub reports whether sub is a usable subject header value: 1–255
// printable ASCII characters.
func ValidSub(sub string) bool {
	if sub == "" || len(sub) > 255 {
		return false
	}
	for i := range len(sub) {
		if sub[i] < 0x20 || sub[i] > 0x7e {
			return false
		}
	}
	return true
}

// ValidEmail applies the email rule of contracts.md §2: at most 254 bytes,
// exactly one '@', a local part of [A-Za-z0-9._%+-], dot-separated labels of
// [A-Za-z0-9-] and a top-level domain of at least two letters.
func ValidEmail(email string) bool {
	if len(email) > 254 || strings.Count(email, "@") != 1 {
		return false
	}
	local, domain, _ := strings.Cut(email, "@")
	if !emailLocalRe().MatchString(local) {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !emailLabelRe().MatchString(l) {
			return false
		}
	}
	return tldRe().MatchString(labels[len(labels)-1])
}
