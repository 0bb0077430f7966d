package caller

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// loopbackHosts are the Host and Origin hosts the local listener always
// accepts, with any port (§3.1), in the form splitHostPort returns.
func loopbackHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// LocalHostAllowed reports whether host, a request's Host header, may reach
// the local listener (DNS-rebinding protection, §3.1): localhost, 127.0.0.1
// or [::1] with any port, or an entry of extra (MCPBOX_GATEWAY_LOCAL_HOSTS).
// An entry without a port accepts any port; one with a port only that port.
// Hosts compare case-insensitively; a malformed Host is refused.
func LocalHostAllowed(host string, extra []string) bool {
	h, port, ok := splitHostPort(host)
	if !ok {
		return false
	}
	if isLoopbackName(h) {
		return true
	}
	for _, e := range extra {
		if eh, ep, ok := splitHostPort(e); ok && eh == h && (ep == "" || ep == port) {
			return true
		}
	}
	return false
}

// LocalOriginAllowed reports whether origin, a request's non-empty Origin
// header, may reach the local listener (§3.1): http or https with host
// localhost, 127.0.0.1 or [::1] and any port, or equal to an entry of extra
// (MCPBOX_GATEWAY_LOCAL_ORIGINS). "null" and anything that is not a plain
// scheme://host[:port] origin are refused.
func LocalOriginAllowed(origin string, extra []string) bool {
	o, ok := parseOrigin(origin)
	if !ok {
		return false
	}
	return isLoopbackName(o.host) || o.in(extra)
}

// OriginListed reports whether origin equals an entry of allowed
// (MCPBOX_GATEWAY_REMOTE_ORIGINS). Scheme and host compare
// case-insensitively and an omitted default port equals the explicit one
// (https://a.example is https://a.example:443).
func OriginListed(origin string, allowed []string) bool {
	o, ok := parseOrigin(origin)
	return ok && o.in(allowed)
}

// CheckHostEntry validates an MCPBOX_GATEWAY_LOCAL_HOSTS entry: a host name
// or IP address, optionally with a port (IPv6 in brackets), no scheme, path
// or wildcard.
func CheckHostEntry(entry string) error {
	if _, _, ok := splitHostPort(entry); !ok {
		return errors.New("must be a host name or IP address with an optional port, such as mcpbox.internal or mcpbox.internal:8002")
	}
	return nil
}

// CheckOriginEntry validates an MCPBOX_GATEWAY_LOCAL_ORIGINS or
// MCPBOX_GATEWAY_REMOTE_ORIGINS entry: http:// or https://, a host and an
// optional port, nothing else (no path, not even a trailing slash).
func CheckOriginEntry(entry string) error {
	if _, ok := parseOrigin(entry); !ok {
		return errors.New("must be an origin such as https://app.example.com or http://localhost:6274 (scheme, host and optional port only)")
	}
	return nil
}

func isLoopbackName(host string) bool {
	for _, l := range loopbackHosts() {
		if host == l {
			return true
		}
	}
	return false
}

// origin is a parsed Origin value with its port made explicit.
type origin struct{ scheme, host, port string }

// in reports whether o equals one of the origins of list.
func (o origin) in(list []string) bool {
	for _, e := range list {
		if eo, ok := parseOrigin(e); ok && eo == o {
			return true
		}
	}
	return false
}

// parseOrigin parses scheme://host[:port] with scheme http or https; the
// default port of the scheme is filled in.
func parseOrigin(v string) (origin, bool) {
	scheme, rest, found := strings.Cut(v, "://")
	if !found {
		return origin{}, false
	}
	scheme = strings.ToLower(scheme)
	if (scheme != "http" && scheme != "https") || strings.ContainsAny(rest, "/?#@\\") {
		return origin{}, false
	}
	host, port, ok := splitHostPort(rest)
	if !ok {
		return origin{}, false
	}
	switch {
	case port != "":
	case scheme == "http":
		port = "80"
	default:
		port = "443"
	}
	return origin{scheme: scheme, host: host, port: port}, true
}

// splitHostPort splits a Host value ("host", "host:port", "[v6]" or
// "[v6]:port") into a lowercased host (an IPv6 address without brackets, in
// canonical form) and a port ("" when absent). ok is false for anything
// else: an empty host, an unbracketed IPv6 address, a zone, an empty or
// out-of-range port, or characters outside host names.
func splitHostPort(v string) (host, port string, ok bool) {
	rest := ""
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "", "", false
		}
		addr, err := netip.ParseAddr(v[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", "", false
		}
		host, rest = addr.String(), v[end+1:]
	} else {
		var hasPort bool
		host, port, hasPort = strings.Cut(v, ":")
		if !validHostName(host) || (hasPort && port == "") {
			return "", "", false
		}
		host = strings.ToLower(host)
		if hasPort {
			rest = ":" + port
		}
	}
	port = ""
	if rest != "" {
		p, isPort := strings.CutPrefix(rest, ":")
		if port, ok = normPort(p); !isPort || !ok {
			return "", "", false
		}
	}
	return host, port, true
}

// validHostName reports whether h is a non-empty run of the characters of
// host names and IPv4 addresses: letters, digits, '-', '.', '_'.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := range len(h) {
		if !isHostChar(h[i]) {
			return false
		}
	}
	return true
}

func isHostChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_'
}

// normPort returns p without leading zeros when it is 1–5 digits with a
// value of at most 65535.
func normPort(p string) (string, bool) {
	if p == "" || len(p) > 5 {
		return "", false
	}
	for i := range len(p) {
		if p[i] < '0' || p[i] > '9' {
			return "", false
		}
	}
	n, err := strconv.Atoi(p)
	if err != nil || n > 65535 {
		return "", false
	}
	return strconv.Itoa(n), true
}
