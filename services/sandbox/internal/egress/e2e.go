//go:build e2e

package egress

import "net/netip"

// WithE2ELoopback moves exactly these loopback ip:port pairs from "always
// blocked" to "blocked unless approved" (sandbox.md §12.3,
// MCPBOX_SANDBOX_E2E_LOOPBACK), so cross-process tests reach their fixtures
// while a tool still needs the literal in its approved hosts. It exists only
// in builds tagged e2e; release builds cannot reach loopback at all.
func WithE2ELoopback(pairs []netip.AddrPort) Option {
	return func(b *Broker) {
		b.loopback = make(map[netip.AddrPort]bool, len(pairs))
		for _, p := range pairs {
			if p.Addr().Unmap().IsLoopback() {
				b.loopback[netip.AddrPortFrom(p.Addr().Unmap(), p.Port())] = true
			}
		}
	}
}
