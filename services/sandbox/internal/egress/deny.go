package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// Deny is the operator's MCPBOX_SANDBOX_EGRESS_DENY: extra always-blocked
// CIDRs (or single addresses) and host names. A denied name also denies
// every name under it ("corp.example" denies "git.corp.example").
type Deny struct {
	Prefixes []netip.Prefix
	Names    []string
}

// ParseDeny parses the comma-separated entries of MCPBOX_SANDBOX_EGRESS_DENY
// (config.Config.EgressDeny): a CIDR ("10.96.0.0/12", "fd00:10::/108"), a
// single IPv4 or IPv6 address, or a host name. Empty entries are ignored. The
// error names the variable and every bad entry.
func ParseDeny(entries []string) (Deny, error) {
	var d Deny
	var errs []error
	for i, raw := range entries {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			if p.Addr().Zone() != "" {
				errs = append(errs, fmt.Errorf("MCPBOX_SANDBOX_EGRESS_DENY entry %d: zones are not allowed", i+1))
				continue
			}
			// An IPv4 range also covers its IPv4-mapped and other embedded
			// IPv6 forms through Classify's embedded-address rule.
			d.Prefixes = append(d.Prefixes, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil && a.Zone() == "" {
			d.Prefixes = append(d.Prefixes, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		name, err := proto.NormalizeHost(e)
		if err != nil || strings.HasPrefix(name, "[") || strings.Contains(name, ":") {
			errs = append(errs, fmt.Errorf("MCPBOX_SANDBOX_EGRESS_DENY entry %d (%q): write a CIDR, an IP address or a host name without port", i+1, e))
			continue
		}
		d.Names = append(d.Names, name)
	}
	slices.Sort(d.Names)
	d.Names = slices.Compact(d.Names)
	return d, errors.Join(errs...)
}

// deniesName reports whether a normalised host name is denied.
func (d Deny) deniesName(host string) bool {
	for _, n := range d.Names {
		if host == n || strings.HasSuffix(host, "."+n) {
			return true
		}
	}
	return false
}
