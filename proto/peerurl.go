package proto

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// PeerBaseURL checks the base URL of an internal peer service, given in
// the variable named variable (e.g. MCPBOX_SANDBOX_URL): an http(s) URL with
// a host and an optional path prefix, without credentials, query or
// fragment. The path keeps no trailing slash, so callers append routes.
// example is shown in the error, e.g. http://127.0.0.1:8001.
func PeerBaseURL(variable, raw, example string) (*url.URL, error) {
	rule := "must be an http(s) URL with a host and no credentials, query or fragment, such as " + example
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, errors.New(variable + ": " + rule)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("%s: %s, got %s", variable, rule, u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}
