package remoteaccess

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
)

// mcpProtocolVersion is the MCP revision the probes announce.
const mcpProtocolVersion = "2025-11-25"

// initializeBody is the initialize request an MCP client opens with.
const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + mcpProtocolVersion +
	`","capabilities":{},"clientInfo":{"name":"mcpbox-selfcheck","version":"1"}}}`

// malformedToken is R7's bearer token: not a JWT at all.
//
//nolint:gosec // G101: a deliberately invalid token, not a credential
const malformedToken = "mcpbox-selfcheck-malformed-token"

// mcpPost sends the initialize request to <base>/mcp, with a bearer token
// when token is not empty.
func (c *check) mcpPost(ctx context.Context, token string) (reply, *noReply) {
	h := map[string]string{
		"Content-Type":         "application/json",
		"Accept":               "application/json, text/event-stream",
		"MCP-Protocol-Version": mcpProtocolVersion,
	}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return c.f.fetch(ctx, http.MethodPost, c.at(proto.PathMCP), h, initializeBody)
}

// wwwAuthenticate shows a response's challenges.
func wwwAuthenticate(r reply) string {
	v := r.header.Values("WWW-Authenticate")
	if len(v) == 0 {
		return "no WWW-Authenticate header"
	}
	return "WWW-Authenticate: " + quote(strings.Join(v, ", "))
}

// R3: POST /mcp without a token gets 401 with a Bearer challenge that
// names the protected-resource metadata.
func (c *check) challenge(ctx context.Context) Step {
	u := c.at(proto.PathMCP)
	r, nr := c.mcpPost(ctx, "")
	if nr != nil {
		return unreachable(nr)
	}
	if loc, ok := r.location(); ok {
		return redirected(http.MethodPost, u, r, loc)
	}
	switch {
	case r.status >= 200 && r.status <= 299:
		s := failed(fmt.Sprintf("Critical — the endpoint answers without authentication: POST %s without a token answered %d.", u, r.status),
			"Anyone who finds this URL can use MCPbox. Expose only the MCPbox edge, never the gateway, and make sure no proxy "+
				"routes /mcp around the edge; then run the check again.")
		s.Critical = true
		return s
	case r.status == http.StatusUnauthorized:
		ch, ok := bearerChallenge(r.header.Values("WWW-Authenticate"))
		if !ok || ch.params["resource_metadata"] == "" {
			return failed(fmt.Sprintf("POST %s answered 401 without resource_metadata in a Bearer challenge (%s): "+
				"clients cannot find the identity provider.", u, wwwAuthenticate(r)),
				"The MCPbox edge always names its protected-resource metadata; make sure the edge answers /mcp and that no "+
					"proxy replaces its WWW-Authenticate header.")
		}
		c.resourceMetadata = ch.params["resource_metadata"]
		return pass("POST %s without a token answered 401 with a Bearer challenge, resource_metadata=%s.", u, quote(c.resourceMetadata))
	case r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed:
		return failed(fmt.Sprintf("POST %s answered %d: wrong path.", u, r.status),
			"The public URL must be the edge's base address (clients call <public URL>/mcp); make sure the edge, or the proxy "+
				"in front of it, serves /mcp.")
	case r.status >= 502 && r.status <= 504:
		return failed(fmt.Sprintf("POST %s answered %d: the edge cannot reach the gateway.", u, r.status),
			"Check the edge's MCPBOX_EDGE_UPSTREAM_URL (the gateway's remote listener) and that the gateway runs; a 503 can also "+
				"mean the edge has not loaded the identity provider's keys yet (see its logs).")
	}
	return failed(fmt.Sprintf("POST %s without a token answered %d, not 401 (%s).", u, r.status, wwwAuthenticate(r)),
		"Point the public URL at the MCPbox edge, which answers unauthenticated requests with 401 and a Bearer challenge.")
}

