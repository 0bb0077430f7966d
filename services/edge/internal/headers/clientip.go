package headers

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies is the parsed TRUSTED_PROXIES list. The zero value trusts no one.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies parses CIDRs (config already validated them; an error names
// the entry). A bare address counts as a single-host prefix; empty entries
// are skipped; a CIDR with host bits set is refused. IPv4-mapped IPv6
// prefixes (::ffff:10.0.0.0/104) are stored as their IPv4 equivalent.
func ParseProxies(cidrs []string) (Proxies, error) {
	var p Proxies
	for _, raw := range cidrs {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		var pfx netip.Prefix
		if strings.Contains(e, "/") {
			var err error
			if pfx, err = netip.ParsePrefix(e); err != nil {
				return Proxies{}, fmt.Errorf("trusted proxy %q: not a CIDR (like 10.0.0.0/8) or an IP address", raw)
			}
			if pfx != pfx.Masked() {
				return Proxies{}, fmt.Errorf("trusted proxy %q: host bits are set; write %s", raw, pfx.Masked())
			}
		} else {
			a, err := netip.ParseAddr(e)
			if err != nil || a.Zone() != "" {
				return Proxies{}, fmt.Errorf("trusted proxy %q: not a CIDR (like 10.0.0.0/8) or an IP address", raw)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		if a := pfx.Addr(); a.Is4In6() {
			if pfx.Bits() < 96 {
				return Proxies{}, fmt.Errorf("trusted proxy %q: an IPv4-mapped prefix needs at least 96 bits", raw)
			}
			pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
		}
		p.prefixes = append(p.prefixes, pfx)
	}
	return p, nil
}

// trusted reports whether a (unmapped, no zone) is inside a trusted prefix.
func (p Proxies) trusted(a netip.Addr) bool {
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client address (§9.3): the peer of r.RemoteAddr,
// unless the peer is trusted; then the right-most X-Forwarded-For entry
// that is not itself trusted (a malformed entry stops the walk and the
// peer is used). Several X-Forwarded-For lines form one list in order. When
// every entry is trusted, the left-most is the client. IPv4-mapped IPv6
// addresses come back as IPv4, without zone. The zero Addr means the peer
// itself was not an address.
func (p Proxies) ClientIP(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !p.trusted(peer) {
		return peer
	}
	vals := r.Header.Values("X-Forwarded-For")
	if len(vals) == 0 {
		return peer
	}
	var last netip.Addr
	for i := len(vals) - 1; i >= 0; i-- {
		v := vals[i]
		for {
			j := strings.LastIndexByte(v, ',')
			a, ok := parseForwarded(v[j+1:])
			if !ok {
				return peer
			}
			if !p.trusted(a) {
				return a
			}
			last = a
			if j < 0 {
				break
			}
			v = v[:j]
		}
	}
	return last
}

// peerAddr parses a RemoteAddr ("ip:port", or a bare ip).
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// parseForwarded parses one X-Forwarded-For entry: an address, or
// address:port / [v6]:port, with optional surrounding blanks. Zones are
// refused.
func parseForwarded(e string) (netip.Addr, bool) {
	e = strings.Trim(e, " \t")
	a, err := netip.ParseAddr(e)
	if err != nil {
		ap, err := netip.ParseAddrPort(e)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	if a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// LimitKey is the rate-limit key of an address: the full IPv4 address, or
// the IPv6 /64 (as "2001:db8:1:2::/64"). IPv4-mapped IPv6 counts as IPv4.
// An invalid address gives "unknown".
func LimitKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	switch {
	case !ip.IsValid():
		return "unknown"
	case ip.Is4():
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}
