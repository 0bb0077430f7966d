package oauthflow

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// probeBody is the MCP initialize request of the 401 probe.
const probeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",` +
	`"capabilities":{},"clientInfo":{"name":"mcpbox","version":"1"}}}`

// offlineAccess is the scope that asks for a refresh token where the
// authorization server lists it.
const offlineAccess = "offline_access"

// discovery is what a source's sign-in needs from its metadata.
type discovery struct {
	// resource is the resource indicator (RFC 8707) sent with the
	// authorization and token requests: the protected resource's id.
	resource string
	scopes   []string
	as       *oauthex.AuthServerMeta
}

// discover runs the first half of the flow: the 401 probe of the source,
// its protected-resource metadata (RFC 9728: the challenge's
// resource_metadata, then the well-known URLs at the endpoint's path and
// at the root; without any, the source's origin is its authorization
// server, as in the 2025-03-26 MCP authorization spec) and the
// authorization server's metadata (RFC 8414, then OpenID configuration).
func (s *Service) discover(ctx context.Context, src source, tr *fetchTransport, hc *http.Client) (discovery, error) {
	challenges, err := s.probe(ctx, src, tr, hc)
	if err != nil {
		return discovery{}, err
	}
	prm, err := s.resourceMetadata(ctx, src, challenges, tr, hc)
	if err != nil {
		return discovery{}, err
	}
	issuer := prm.AuthorizationServers[0]
	tr.reset()
	as, err := auth.GetAuthServerMetadata(ctx, issuer, hc)
	if err != nil {
		return discovery{}, s.explain(tr, "reading the metadata of authorization server "+issuer, err)
	}
	if as == nil {
		return discovery{}, &UpstreamError{Message: fmt.Sprintf("Authorization server %s publishes no metadata "+
			"(neither /.well-known/oauth-authorization-server nor /.well-known/openid-configuration answered).", issuer)}
	}
	if !slices.Contains(as.CodeChallengeMethodsSupported, "S256") {
		return discovery{}, &UpstreamError{Message: fmt.Sprintf("Authorization server %s does not support PKCE "+
			"with S256 (code_challenge_methods_supported), which MCPbox requires.", as.Issuer)}
	}
	if as.AuthorizationEndpoint == "" || as.TokenEndpoint == "" {
		return discovery{}, &UpstreamError{Message: fmt.Sprintf("The metadata of authorization server %s lacks "+
			"authorization_endpoint or token_endpoint.", as.Issuer)}
	}
	d := discovery{resource: prm.Resource, as: as, scopes: scopeOf(challenges)}
	if len(d.scopes) == 0 {
		d.scopes = slices.Clone(prm.ScopesSupported)
	}
	if slices.Contains(as.ScopesSupported, offlineAccess) && !slices.Contains(d.scopes, offlineAccess) {
		d.scopes = append(d.scopes, offlineAccess)
	}
	return d, nil
}

// probe sends the source an unauthenticated initialize request and returns
// the challenges of its answer (none when it did not answer 401 or 403, or
// sent a malformed header: discovery then tries the well-known URLs).
func (s *Service) probe(ctx context.Context, src source, tr *fetchTransport, hc *http.Client) ([]oauthex.Challenge, error) {
	tr.reset()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, src.Url, strings.NewReader(probeBody))
	if err != nil {
		return nil, &UpstreamError{Message: fmt.Sprintf("The URL of source '%s' cannot be requested: %v.", src.Name, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, s.explain(tr, "probing source '"+src.Name+"'", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return nil, nil
	}
	challenges, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if err != nil {
		return nil, nil //nolint:nilerr // a malformed challenge is ignored; the well-known URLs are tried
	}
	return challenges, nil
}

// resourceMetadata returns the first protected-resource metadata found
// that names an authorization server.
func (s *Service) resourceMetadata(ctx context.Context, src source, challenges []oauthex.Challenge,
	tr *fetchTransport, hc *http.Client,
) (*oauthex.ProtectedResourceMetadata, error) {
	for _, c := range metadataCandidates(resourceMetadataOf(challenges), src.Url) {
		tr.reset()
		prm, err := oauthex.GetProtectedResourceMetadata(ctx, c.url, c.resource, hc)
		if down := tr.sandboxDown(); down != nil {
			return nil, fmt.Errorf("protected resource metadata of source %s: %w", src.ID, down)
		}
		if err != nil || prm == nil {
			continue
		}
		if len(prm.AuthorizationServers) == 0 {
			return nil, &UpstreamError{Message: fmt.Sprintf("The protected resource metadata of source '%s' (%s) "+
				"names no authorization server.", src.Name, c.url)}
		}
		return prm, nil
	}
	u, err := url.Parse(src.Url)
	if err != nil {
		return nil, &UpstreamError{Message: fmt.Sprintf("The URL of source '%s' cannot be parsed.", src.Name)}
	}
	root := url.URL{Scheme: u.Scheme, Host: u.Host}
	return &oauthex.ProtectedResourceMetadata{Resource: src.Url, AuthorizationServers: []string{root.String()}}, nil
}

// candidate is one URL where protected-resource metadata may be, with the
// resource id it must name (RFC 9728 §3.3).
type candidate struct{ url, resource string }

// metadataCandidates lists the URLs of protected-resource metadata to try
// for the endpoint resourceURL: the challenge's resource_metadata (when
// given), then <origin>/.well-known/oauth-protected-resource/<path>, then
// <origin>/.well-known/oauth-protected-resource, which may describe the
// endpoint itself (as MCPbox's edge does) or the origin.
func metadataCandidates(fromChallenge, resourceURL string) []candidate {
	var out []candidate
	if fromChallenge != "" {
		out = append(out, candidate{fromChallenge, resourceURL})
	}
	u, err := url.Parse(resourceURL)
	if err != nil || u.Host == "" {
		return out
	}
	root := url.URL{Scheme: u.Scheme, Host: u.Host}
	if path := strings.Trim(u.Path, "/"); path != "" {
		at := root
		at.Path = "/.well-known/oauth-protected-resource/" + path
		out = append(out, candidate{at.String(), resourceURL})
	}
	at := root
	at.Path = "/.well-known/oauth-protected-resource"
	out = append(out, candidate{at.String(), resourceURL})
	if root.String() != resourceURL {
		out = append(out, candidate{at.String(), root.String()})
	}
	return out
}

// resourceMetadataOf returns the first resource_metadata parameter of the
// challenges ("" when none).
func resourceMetadataOf(challenges []oauthex.Challenge) string {
	for _, c := range challenges {
		if u := c.Params["resource_metadata"]; u != "" {
			return u
		}
	}
	return ""
}

// scopeOf returns the scopes of the first Bearer challenge that names some.
func scopeOf(challenges []oauthex.Challenge) []string {
	for _, c := range challenges {
		if c.Scheme == "bearer" && c.Params["scope"] != "" {
			return strings.Fields(c.Params["scope"])
		}
	}
	return nil
}