// R4: the protected-resource metadata names the expected audience and
// issuer.
func (c *check) protectedResource(ctx context.Context) Step {
	u := c.at(proto.PathProtectedResourceMCP)
	envFix := "The edge builds this address from MCPBOX_EDGE_PUBLIC_URL; set it to " + c.base.String() + "."
	if c.resourceMetadata != "" {
		found, err := absoluteHTTP(c.resourceMetadata)
		if err != nil {
			return failed("resource_metadata "+err.Error()+".", envFix)
		}
		if origin(found) != origin(c.base) {
			return failed(fmt.Sprintf("resource_metadata %s is not on the public URL's origin %s, so it is not fetched.",
				quote(c.resourceMetadata), c.base), envFix)
		}
		u = found
	}
	r, nr := c.f.fetch(ctx, http.MethodGet, u, map[string]string{"Accept": "application/json"}, "")
	if nr != nil {
		return unreachable(nr)
	}
	if loc, ok := r.location(); ok {
		return redirected(http.MethodGet, u, r, loc)
	}
	serveFix := "The MCPbox edge serves this document itself; make sure the public URL points at the edge."
	switch {
	case r.status != http.StatusOK:
		return failed(fmt.Sprintf("GET %s answered %d, not 200.", u, r.status), serveFix)
	case r.truncated:
		return failed(fmt.Sprintf("GET %s: the document is over 1 MiB.", u), serveFix)
	}
	p, err := parseProtectedResource(r.body)
	if err != nil {
		return failed(fmt.Sprintf("GET %s: %v.", u, err), serveFix)
	}
	c.servers = p.authorizationServers
	var problems, fixes []string
	if want := c.cfg.ExpectedAudience; p.resource != want {
		problems = append(problems, "resource is "+found(p.resource, want))
		fixes = append(fixes, "set the edge's MCPBOX_EDGE_RESOURCE to "+want+" (or leave it unset: it defaults to <public URL>/mcp)")
	}
	want := c.cfg.ExpectedIssuer
	switch {
	case want != "" && !slices.Contains(p.authorizationServers, want):
		problems = append(problems, fmt.Sprintf("authorization_servers is %s, expected it to contain %q%s",
			quoteList(p.authorizationServers), want, slashHint(p.authorizationServers, want)))
		fixes = append(fixes, "set the edge's MCPBOX_EDGE_ISSUER to "+want)
	case len(p.authorizationServers) == 0:
		problems = append(problems, "authorization_servers is missing or empty")
		fixes = append(fixes, "set the edge's MCPBOX_EDGE_ISSUER to the identity provider's issuer")
	}
	if p.hasBearerMethods && !slices.Contains(p.bearerMethods, "header") {
		problems = append(problems, fmt.Sprintf("bearer_methods_supported is %s, without \"header\"", quoteList(p.bearerMethods)))
		fixes = append(fixes, "serve the MCPbox edge's own document, which lists \"header\"")
	}
	if len(problems) > 0 {
		return failed(fmt.Sprintf("GET %s: %s.", u, strings.Join(problems, "; ")),
			upper(strings.Join(fixes, "; "))+" — or correct the expected values under Expected configuration if they are the wrong ones.")
	}
	if want == "" {
		return Step{
			Result:   Warning,
			Observed: fmt.Sprintf("GET %s: resource is %q as expected; no expected issuer is saved, the document names %s.", u, p.resource, quoteList(p.authorizationServers)),
			Fix:      "Save the expected issuer under Expected configuration, so the check can compare it.",
		}
	}
	return pass("GET %s: resource is %q and authorization_servers contains %q.", u, p.resource, want)
}

// found shows a found value against the expected one.
func found(got, want string) string {
	if got == "" {
		return fmt.Sprintf("missing, expected %q", want)
	}
	return fmt.Sprintf("%s, expected %q%s", quote(got), want, slashHint([]string{got}, want))
}

// slashHint notes a value that differs from want only by a trailing
// slash, a common mistake with issuers and resources.
func slashHint(got []string, want string) string {
	for _, g := range got {
		if g != want && strings.TrimSuffix(g, "/") == strings.TrimSuffix(want, "/") {
			return " (they differ only by a trailing slash)"
		}
	}
	return ""
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// R7: a malformed bearer token gets 401 with error="invalid_token".
func (c *check) badToken(ctx context.Context) Step {
	u := c.at(proto.PathMCP)
	r, nr := c.mcpPost(ctx, malformedToken)
	if nr != nil {
		return unreachable(nr)
	}
	if loc, ok := r.location(); ok {
		return redirected(http.MethodPost, u, r, loc)
	}
	clientFix := "Clients may not discard the token and sign in again. The MCPbox edge answers 401 with error=\"invalid_token\"; " +
		"make sure it answers /mcp."
	switch {
	case r.status >= 200 && r.status <= 299:
		s := failed(fmt.Sprintf("Critical — POST %s with a malformed bearer token answered %d.", u, r.status),
			"The endpoint accepts an invalid token: expose only the MCPbox edge, never the gateway, and make sure no proxy "+
				"routes /mcp around the edge.")
		s.Critical = true
		return s
	case r.status == http.StatusUnauthorized:
		if ch, ok := bearerChallenge(r.header.Values("WWW-Authenticate")); ok && ch.params["error"] == "invalid_token" {
			return pass(`POST %s with a malformed bearer token answered 401 with error="invalid_token".`, u)
		}
		return Step{
			Result: Warning, Fix: clientFix,
			Observed: fmt.Sprintf(`POST %s with a malformed bearer token answered 401 without error="invalid_token" (%s).`, u, wwwAuthenticate(r)),
		}
	case r.status >= 400 && r.status <= 499:
		return Step{
			Result: Warning, Fix: clientFix,
			Observed: fmt.Sprintf("POST %s with a malformed bearer token answered %d, not 401.", u, r.status),
		}
	}
	return failed(fmt.Sprintf("POST %s with a malformed bearer token answered %d.", u, r.status),
		"The edge should refuse the token itself with 401; look at the edge's logs.")
}
