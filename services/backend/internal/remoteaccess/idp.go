package remoteaccess

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// issuerKnown picks the issuer R5 checks: the expected one, else the first
// authorization server R4 found. Without either, R5 does not run.
func (c *check) issuerKnown(r4 Step) *block {
	switch {
	case c.cfg.ExpectedIssuer != "":
		c.issuer = c.cfg.ExpectedIssuer
	case (r4.Result == Pass || r4.Result == Warning) && len(c.servers) > 0:
		c.issuer = c.servers[0]
	default:
		return &block{
			observed: "Not run: no expected issuer is saved and R4 found none.",
			fix:      "Save the expected issuer under Expected configuration, or fix R4.",
		}
	}
	return nil
}

// R5: the issuer publishes RFC 8414 metadata (else an OpenID
// configuration) with the same issuer and the endpoints clients need.
func (c *check) issuerMetadata(ctx context.Context) Step {
	iu, err := parseHTTPURL(c.issuer, urlRule{field: "issuer", path: true})
	if err != nil {
		return failed(fmt.Sprintf("%v (issuer %s).", err, quote(c.issuer)),
			"Save the identity provider's issuer, an https URL without query or fragment, under Expected configuration.")
	}
	if isLoopbackHost(iu.Hostname()) {
		return skipped(&block{observed: loopbackText, fix: "Use an issuer address that is not loopback to check the identity provider."})
	}
	var tried []string
	var doc reply
	var used *url.URL
	for _, raw := range authServerMetadataURLs(iu) {
		mu, err := url.Parse(raw)
		if err != nil {
			continue
		}
		r, nr := c.f.fetch(ctx, http.MethodGet, mu, map[string]string{"Accept": "application/json"}, "")
		if nr != nil {
			return unreachable(nr)
		}
		if r.status == http.StatusOK && !r.truncated {
			doc, used = r, mu
			break
		}
		tried = append(tried, describe(http.MethodGet, mu, r))
	}
	if used == nil {
		urls := authServerMetadataURLs(iu)
		return failed(strings.Join(tried, "; ")+".",
			fmt.Sprintf("Check the issuer: the identity provider must publish its metadata at %s (RFC 8414) or %s (OpenID).", urls[0], urls[1]))
	}
	a, err := parseAuthServer(doc.body)
	if err != nil {
		return failed(fmt.Sprintf("GET %s: %v.", used, err), "The identity provider publishes malformed metadata; check its configuration.")
	}
	var problems, fixes []string
	if a.issuer != c.issuer {
		problems = append(problems, "issuer is "+found(a.issuer, c.issuer))
		fixes = append(fixes, "issuers compare character for character: save the issuer the provider publishes as the expected "+
			"issuer and as the edge's MCPBOX_EDGE_ISSUER, if it is the right provider")
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"authorization_endpoint", a.authorizationEndpoint}, {"token_endpoint", a.tokenEndpoint}, {"jwks_uri", a.jwksURI},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "missing "+strings.Join(missing, ", "))
		fixes = append(fixes, "MCP clients need authorization_endpoint, token_endpoint and jwks_uri; configure the identity provider to publish them")
	}
	if len(problems) > 0 {
		return failed(fmt.Sprintf("GET %s: %s.", used, strings.Join(problems, "; ")), upper(strings.Join(fixes, "; "))+".")
	}
	c.jwksURI = a.jwksURI
	var warnings []string
	fixes = nil
	if !slices.Contains(a.codeChallengeMethods, "S256") {
		warnings = append(warnings, "code_challenge_methods_supported does not include S256")
		fixes = append(fixes, "MCP clients use PKCE with S256: enable it in the identity provider")
	}
	if a.registrationEndpoint == "" {
		warnings = append(warnings, "no registration_endpoint")
		fixes = append(fixes, "clients relying on dynamic registration cannot register: enable dynamic client registration, "+
			"or register each client in the identity provider by hand")
	}
	observed := fmt.Sprintf("GET %s answered 200: issuer %q with authorization_endpoint, token_endpoint and jwks_uri", used, a.issuer)
	if len(warnings) > 0 {
		return Step{Result: Warning, Observed: observed + "; but " + strings.Join(warnings, "; ") + ".", Fix: upper(strings.Join(fixes, "; ")) + "."}
	}
	return pass("%s.", observed)
}

// describe shows an answer that is not the expected document.
func describe(method string, u *url.URL, r reply) string {
	s := fmt.Sprintf("%s %s answered %d", method, u, r.status)
	if loc, ok := r.location(); ok {
		s += " redirecting to " + quote(loc) + " (redirects are reported, not followed)"
	}
	if r.truncated {
		s += " with a body over 1 MiB"
	}
	return s
}

// R6: jwks_uri serves at least one usable RSA signing key.
func (c *check) keys(ctx context.Context) Step {
	ju, err := absoluteHTTP(c.jwksURI)
	if err != nil {
		return failed("jwks_uri "+err.Error()+".", "Configure the identity provider to publish an absolute https jwks_uri.")
	}
	if isLoopbackHost(ju.Hostname()) {
		return skipped(&block{observed: loopbackText, fix: "Configure the identity provider to publish a jwks_uri that is not loopback."})
	}
	r, nr := c.f.fetch(ctx, http.MethodGet, ju, map[string]string{"Accept": "application/json"}, "")
	if nr != nil {
		return unreachable(nr)
	}
	keyFix := "The edge verifies tokens with the keys at jwks_uri; check the identity provider's configuration."
	if r.status != http.StatusOK || r.truncated {
		return failed(describe(http.MethodGet, ju, r)+".", keyFix)
	}
	ks, err := parseJWKS(r.body)
	if err != nil {
		return failed(fmt.Sprintf("GET %s: %v.", ju, err), keyFix)
	}
	if len(ks.usable) == 0 {
		observed := fmt.Sprintf("GET %s: no usable key among %d", ju, ks.total)
		if len(ks.refused) > 0 {
			observed += ": " + strings.Join(ks.refused[:min(len(ks.refused), maxListed)], "; ")
		}
		return failed(observed+".", "The edge needs an RSA key of at least 2048 bits with a kid, use sig (or none) and alg RS256 "+
			"(or none); configure the identity provider to sign access tokens with such a key.")
	}
	return pass("GET %s: %d usable RSA signing key(s), kid %s, among %d.", ju, len(ks.usable), quoteList(ks.usable), ks.total)
}
