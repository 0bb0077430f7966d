// Package peer says who sent a request to the backend's main listener and
// how (backend.md §7.4, §7.5): the client IP used for login throttling and
// sessions, and whether the request came over HTTPS, which decides the
// session cookie's Secure flag and HSTS. Forwarding headers count only when
// the direct peer is one of MCPBOX_TRUSTED_PROXIES.
package peer

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies is the parsed MCPBOX_TRUSTED_PROXIES.
type Proxies struct{ nets []netip.Prefix }

// Parse reads CIDRs ("10.0.0.0/8") or single addresses.
func Parse(cidrs []string) (Proxies, error) {
	var p Proxies
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.Contains(c, "/") {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return Proxies{}, fmt.Errorf("MCPBOX_TRUSTED_PROXIES: %q is neither a CIDR nor an IP address", c)
			}
			c = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
		}
		pre, err := netip.ParsePrefix(c)
		if err != nil {
			return Proxies{}, fmt.Errorf("MCPBOX_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", c)
		}
		p.nets = append(p.nets, pre.Masked())
	}
	return p, nil
}

func (p Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// remote is the direct peer's address (invalid when RemoteAddr is not one).
func remote(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// ClientIP is the peer address or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For address that is not one (an address a client
// wrote itself further left is never believed). The result may be invalid
// when RemoteAddr is not an address (tests with a fake peer).
func (p Proxies) ClientIP(r *http.Request) netip.Addr {
	peer := remote(r)
	if !peer.IsValid() || !p.trusted(peer) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a garbled chain: believe only the proxy
		}
		if !p.trusted(a) {
			return a.Unmap()
		}
	}
	return peer
}

// HTTPS reports whether the request came over TLS, directly or as a trusted
// proxy's X-Forwarded-Proto says.
func (p Proxies) HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	peer := remote(r)
	return peer.IsValid() && p.trusted(peer) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}
