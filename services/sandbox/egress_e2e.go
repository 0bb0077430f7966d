//go:build e2e

package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/config"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
)

// e2eEgressOptions reads MCPBOX_SANDBOX_E2E_LOOPBACK (127.0.0.1:port,…) in
// builds tagged e2e: exactly those loopback pairs move from "always blocked"
// to "blocked unless approved", so cross-process tests reach their fixtures
// (sandbox.md §12.3). Refused unless in dev mode on a loopback listener.
func e2eEgressOptions(cfg config.Config, getenv func(string) string) ([]egress.Option, error) {
	raw := getenv("MCPBOX_SANDBOX_E2E_LOOPBACK")
	if raw == "" {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if !cfg.Dev() || err != nil || !envcfg.IsLoopbackHost(host) {
		return nil, &envcfg.Error{Problems: []string{"MCPBOX_SANDBOX_E2E_LOOPBACK: only with MCPBOX_MODE=dev and a loopback MCPBOX_SANDBOX_LISTEN"}}
	}
	var pairs []netip.AddrPort
	for _, p := range strings.Split(raw, ",") {
		ap, err := netip.ParseAddrPort(strings.TrimSpace(p))
		if err != nil || !ap.Addr().IsLoopback() {
			return nil, &envcfg.Error{Problems: []string{fmt.Sprintf("MCPBOX_SANDBOX_E2E_LOOPBACK: %q is not a loopback ip:port", p)}}
		}
		pairs = append(pairs, ap)
	}
	return []egress.Option{egress.WithE2ELoopback(pairs)}, nil
}
