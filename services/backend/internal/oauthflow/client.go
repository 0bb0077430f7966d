package oauthflow

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
)

// clientName is the client_name of a dynamic registration.
const clientName = "MCPbox"

// oauthClient is the client a flow signs in with.
type oauthClient struct {
	id, secret string
	// registered is true for a client registered by this flow (RFC 7591),
	// to be stored on the source.
	registered bool
}

// resolveClient returns the source's client when it has one for this
// authorization server, else registers one (RFC 7591) as a public client
// of redirect that uses the authorization code and refresh grants.
func (s *Service) resolveClient(ctx context.Context, src source, as *oauthex.AuthServerMeta, redirect string,
	tr *fetchTransport, hc *http.Client,
) (oauthClient, error) {
	if src.OauthClientID != nil && *src.OauthClientID != "" &&
		(src.OauthIssuer == nil || sameIssuer(*src.OauthIssuer, as.Issuer)) {
		secret, err := s.clientSecret(src)
		if err != nil {
			return oauthClient{}, err
		}
		return oauthClient{id: *src.OauthClientID, secret: secret}, nil
	}
	if as.RegistrationEndpoint == "" {
		return oauthClient{}, &UpstreamError{Message: fmt.Sprintf("Source '%s' has no OAuth client id for "+
			"authorization server %s, which offers no dynamic client registration (RFC 7591).", src.Name, as.Issuer)}
	}
	tr.reset()
	reg, err := oauthex.RegisterClient(ctx, as.RegistrationEndpoint, &oauthex.ClientRegistrationMetadata{
		RedirectURIs: []string{redirect}, TokenEndpointAuthMethod: "none",
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		ClientName: clientName,
	}, hc)
	if err != nil {
		return oauthClient{}, s.explain(tr, "registering MCPbox with authorization server "+as.Issuer, err)
	}
	return oauthClient{id: reg.ClientID, secret: reg.ClientSecret, registered: true}, nil
}

// sameIssuer compares issuer identifiers, ignoring one trailing slash (the
// tolerance of RFC 8414 §3.3 metadata validation).
func sameIssuer(a, b string) bool { return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/") }

// config is the oauth2 configuration of a client at a token endpoint. A
// public client sends its id in the form; a confidential one lets oauth2
// find the client authentication the endpoint accepts.
func config(c oauthClient, authURL, tokenURL, redirect string, scopes []string) *oauth2.Config {
	style := oauth2.AuthStyleAutoDetect
	if c.secret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID: c.id, ClientSecret: c.secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: style},
	}
}

// withClient is ctx carrying hc for oauth2's token requests.
func withClient(ctx context.Context, hc *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}
