package egress

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// Allowlist is a validated allowed_hosts (sandbox.md §12.1): any public host
// (JSON null), no network ([]), or exactly the listed hosts. The zero value
// allows no network.
type Allowlist struct {
	any     bool
	entries map[string]struct{}
}

// AnyPublic returns the allowlist of allowed_hosts = null.
func AnyPublic() Allowlist { return Allowlist{any: true} }

// ParseAllowedHosts validates and normalises allowed_hosts. A missing key
// (Set false) is refused with the "send null or []" hint; every invalid entry
// is reported as a *proto.RuleError whose field is "allowed_hosts[i]".
func ParseAllowedHosts(a proto.AllowedHosts) (Allowlist, error) {
	if !a.Set {
		return Allowlist{}, &proto.RuleError{
			Field:   "allowed_hosts",
			Message: "is required: send null for any public host, [] for no network, or a list of hosts.",
		}
	}
	if a.Any {
		return AnyPublic(), nil
	}
	return ParseHosts(a.Hosts, "allowed_hosts")
}

// ParseHosts builds a list allowlist from host entries ("host", "host:port",
// IPv4, IPv6 bare or "[v6]:port"), normalised with proto.NormalizeHost. field
// names the list in errors ("allowed_hosts" gives "allowed_hosts[2]").
func ParseHosts(hosts []string, field string) (Allowlist, error) {
	if len(hosts) > proto.MaxAllowedHosts {
		return Allowlist{}, &proto.RuleError{
			Field:   field,
			Message: fmt.Sprintf("at most %d entries.", proto.MaxAllowedHosts),
		}
	}
	l := Allowlist{entries: make(map[string]struct{}, len(hosts))}
	var errs []error
	for i, h := range hosts {
		n, err := proto.NormalizeHost(h)
		if err != nil {
			msg := err.Error()
			var re *proto.RuleError
			if errors.As(err, &re) {
				msg = re.Message
			}
			errs = append(errs, &proto.RuleError{Field: fmt.Sprintf("%s[%d]", field, i), Message: msg})
			continue
		}
		l.entries[n] = struct{}{}
	}
	if err := errors.Join(errs...); err != nil {
		return Allowlist{}, err
	}
	return l, nil
}

// Any reports allowed_hosts = null (any public host).
func (l Allowlist) Any() bool { return l.any }

// None reports allowed_hosts = [] (no network).
func (l Allowlist) None() bool { return !l.any && len(l.entries) == 0 }

// Approves reports whether a normalised host (proto.NormalizeHost form
// without port: a name, an IPv4 literal or a bracketed IPv6 literal) on port
// is listed: "host:port" first, then the bare host that approves every port.
// allowed_hosts = null approves nothing: it admits public hosts unapproved.
func (l Allowlist) Approves(host string, port int) bool {
	if l.any || len(l.entries) == 0 {
		return false
	}
	if _, ok := l.entries[host+":"+strconv.Itoa(port)]; ok {
		return true
	}
	_, ok := l.entries[host]
	return ok
}

// Key is a canonical text of the allowlist, equal for equal policies: "*"
// for any public host, "" for none, else the sorted entries joined by ",".
// The external MCP session pool hashes it (sandbox.md §13.2).
func (l Allowlist) Key() string {
	if l.any {
		return "*"
	}
	keys := make([]string, 0, len(l.entries))
	for k := range l.entries {
		if i := strings.LastIndexByte(k, ':'); i > 0 && !strings.HasSuffix(k, "]") {
			if _, bare := l.entries[k[:i]]; bare {
				continue // "host:port" is implied by "host"
			}
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}
