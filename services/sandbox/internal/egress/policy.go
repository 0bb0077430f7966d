package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
)

// MaxURLBytes bounds a URL (sandbox.md §12.2).
const MaxURLBytes = 8 << 10

// Policy is one request's SSRF policy: the allowlist of the execution (or
// /v1/fetch call, or MCP source) plus the service-wide address classes and
// operator denials. It is immutable and safe for concurrent use.
type Policy struct {
	allow    Allowlist
	cls      *Classifier
	deny     Deny
	loopback map[netip.AddrPort]bool
}

// NewPolicy returns the policy of allow under the fixed address classes plus
// the operator's deny list.
func NewPolicy(allow Allowlist, deny Deny) *Policy {
	return &Policy{allow: allow, cls: NewClassifier(deny.Prefixes), deny: deny}
}

// Allowlist returns the policy's allowlist.
func (p *Policy) Allowlist() Allowlist { return p.allow }

// Target is a destination that passed every check before DNS.
type Target struct {
	// URL is the URL to send: scheme lower case, host normalised (IDN as
	// punycode, no trailing dot), no user information, no fragment.
	URL *url.URL
	// Host is the normalised host: a name, an IPv4 literal or "[v6]".
	Host string
	// Port is the explicit port or the scheme's default (80, 443).
	Port int
	// Addr is the address of an IP-literal host; invalid for a name.
	Addr netip.Addr
	// Approved reports that an allowed_hosts entry matched.
	Approved bool
	// privateOK: the answer may fall in the blocked-unless-approved ranges
	// (an approved IP literal or approved private-looking name).
	privateOK bool
}

// HostPort returns "host:port" as shown in messages and logs.
func (t Target) HostPort() string { return t.Host + ":" + strconv.Itoa(t.Port) }

// CheckURL applies the URL rules of sandbox.md §12.2 and the allowlist of
// §12.1, before any DNS lookup. A refusal is a *BlockedError.
func (p *Policy) CheckURL(raw string) (Target, error) {
	if rule := rawURLRule(raw); rule != "" {
		return Target{}, badURL(rule)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, badURL("the URL cannot be parsed; percent-encode special characters")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "":
		return Target{}, badURL("the URL needs a scheme, http:// or https://")
	case scheme != "http" && scheme != "https":
		return Target{}, badURL(fmt.Sprintf("the scheme must be http or https, not %q", u.Scheme))
	case u.Opaque != "":
		return Target{}, badURL("write the URL as " + scheme + "://host/path")
	case u.User != nil:
		return Target{}, badURL("user information ('user@host') is not allowed; put credentials in a header")
	}
	authority := rawAuthority(raw)
	if strings.Contains(authority, "%") {
		return Target{}, badURL("percent-encoding and IPv6 zones are not allowed in the host")
	}
	hostname, portText := u.Hostname(), u.Port()
	if hostname == "" {
		return Target{}, badURL("the URL has no host")
	}
	if portText == "" && strings.HasSuffix(authority, ":") {
		return Target{}, badURL("the port after ':' is missing")
	}
	port := 80
	if scheme == "https" {
		port = 443
	}
	if portText != "" {
		n, err := strconv.Atoi(portText)
		if err != nil || n < 1 || n > 65535 || portText[0] == '0' {
			return Target{}, badURL("the port must be a number from 1 to 65535 without a leading zero")
		}
		port = n
	}
	t, err := p.CheckHost(hostname, port)
	if err != nil {
		return Target{}, err
	}
	out := *u
	out.Scheme = scheme
	out.User = nil
	out.Host = t.Host
	if portText != "" {
		out.Host += ":" + portText
	}
	out.Fragment, out.RawFragment = "", ""
	t.URL = &out
	return t, nil
}

// rawURLRule returns the rule a raw URL breaks before parsing, or "".
func rawURLRule(raw string) string {
	switch {
	case raw == "":
		return "the URL is empty"
	case len(raw) > MaxURLBytes:
		return "the URL is longer than 8 KiB"
	case !utf8.ValidString(raw):
		return "the URL is not valid UTF-8"
	case strings.ContainsRune(raw, '\\'):
		return "backslashes are not allowed; percent-encode them as %5C"
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f || unicode.IsSpace(r) || unicode.Is(unicode.Cc, r) || r == 0xfeff || r == 0x200b {
			return "control characters and whitespace are not allowed; percent-encode them"
		}
	}
	return ""
}

