// Package prm is the edge's OAuth 2.0 protected-resource metadata (RFC 9728,
// edge.md §8) and the RFC 6750 WWW-Authenticate challenges that point to it.
// Everything is built once from configuration, never from the request.
//
// Decisions where edge.md is silent:
//   - Parameter values are written as RFC 9110 quoted-strings: '"' and '\'
//     are backslash-escaped and bytes outside printable ASCII are dropped,
//     so no configured or caller-given text can break the header.
//   - An insufficient_scope challenge without configured required scopes
//     carries no scope parameter (an empty one says nothing).
//   - The description is used by invalid_token only; an error code outside
//     §6.6 still gets a well-formed challenge (error, error_description when
//     given, resource_metadata), so a caller's mistake never yields a 401
//     without resource_metadata.
//   - ServeHTTP answers a method other than GET or HEAD with 405 (the router
//     normally never lets one through) and adds X-Content-Type-Options:
//     nosniff, as on every response the edge writes itself.
package prm

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mcpbox/mcpbox/services/edge/internal/reply"
)

// wellKnown is the RFC 9728 well-known path prefix.
const wellKnown = "/.well-known/oauth-protected-resource"

// Metadata is the document and the challenge builder. It is read-only
// after New and safe for concurrent use.
type Metadata struct {
	body   []byte
	length string // len(body), for Content-Length
	url    string

	noToken, invalidRequest, insufficientScope string
	invalidToken                               map[string]string // description → challenge
}

// document is the RFC 9728 JSON, fields in the order of §8.
type document struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	ResourceName           string   `json:"resource_name"`
}

// New builds the document: resource (absolute, no trailing slash),
// authorization_servers [issuer], bearer_methods_supported ["header"],
// scopes_supported (omitted when empty), resource_name "MCPbox".
// publicURL is the edge's origin; required are the REQUIRED_SCOPES.
func New(publicURL, resource, issuer string, scopesSupported, required []string) *Metadata {
	resource = strings.TrimRight(resource, "/")
	body, err := json.Marshal(document{
		Resource:               resource,
		AuthorizationServers:   []string{issuer},
		BearerMethodsSupported: []string{"header"},
		ScopesSupported:        scopesSupported,
		ResourceName:           "MCPbox",
	})
	if err != nil {
		panic("prm: marshal: " + err.Error()) // strings and string slices always marshal
	}
	m := &Metadata{body: body, length: strconv.Itoa(len(body)), url: metadataURL(publicURL, resource)}

	rm := `resource_metadata=` + quote(m.url)
	scope := strings.Join(required, " ")
	m.noToken = "Bearer " + rm
	m.insufficientScope = `Bearer error="insufficient_scope", ` + rm
	if scope != "" {
		m.noToken += `, scope=` + quote(scope)
		m.insufficientScope = `Bearer error="insufficient_scope", scope=` + quote(scope) + ", " + rm
	}
	m.invalidRequest = `Bearer error="invalid_request", ` + rm
	// The fixed phrases of §6.6: their invalid_token challenges are built
	// once.
	descriptions := [...]string{
		"token expired",
		"token not yet valid",
		"token audience does not match this resource",
		"token issuer not accepted",
		"token verification failed",
	}
	m.invalidToken = make(map[string]string, len(descriptions))
	for _, d := range descriptions {
		m.invalidToken[d] = m.build(reply.InvalidToken, d)
	}
	return m
}

// metadataURL is the RFC 9728 §3.1 URL for resource: the well-known prefix
// inserted between the public origin and the resource's path, or the root
// form when the resource has no path.
func metadataURL(publicURL, resource string) string {
	base := strings.TrimRight(publicURL, "/") + wellKnown
	u, err := url.Parse(resource)
	if err != nil {
		return base
	}
	if p := strings.TrimRight(u.EscapedPath(), "/"); p != "" {
		return base + p
	}
	return base
}

// URL is the absolute metadata URL used in challenges: the RFC 9728
// path-inserted form for the resource (or the root form without a path).
func (m *Metadata) URL() string { return m.url }

// ServeHTTP answers GET and HEAD of either metadata path (the router checks
// path and method first).
func (m *Metadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD, OPTIONS")
		reply.Error(w, http.StatusMethodNotAllowed, reply.MethodNotAllowed)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", m.length)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(m.body)
	}
}

// Challenge returns the WWW-Authenticate value for an error code of §6.6:
// "" (no token: resource_metadata, plus scope when scopes are required),
// "invalid_request", "invalid_token" (with description),
// "insufficient_scope" (with scope). Values are quoted per RFC 6750 §3.
func (m *Metadata) Challenge(errCode, description string) string {
	switch errCode {
	case "":
		return m.noToken
	case reply.InvalidRequest:
		return m.invalidRequest
	case reply.InsufficientScope:
		return m.insufficientScope
	case reply.InvalidToken:
		if c, ok := m.invalidToken[description]; ok {
			return c
		}
	}
	return m.build(errCode, description)
}

// build writes error, error_description (when not empty) and
// resource_metadata.
func (m *Metadata) build(errCode, description string) string {
	var b strings.Builder
	b.WriteString("Bearer error=")
	b.WriteString(quote(errCode))
	if description != "" {
		b.WriteString(", error_description=")
		b.WriteString(quote(description))
	}
	b.WriteString(", resource_metadata=")
	b.WriteString(quote(m.url))
	return b.String()
}

// quote returns s as a quoted-string: '"' and '\' escaped, bytes outside
// printable ASCII dropped.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
