package testrun

import (
	"net/netip"
	"strings"

	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
)

// nonPublicPrefixes are the address ranges outside the sandbox's public
// class (sandbox.md §12.3: always blocked and blocked unless approved)
// that approvals.PublicLooking does not already refuse (it covers
// loopback, RFC 1918, link-local, CGNAT, ULA, multicast and unspecified).
// Teredo is left inside 2001::/23 undecoded, which only withholds more.
func nonPublicPrefixes() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),
		netip.MustParsePrefix("100.100.100.200/32"),
		netip.MustParsePrefix("168.63.129.16/32"),
		netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("192.88.99.0/24"),
		netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("240.0.0.0/4"),
		netip.MustParsePrefix("fec0::/10"),
		netip.MustParsePrefix("100::/64"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("3fff::/20"),
		netip.MustParsePrefix("2001::/23"),
		netip.MustParsePrefix("64:ff9b:1::/48"),
	}
}

// publicHost reports whether a normalised manifest host entry ("host",
// "host:port", "[v6]" or "[v6]:port") may reach unreviewed code (backend.md
// §11.2): a public-looking name (§6.5), or an IP literal of the sandbox's
// public class, judging an IPv6 address that embeds an IPv4 one
// (IPv4-mapped, IPv4-compatible, NAT64, 6to4) by the stricter of the two.
func publicHost(entry string) bool {
	t, err := approvals.ParseTarget(entry, nil)
	if err != nil {
		return false
	}
	lit := strings.TrimSuffix(strings.TrimPrefix(t.Host, "["), "]")
	a, err := netip.ParseAddr(lit)
	if err != nil {
		return approvals.PublicLooking(t.Host)
	}
	return publicAddr(a.WithZone(""))
}

func publicAddr(a netip.Addr) bool {
	if !approvals.PublicLooking(a.String()) {
		return false
	}
	for _, p := range nonPublicPrefixes() {
		if p.Contains(a) {
			return false
		}
	}
	if embedded, ok := embeddedIPv4(a); ok {
		return publicAddr(embedded)
	}
	return true
}

// embeddedIPv4 returns the IPv4 address an IPv6 address carries: the last
// 32 bits of ::/96, ::ffff:0:0/96, ::ffff:0:0:0/96 and 64:ff9b::/96, bits
// 16–47 of 2002::/16.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	last := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	for _, p := range []string{"::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96"} {
		if netip.MustParsePrefix(p).Contains(a) {
			return last, true
		}
	}
	if netip.MustParsePrefix("2002::/16").Contains(a) {
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}