// rawAuthority returns the text between "//" and the first '/', '?' or '#'
// of a URL that url.Parse accepted with a host.
func rawAuthority(raw string) string {
	_, rest, ok := strings.Cut(raw, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// alwaysBlockedNames are refused whatever the allowlist (sandbox.md §12.2).
func alwaysBlockedName(host string) bool {
	switch host {
	case "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback",
		"metadata", "metadata.google.internal", "metadata.gke.internal", "metadata.azure.com",
		"instance-data", "instance-data.ec2.internal",
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local":
		return true
	}
	return strings.HasSuffix(host, ".localhost")
}

// CheckHost applies the host rules of sandbox.md §12.1–§12.3 to a raw host
// (a name, an IPv4 literal or an IPv6 literal with or without brackets) and
// port: normalisation, always-blocked names and operator denials, the
// allowlist, names under .internal, and the class of an IP literal. The
// broker's dial function runs it again for every connection.
func (p *Policy) CheckHost(host string, port int) (Target, error) {
	if len(host) > 4*proto.MaxHostNameLen {
		// Longer than any IDN whose A-label fits 253 characters; refusing
		// early keeps punycode's quadratic cost off the request path.
		return Target{}, badURL(fmt.Sprintf("the host is longer than %d characters", proto.MaxHostNameLen))
	}
	if strings.ContainsAny(host, ":%") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	norm, err := proto.NormalizeHost(host)
	if err == nil && (strings.HasPrefix(norm, "[") && !strings.HasSuffix(norm, "]") ||
		!strings.HasPrefix(norm, "[") && strings.Contains(norm, ":")) {
		return Target{}, badURL("the host must not carry a port of its own")
	}
	if err != nil {
		msg := "the host is not valid"
		var re *proto.RuleError
		if errors.As(err, &re) {
			msg = "the host " + strings.TrimSuffix(re.Message, ".")
		}
		return Target{}, badURL(msg)
	}
	t := Target{Host: norm, Port: port}
	if a, err := netip.ParseAddr(strings.Trim(norm, "[]")); err == nil {
		t.Addr = a
	}
	hp := t.HostPort()
	if !t.Addr.IsValid() {
		if alwaysBlockedName(norm) {
			return Target{}, &BlockedError{Host: hp, Reason: ReasonBlockedHostname}
		}
		if p.deny.deniesName(norm) {
			return Target{}, &BlockedError{Host: hp, Reason: ReasonBlockedHostname, variant: variantOperator}
		}
	} else if err := p.checkClass(t, netip.AddrPortFrom(t.Addr, uint16(port)), true); err != nil { //nolint:gosec // G115: port is 1–65535
		return Target{}, err
	}
	if p.allow.None() {
		return Target{}, &BlockedError{Host: hp, Reason: ReasonNoNetwork}
	}
	t.Approved = p.allow.Approves(norm, port)
	if !p.allow.Any() && !t.Approved {
		return Target{}, &BlockedError{Host: hp, Reason: ReasonNotApproved}
	}
	t.privateOK = t.Approved && (t.Addr.IsValid() || proto.PrivateLookingName(norm))
	if !t.Addr.IsValid() {
		if strings.HasSuffix(norm, ".internal") && !t.Approved {
			return Target{}, &BlockedError{Host: hp, Reason: ReasonBlockedHostname, variant: variantInternalName}
		}
		return t, nil
	}
	return t, p.checkClass(t, netip.AddrPortFrom(t.Addr, uint16(port)), false) //nolint:gosec // G115: port is 1–65535
}

// CheckAddr checks one resolved address, or the exact address of a
// connection attempt, against the target's approval (sandbox.md §12.3–§12.4).
func (p *Policy) CheckAddr(t Target, ap netip.AddrPort) error {
	return p.checkClass(t, ap, false)
}

// checkClass refuses an always-blocked address, and (unless alwaysOnly) a
// blocked-unless-approved address the target may not reach.
func (p *Policy) checkClass(t Target, ap netip.AddrPort, alwaysOnly bool) error {
	a := ap.Addr()
	class := p.cls.Classify(a)
	if class == ClassAlwaysBlocked && p.loopback[netip.AddrPortFrom(a.Unmap(), ap.Port())] && a.Unmap().IsLoopback() {
		class = ClassPrivate // e2e builds only: an exact fixture ip:port
	}
	switch {
	case class == ClassAlwaysBlocked:
		v := variantDefault
		if p.cls.OperatorDenied(a) {
			v = variantOperator
		}
		return &BlockedError{Host: t.HostPort(), Reason: ReasonAlwaysBlocked, variant: v}
	case class == ClassPrivate && !alwaysOnly && !t.privateOK:
		v := variantDefault
		if t.Approved {
			v = variantApprovedName
		}
		return &BlockedError{Host: t.HostPort(), Reason: ReasonPrivateAddress, variant: v}
	}
	return nil
}
