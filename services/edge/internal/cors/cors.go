// Package cors is the edge's origin allowlist (edge.md §10): exact origins,
// preflights without a token, and the headers of actual responses. Unknown
// origins, null included, never receive Access-Control-Allow-Origin, and
// credentials are never allowed.
//
// Decisions where edge.md is silent:
//   - Configured origins are normalised once (a trailing "/" dropped, scheme
//     and host lower-cased, as browsers serialise them); the request's
//     Origin is then compared byte for byte and echoed exactly as sent. A
//     request with several Origin lines is treated as an unknown origin.
//   - Preflight echoes requested Mcp-Param-* names as the client spelled
//     them, once each (case-insensitive), at most maxParams of them; the
//     rest are left out (the browser then refuses that request, nothing
//     else). Access-Control-Request-Method is not checked: the browser
//     enforces Allow-Methods itself.
//   - Decorate removes any Access-Control-* already present before adding
//     its own, so no code path can leave "*" or credentials on /mcp, and it
//     adds Origin to an existing Vary instead of replacing it.
//   - PublicPreflight allows the request headers Content-Type and
//     MCP-Protocol-Version (the ones a browser may send to the metadata
//     documents and /health) and needs no Vary, its answer being the same
//     for every origin.
package cors

import (
	"net/http"
	"strings"
)

// The fixed values of §10.
const (
	allowMethods  = "GET, POST, DELETE, OPTIONS"
	allowHeaders  = "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID"
	exposeHeaders = "Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, WWW-Authenticate, Retry-After, X-Request-Id"
	publicHeaders = "Content-Type, MCP-Protocol-Version"
	maxAge        = "7200"

	paramPrefix = "mcp-param-"
	maxParamLen = 64 // characters after the prefix
	maxParams   = 64 // Mcp-Param-* names echoed per preflight
)

// Policy is the allowlist. It is read-only after New and safe for
// concurrent use.
type Policy struct {
	origins map[string]struct{}
}

// New builds a policy from exact origins (config validated them).
func New(origins []string) *Policy {
	p := &Policy{origins: make(map[string]struct{}, len(origins))}
	for _, o := range origins {
		if o = normalize(o); o != "" {
			p.origins[o] = struct{}{}
		}
	}
	return p
}

// normalize lower-cases scheme and host and drops a trailing slash; "" for
// anything that is no scheme://host origin.
func normalize(o string) string {
	o = strings.TrimSuffix(strings.TrimSpace(o), "/")
	scheme, host, ok := strings.Cut(o, "://")
	if !ok || scheme == "" || host == "" || strings.ContainsAny(host, "/?#@*") {
		return ""
	}
	return strings.ToLower(scheme) + "://" + strings.ToLower(host)
}

// Allowed reports whether origin is on the list (exact match). "null" and
// "" never are.
func (p *Policy) Allowed(origin string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	_, ok := p.origins[origin]
	return ok
}

// requestOrigin is the single Origin of r, or "" (absent or repeated).
func requestOrigin(h http.Header) string {
	if v := h.Values("Origin"); len(v) == 1 {
		return v[0]
	}
	return ""
}

// Preflight answers OPTIONS /mcp: 204, and for an allowed origin the
// Allow-Origin, Allow-Methods, Allow-Headers (the fixed list plus requested
// Mcp-Param-* headers) and Max-Age of §10; always Vary: Origin.
func (p *Policy) Preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	dropAccessControl(h)
	addVaryOrigin(h)
	if origin := requestOrigin(r.Header); p.Allowed(origin) {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", allowMethods)
		h.Set("Access-Control-Allow-Headers", allowHeaders+requestedParams(r.Header.Values("Access-Control-Request-Headers")))
		h.Set("Access-Control-Max-Age", maxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}

// requestedParams returns ", name" for each distinct requested header
// name that matches Mcp-Param-[A-Za-z0-9-]{1,64}, as spelled in the
// request, up to maxParams.
func requestedParams(lines []string) string {
	var b strings.Builder
	var seen []string
	for _, line := range lines {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.Trim(name, " \t")
			if !isParamHeader(name) || containsFold(seen, name) {
				continue
			}
			if len(seen) == maxParams {
				return b.String()
			}
			seen = append(seen, name)
			b.WriteString(", ")
			b.WriteString(name)
		}
	}
	return b.String()
}

// isParamHeader matches Mcp-Param-[A-Za-z0-9-]{1,64}, the prefix in any
// case.
func isParamHeader(name string) bool {
	if len(name) <= len(paramPrefix) || len(name) > len(paramPrefix)+maxParamLen ||
		!strings.EqualFold(name[:len(paramPrefix)], paramPrefix) {
		return false
	}
	for _, c := range []byte(name[len(paramPrefix):]) {
		if !isParamChar(c) {
			return false
		}
	}
	return true
}

func isParamChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
		return true
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// PublicPreflight answers OPTIONS of /health and the metadata paths: 204
// with Access-Control-Allow-Origin: * and the path's methods.
func PublicPreflight(w http.ResponseWriter, _ *http.Request, methods string) {
	h := w.Header()
	dropAccessControl(h)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Allow-Headers", publicHeaders)
	h.Set("Access-Control-Max-Age", maxAge)
	w.WriteHeader(http.StatusNoContent)
}

// Decorate sets the headers of an actual /mcp response (proxied or
// edge-written) on h: Vary: Origin always; Allow-Origin and Expose-Headers
// when origin is allowed. Any Access-Control-* already in h is removed
// first (upstream ones were removed before, by headers.CleanResponse).
func (p *Policy) Decorate(h http.Header, origin string) {
	dropAccessControl(h)
	addVaryOrigin(h)
	if p.Allowed(origin) {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", exposeHeaders)
	}
}

func dropAccessControl(h http.Header) {
	for k := range h {
		if len(k) >= len("Access-Control-") && strings.EqualFold(k[:len("Access-Control-")], "Access-Control-") {
			delete(h, k)
		}
	}
}

// addVaryOrigin adds Origin to Vary unless it (or "*") is already listed.
func addVaryOrigin(h http.Header) {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.Trim(f, " \t"); f == "*" || strings.EqualFold(f, "Origin") {
				return
			}
		}
	}
	h.Add("Vary", "Origin")
}
