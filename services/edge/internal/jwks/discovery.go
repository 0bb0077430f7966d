package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// discoveryPath is appended to the issuer (OpenID Connect Discovery 1.0
// §4: a trailing slash of the issuer is removed first).
const discoveryPath = "/.well-known/openid-configuration"

// permanentError is a discovery result retrying cannot change (the issuer
// does not match, the jwks_uri is unusable): the Source stays unready and
// Ready names it.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + discoveryPath
}

// discover fetches the discovery document once and returns the jwks_uri.
func discover(ctx context.Context, hc *http.Client, issuer string, insecure bool) (string, error) {
	u := discoveryURL(issuer)
	if _, err := validateURL(u, insecure); err != nil {
		return "", &permanentError{msg: "discovery URL: " + err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", &permanentError{msg: "discovery URL: not a valid URL"}
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", errors.New(describe(err))
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", res.StatusCode)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", errors.New(describe(err))
	}
	return parseDiscovery(body, issuer, insecure)
}

// parseDiscovery reads the issuer and jwks_uri of a discovery document.
// The issuer must equal the configured one exactly and the jwks_uri must be
// an absolute https URL (http in insecure dev mode). A body that is not a
// JSON object is a transient failure (a proxy's error page, say); a
// document that answers with the wrong values is a permanent one.
func parseDiscovery(body []byte, issuer string, insecure bool) (string, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil || doc == nil {
		return "", errors.New("discovery document is not a JSON object")
	}
	var got string
	if raw, ok := doc["issuer"]; !ok || json.Unmarshal(raw, &got) != nil {
		return "", &permanentError{msg: `discovery document has no "issuer" string`}
	}
	if got != issuer {
		return "", &permanentError{msg: fmt.Sprintf(
			"discovery document issuer %q does not equal the configured issuer %q (MCPBOX_EDGE_ISSUER)",
			truncate(got, 256), issuer)}
	}
	var jwksURI string
	if raw, ok := doc["jwks_uri"]; !ok || json.Unmarshal(raw, &jwksURI) != nil || jwksURI == "" {
		return "", &permanentError{msg: `discovery document has no "jwks_uri" string`}
	}
	if _, err := validateURL(jwksURI, insecure); err != nil {
		return "", &permanentError{msg: "discovery document jwks_uri refused: " + err.Error()}
	}
	return jwksURI, nil
}
