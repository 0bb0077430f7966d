package approvals

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/addrclass"
)

// Target is a normalised network request target: a host (IPv6 in
// brackets) and a port, nil for any port.
type Target struct {
	Host string
	Port *int
}

// String is "host" or "host:port", as manifests and messages write it.
func (t Target) String() string {
	if t.Port == nil {
		return t.Host
	}
	return t.Host + ":" + strconv.Itoa(*t.Port)
}

func (t Target) port32() *int32 {
	if t.Port == nil || *t.Port < 1 || *t.Port > 65535 {
		return nil
	}
	return ptr(int32(*t.Port))
}

// ParseTarget normalises the host and port of a request (backend.md §6.5):
// host may carry its own ":port" when port is nil. Failures are
// *proto.RuleError naming host or port.
func ParseTarget(host string, port *int) (Target, error) {
	h, err := proto.NormalizeHost(host)
	if err != nil {
		msg := err.Error()
		var re *proto.RuleError
		if errors.As(err, &re) {
			msg = re.Message
		}
		return Target{}, &proto.RuleError{Field: "host", Message: msg}
	}
	t := splitTarget(h)
	if port != nil {
		if t.Port != nil {
			return Target{}, &proto.RuleError{Field: "port", Message: "give the port either in host or in port, not in both."}
		}
		if *port < 1 || *port > 65535 {
			return Target{}, &proto.RuleError{Field: "port", Message: "must be from 1 to 65535, or absent for any port."}
		}
		t.Port = ptr(*port)
	}
	return t, nil
}

// splitTarget splits a normalised manifest host entry into host and port.
func splitTarget(h string) Target {
	host, port := proto.SplitNormalizedHost(h)
	t := Target{Host: host}
	if n, err := strconv.Atoi(port); err == nil {
		t.Port = &n
	}
	return t
}

// PublicLooking reports whether a normalised host is public-looking
// (backend.md §6.5): not a private-looking name, and, for an IP literal, in
// the sandbox's public class (sandbox.md §12.3, package proto/addrclass:
// loopback, private, link-local, CGNAT, ULA, multicast, unspecified,
// documentation and reserved ranges are not, nor an IPv6 address embedding
// such an IPv4 one), so the backend and the broker agree on what is public.
func PublicLooking(host string) bool {
	lit := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(lit); err == nil {
		return addrclass.Public(a)
	}
	return !proto.PrivateLookingName(host)
}
