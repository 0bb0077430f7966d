package remoteaccess

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"

	"github.com/mcpbox/mcpbox/proto"
)

// maxURLLen bounds every URL the settings hold.
const maxURLLen = 2048

// The settings' JSON fields, named in validation errors.
const (
	FieldPublicURL        = "public_url"
	FieldExpectedIssuer   = "expected_issuer"
	FieldExpectedAudience = "expected_audience"
)

// urlRule is what a URL setting may contain besides scheme and host.
type urlRule struct {
	field string
	path  bool // a path is allowed
	query bool // a query is allowed
}

// CheckPublicURL checks the public base URL of the edge (backend.md §8.2):
// absolute https (or http on a loopback host), no path, query, fragment or
// userinfo. It returns the normalised form, scheme://host[:port] with the
// host lowercased and no trailing slash, or a *proto.RuleError naming
// public_url.
func CheckPublicURL(raw string) (string, error) {
	u, err := parseHTTPURL(raw, urlRule{field: FieldPublicURL})
	if err != nil {
		return "", err
	}
	return u.Scheme + "://" + u.Host, nil
}

// checkIssuer checks an expected issuer: absolute https (or http on a
// loopback host), a path allowed, no query, fragment or userinfo (RFC 8414
// §2). The value is kept verbatim, since issuers compare as exact strings.
func checkIssuer(raw string) error {
	_, err := parseHTTPURL(raw, urlRule{field: FieldExpectedIssuer, path: true})
	return err
}

// checkAudience checks an expected audience, the resource indicator of the
// edge (RFC 8707 §2): absolute https (or http on a loopback host), a path
// allowed, no query, fragment or userinfo.
func checkAudience(raw string) error {
	_, err := parseHTTPURL(raw, urlRule{field: FieldExpectedAudience, path: true})
	return err
}

// parseHTTPURL parses raw under rule; the returned URL has a lowercased
// host.
func parseHTTPURL(raw string, rule urlRule) (*url.URL, error) {
	bad := func(format string, args ...any) error {
		return &proto.RuleError{Field: rule.field, Message: fmt.Sprintf(format, args...)}
	}
	example := "https://mcp.example.com"
	if rule.path {
		example = "https://id.example.com/realms/mcpbox"
	}
	switch {
	case raw == "":
		return nil, bad("must not be empty.")
	case len(raw) > maxURLLen:
		return nil, bad("must be at most %d characters.", maxURLLen)
	case strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return nil, bad("must not contain spaces or control characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return nil, bad("must be an absolute URL such as %s.", example)
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "":
		return nil, bad("must name a host, e.g. %s.", example)
	case u.Scheme == "http" && !isLoopbackHost(host):
		return nil, bad("must use https (http only on a loopback address such as 127.0.0.1).")
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, bad("must use https, e.g. %s.", example)
	case u.User != nil:
		return nil, bad("must not contain a user name or password.")
	case strings.Contains(host, "%"):
		return nil, bad("must not contain an IPv6 zone (%%…).")
	case strings.Contains(raw, "#"):
		return nil, bad("must not contain a fragment (#…).")
	case !rule.query && (u.RawQuery != "" || u.ForceQuery):
		return nil, bad("must not contain a query (?…).")
	case !rule.path && u.Path != "" && u.Path != "/":
		return nil, bad("must be the base address without a path, e.g. %s (clients add /mcp).", example)
	}
	if port := u.Port(); port != "" {
		if n, err := parsePort(port); err != nil || n == 0 {
			return nil, bad("port %q must be between 1 and 65535.", port)
		}
	}
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

func parsePort(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, fmt.Errorf("out of range: %q", s)
		}
	}
	return n, nil
}

// isLoopbackHost reports whether host (no port, no brackets) names the
// local machine: localhost and its subdomains, 127.0.0.0/8 and ::1.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// origin returns scheme://host:port of an http(s) URL with the port made
// explicit, for same-origin comparisons.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// absoluteHTTP parses a URL found in a document (resource_metadata,
// jwks_uri): absolute http or https with a host, else an error saying so.
func absoluteHTTP(raw string) (*url.URL, error) {
	if len(raw) > maxURLLen {
		return nil, fmt.Errorf("is longer than %d characters", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.User != nil {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", clip(raw, 200))
	}
	return u, nil
}

// authServerMetadataURLs returns the RFC 8414 metadata URL of issuer (the
// well-known path inserted before the issuer's path) and its OpenID
// configuration URL (appended), in the order the check tries them.
func authServerMetadataURLs(issuer *url.URL) []string {
	path := strings.TrimSuffix(issuer.EscapedPath(), "/")
	base := issuer.Scheme + "://" + issuer.Host
	return []string{
		base + "/.well-known/oauth-authorization-server" + path,
		base + path + "/.well-known/openid-configuration",
	}
}
