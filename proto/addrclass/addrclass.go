// Package addrclass is the address classes of sandbox.md §12.3, shared by
// the sandbox's egress broker (which enforces them at dial time) and the
// backend (which withholds non-public literals from unreviewed code,
// backend.md §11.2, and auto-approves only public-looking hosts, §6.6).
package addrclass

import (
	"net/netip"
)

// Class is the address class of sandbox.md §12.3, ordered from the most to the
// least reachable, so the stricter of two classes is the larger.
type Class int

// Address classes.
const (
	// ClassPublic is everything not listed below.
	ClassPublic Class = iota
	// ClassPrivate is blocked unless the host is approved (private networks,
	// CGNAT, documentation, benchmarking and reserved ranges, ULA).
	ClassPrivate
	// ClassAlwaysBlocked is never reachable, even when approved: unspecified,
	// loopback, link-local, metadata, multicast, broadcast, and the
	// operator's MCPBOX_SANDBOX_EGRESS_DENY CIDRs.
	ClassAlwaysBlocked
)

// String returns "public", "private" or "always_blocked".
func (c Class) String() string {
	switch c {
	case ClassPublic:
		return "public"
	case ClassPrivate:
		return "private"
	default:
		return "always_blocked"
	}
}

// ranges are the fixed tables of sandbox.md §12.3.
type ranges struct {
	always  []netip.Prefix
	private []netip.Prefix
	// Embedded-IPv4 prefixes and the 2001::/23 block Teredo is carved from.
	compatible, translated, nat64, sixToFour, teredo, ietf2001 netip.Prefix
}

// defaultRanges builds the tables of sandbox.md §12.3. They are rebuilt per
// Classifier rather than kept in a package variable.
func defaultRanges() ranges {
	return ranges{
		always: prefixes(
			// IPv4
			"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "100.100.100.200/32",
			"168.63.129.16/32", "224.0.0.0/4", "255.255.255.255/32",
			// IPv6
			"::/128", "::1/128", "fe80::/10", "ff00::/8", "fd00:ec2::254/128",
		),
		private: prefixes(
			// IPv4
			"10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
			"192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
			"203.0.113.0/24", "240.0.0.0/4",
			// IPv6 (2001::/23 is handled in classifyOwn: Teredo is decoded instead)
			"fc00::/7", "fec0::/10", "100::/64", "2001:db8::/32", "3fff::/20", "64:ff9b:1::/48",
		),
		compatible: netip.MustParsePrefix("::/96"),
		translated: netip.MustParsePrefix("::ffff:0:0:0/96"),
		nat64:      netip.MustParsePrefix("64:ff9b::/96"),
		sixToFour:  netip.MustParsePrefix("2002::/16"),
		teredo:     netip.MustParsePrefix("2001::/32"),
		ietf2001:   netip.MustParsePrefix("2001::/23"),
	}
}

// prefixes parses constant prefixes; a typo is a programming error caught by
// every test.
func prefixes(list ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, s := range list {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Classifier assigns an address its class: the fixed tables plus the
// operator's extra always-blocked CIDRs.
type Classifier struct {
	r    ranges
	deny []netip.Prefix
}

// NewClassifier returns a classifier with the fixed tables and the extra
// always-blocked prefixes.
func NewClassifier(deny []netip.Prefix) *Classifier {
	return &Classifier{r: defaultRanges(), deny: deny}
}

// Classify returns the class of a, the stricter of its own class and that of
// any IPv4 address it embeds (mapped, compatible, translated, NAT64, 6to4,
// Teredo server and client). An invalid address is always blocked.
func (c *Classifier) Classify(a netip.Addr) Class {
	if !a.IsValid() {
		return ClassAlwaysBlocked
	}
	a = a.WithZone("")
	class := c.classifyOwn(a)
	for _, e := range c.r.embeddedIPv4(a) {
		class = max(class, c.classifyOwn(e))
	}
	return class
}

// OperatorDenied reports whether a, or an IPv4 address it embeds, is in an
// operator-denied prefix.
func (c *Classifier) OperatorDenied(a netip.Addr) bool {
	a = a.WithZone("")
	for _, x := range append([]netip.Addr{a}, c.r.embeddedIPv4(a)...) {
		for _, p := range c.deny {
			if p.Contains(x) {
				return true
			}
		}
	}
	return false
}

// classifyOwn classifies an address by the tables only.
func (c *Classifier) classifyOwn(a netip.Addr) Class {
	for _, p := range c.deny {
		if p.Contains(a) {
			return ClassAlwaysBlocked
		}
	}
	for _, p := range c.r.always {
		if p.Contains(a) {
			return ClassAlwaysBlocked
		}
	}
	for _, p := range c.r.private {
		if p.Contains(a) {
			return ClassPrivate
		}
	}
	if c.r.ietf2001.Contains(a) && !c.r.teredo.Contains(a) {
		return ClassPrivate
	}
	return ClassPublic
}

// embeddedIPv4 returns the IPv4 addresses an IPv6 address carries.
func (r *ranges) embeddedIPv4(a netip.Addr) []netip.Addr {
	if !a.Is6() {
		return nil
	}
	b := a.As16()
	last32 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case a.Is4In6():
		return []netip.Addr{a.Unmap()}
	case r.translated.Contains(a), r.compatible.Contains(a), r.nat64.Contains(a):
		return []netip.Addr{last32}
	case r.sixToFour.Contains(a):
		return []netip.Addr{netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})}
	case r.teredo.Contains(a):
		server := netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]})
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		return []netip.Addr{server, client}
	}
	return nil
}

// Public reports whether a is in the public class of the fixed tables (no
// operator CIDRs): what the backend may hand to code no admin reviewed.
func Public(a netip.Addr) bool { return NewClassifier(nil).Classify(a) == ClassPublic }
