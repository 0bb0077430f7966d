// Package headers is the edge's header hygiene (edge.md §9): the request
// sent to the gateway is built from scratch, the response relayed to the
// client is cleaned, and the client IP is taken from the peer or, behind a
// trusted proxy, from X-Forwarded-For. SmuggleGuard (smuggle.go) catches
// the one request shape Go's server hides from handlers: Content-Length
// together with Transfer-Encoding.
//
// Decisions where edge.md is silent:
//   - Header names are compared case-insensitively and with '_' equal to
//     '-', so X_MCPbox_User_Email or X_Forwarded_For are dropped too: some
//     HTTP stacks fold underscores into dashes.
//   - Upstream also drops a Host entry of the header map (the proxy sets the
//     upstream host on the request itself) and re-checks the email with
//     proto.ValidEmail before setting it (E3, defence in depth).
//   - CleanResponse also drops Proxy-Authenticate (hop-by-hop in RFC 2616)
//     and the obsolete Set-Cookie2.
//   - ClientIP: when every X-Forwarded-For entry is a trusted proxy, the
//     left-most one is the client (as nginx's real_ip_recursive does).
//     Entries may be bare addresses or address:port ([v6]:port); anything
//     else (empty, "unknown", zones, obfuscated identifiers) is malformed
//     and the peer is used. ParseProxies accepts CIDRs and bare addresses
//     and refuses a CIDR with host bits set (10.0.0.1/8), which is almost
//     always a typo that would trust far more than meant.
//   - LimitKey of an invalid address (a peer that is not ip:port, which TCP
//     listeners never produce) is "unknown": one shared bucket.
package headers

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// Trusted are the values only the edge may set upstream (§9.1).
type Trusted struct {
	ServiceToken string
	Subject      string
	Email        string // "" means no email header
	RequestID    string
	ClientIP     netip.Addr
	Proto, Host  string // scheme and host[:port] of PUBLIC_URL
}

// Upstream returns the headers of the request to the gateway: in's headers
// minus every dropped one of §9.1 (credentials, X-MCPbox-*, forwarding
// headers, X-Request-Id, Origin, hop-by-hop and every header named in
// Connection), then the trusted ones set. in is not modified; value slices
// are copied. Host is not set here: the proxy sets the upstream host on the
// request.
func Upstream(in http.Header, t Trusted) http.Header {
	named := connectionNamed(in)
	out := make(http.Header, len(in)+7)
	for k, vv := range in {
		if droppedRequest(k) || nameListed(named, k) {
			continue
		}
		out[k] = slices.Clone(vv)
	}
	set := func(k, v string) {
		if v != "" {
			out.Set(k, v) // canonical key: proto's names are spelled X-MCPbox-*
		}
	}
	set(proto.HeaderServiceToken, t.ServiceToken)
	set(proto.HeaderUserSub, t.Subject)
	if t.Email != "" && proto.ValidEmail(t.Email) {
		set(proto.HeaderUserEmail, t.Email)
	}
	set(proto.HeaderRequestID, t.RequestID)
	if t.ClientIP.IsValid() {
		set("X-Forwarded-For", t.ClientIP.Unmap().WithZone("").String())
	}
	set("X-Forwarded-Proto", t.Proto)
	set("X-Forwarded-Host", t.Host)
	return out
}

// CleanResponse removes from an upstream response's headers what never
// reaches the client (§9.4): hop-by-hop and Connection-named headers,
// Set-Cookie, X-MCPbox-*, Access-Control-*.
func CleanResponse(h http.Header) {
	named := connectionNamed(h)
	for k := range h {
		if droppedResponse(k) || nameListed(named, k) {
			delete(h, k)
		}
	}
}

// ClientRequestID returns the client's X-Request-Id when it matches
// [A-Za-z0-9._:-]{1,128}, for logging as client_request_id; else "". Only
// the first value counts.
func ClientRequestID(h http.Header) string {
	v := h.Values(proto.HeaderRequestID)
	if len(v) == 0 || !proto.ValidRequestID(v[0]) {
		return ""
	}
	return v[0]
}

// hopByHop are the hop-by-hop fields of RFC 9110 §7.6.1 plus the legacy
// Proxy-Connection and Keep-Alive, dropped in both directions.
func hopByHop(k string) bool {
	return nameIs(k, "Connection") || nameIs(k, "Keep-Alive") || nameIs(k, "Proxy-Connection") ||
		nameIs(k, "TE") || nameIs(k, "Trailer") || nameIs(k, "Transfer-Encoding") || nameIs(k, "Upgrade")
}

// droppedRequest reports whether the client's header k never reaches the
// gateway (§9.1).
func droppedRequest(k string) bool {
	switch {
	case hopByHop(k), nameHasPrefix(k, proto.HeaderPrefix), nameHasPrefix(k, "X-Forwarded-"):
		return true
	}
	for _, d := range [...]string{
		"Authorization", "Proxy-Authorization", "Cookie",
		"Forwarded", "X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "X-Client-IP",
		proto.HeaderRequestID, "Origin", "Host",
	} {
		if nameIs(k, d) {
			return true
		}
	}
	return false
}

// droppedResponse reports whether the gateway's response header k never
// reaches the client (§9.4).
func droppedResponse(k string) bool {
	return hopByHop(k) || nameIs(k, "Proxy-Authenticate") || nameIs(k, "Set-Cookie") || nameIs(k, "Set-Cookie2") ||
		nameHasPrefix(k, proto.HeaderPrefix) || nameHasPrefix(k, "Access-Control-")
}

// connectionNamed returns the field names listed in every Connection
// header of h (any spelling of the key), trimmed; empty entries skipped.
func connectionNamed(h http.Header) []string {
	var names []string
	for k, vv := range h {
		if !nameIs(k, "Connection") {
			continue
		}
		for _, v := range vv {
			for f := range strings.SplitSeq(v, ",") {
				if f = strings.Trim(f, " \t"); f != "" {
					names = append(names, f)
				}
			}
		}
	}
	return names
}

func nameListed(names []string, k string) bool {
	for _, n := range names {
		if nameIs(k, n) {
			return true
		}
	}
	return false
}

// nameIs compares header names ASCII case-insensitively, '_' equal to '-'.
func nameIs(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if foldName(a[i]) != foldName(b[i]) {
			return false
		}
	}
	return true
}

func nameHasPrefix(k, prefix string) bool {
	return len(k) >= len(prefix) && nameIs(k[:len(prefix)], prefix)
}

func foldName(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	case c == '_':
		return '-'
	}
	return c
}
