package sources

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
)

// Limits of a source (backend.md §4.2 external_mcp_sources).
const (
	// MaxNameLen is the longest source name, in characters.
	MaxNameLen = 64
	// MaxURLLen is the longest source URL, in bytes.
	MaxURLLen = 2000
	// MaxHeaderNameLen is the longest custom auth header name.
	MaxHeaderNameLen = 128
	// DefaultHeaderName is the auth header of auth_type header when none is
	// given (§4.2: "API default Authorization").
	DefaultHeaderName = "Authorization"
	// maxErrorLen bounds last_error, in characters.
	maxErrorLen = 2000
	// maxTextLen bounds a rejection reason (§2).
	maxTextLen = 2000
)

// Input is a new source; empty Transport and AuthType take their defaults
// (streamable_http, none).
type Input struct {
	Name           string
	URL            string
	Transport      string
	AuthType       string
	AuthSecretName *string
	// AuthHeaderName defaults to Authorization for auth_type header.
	AuthHeaderName *string
}

// config is a source's validated connection settings.
type config struct {
	name, url, transport, authType string
	secret, header                 *string
}

// checkName validates a source name: 1–64 printable characters, not
// blank, without leading or trailing spaces.
func checkName(name string) error {
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name) || n < 1 || n > MaxNameLen || strings.TrimSpace(name) == "":
		return &proto.RuleError{Field: "name", Message: fmt.Sprintf("must be 1 to %d printable characters.", MaxNameLen)}
	case strings.TrimSpace(name) != name:
		return &proto.RuleError{Field: "name", Message: "must not start or end with a space."}
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return &proto.RuleError{Field: "name", Message: fmt.Sprintf(
				"must be 1 to %d printable characters (no control characters or line breaks).", MaxNameLen)}
		}
	}
	return nil
}

// checkURL validates a source URL (§4.2): at most 2000 bytes, http or
// https, a host, no user information, no fragment, no spaces. It returns
// the URL to store (the scheme lowercased) and its host entry, "host" or
// "host:port" normalised as manifest hosts are (§6.5).
func checkURL(raw string) (stored, host string, err error) {
	fail := func(format string, args ...any) (string, string, error) {
		return "", "", &proto.RuleError{Field: "url", Message: fmt.Sprintf(format, args...)}
	}
	if len(raw) > MaxURLLen {
		return fail("at most %d characters.", MaxURLLen)
	}
	for _, r := range raw {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fail("must not contain spaces or control characters.")
		}
	}
	if strings.Contains(raw, "#") {
		return fail("must not have a fragment ('#').")
	}
	u, perr := url.Parse(raw)
	if perr != nil || u.Opaque != "" {
		return fail("must be an absolute http or https URL, e.g. https://mcp.example.com/mcp.")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return fail("must start with https:// (or http://), e.g. https://mcp.example.com/mcp.")
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return fail("must not carry user information ('user@'); put credentials in a secret and use auth_type bearer or header.")
	}
	if u.Host == "" {
		return fail("must name a host, e.g. https://mcp.example.com/mcp.")
	}
	host, herr := proto.NormalizeHost(u.Host)
	if herr != nil {
		var rule *proto.RuleError
		if errors.As(herr, &rule) {
			return fail("host %s", rule.Message)
		}
		return fail("has a host that is not valid.")
	}
	return strings.ToLower(u.Scheme) + raw[len(u.Scheme):], host, nil
}

// hostOf returns the host entry of a stored URL ("" when it no longer
// parses, which the CHECK constraint prevents).
func hostOf(stored string) string {
	_, host, err := checkURL(stored)
	if err != nil {
		return ""
	}
	return host
}

// checkTransport validates the transport; "" is the default.
func checkTransport(field, t string) (string, error) {
	switch proto.Transport(t) {
	case "", proto.TransportStreamableHTTP:
		return string(proto.TransportStreamableHTTP), nil
	}
	return "", &proto.RuleError{Field: field, Message: "must be streamable_http, the only transport MCPbox supports " +
		"(legacy HTTP+SSE is not supported)."}
}

// checkAuth validates the auth settings as a whole: bearer and header need
// a secret name, header a header name (Authorization by default); none and
// oauth take neither.
func checkAuth(authType string, secret, header *string) (*string, *string, error) {
	var errs []error
	rule := func(field, format string, args ...any) {
		errs = append(errs, &proto.RuleError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch proto.SourceAuthType(authType) {
	case proto.AuthNone, proto.AuthOAuth:
		if secret != nil {
			rule("auth_secret_name", "only for auth_type bearer or header; omit it for auth_type %s.", authType)
		}
		if header != nil {
			rule("auth_header_name", "only for auth_type header; omit it for auth_type %s.", authType)
		}
	case proto.AuthBearer, proto.AuthHeader:
		if secret == nil {
			rule("auth_secret_name", "required for auth_type %s: the name of the server secret that holds the credential.", authType)
		} else if err := proto.ValidateSecretName(*secret); err != nil {
			var r *proto.RuleError
			errors.As(err, &r)
			rule("auth_secret_name", "%s", r.Message)
		}
		if authType == string(proto.AuthBearer) && header != nil {
			rule("auth_header_name", "only for auth_type header; bearer always sends Authorization: Bearer <secret>.")
		}
		if authType == string(proto.AuthHeader) {
			if header == nil {
				header = ptr(DefaultHeaderName)
			}
			if err := checkHeaderName(*header); err != nil {
				errs = append(errs, err)
			}
		}
	default:
		rule("auth_type", "must be none, bearer, header or oauth.")
	}
	return secret, header, errors.Join(errs...)
}

// forbiddenHeaders are the header names a source may not set (sandbox.md
// §4.5): the sandbox's MCP client owns them.
var forbiddenHeaders = []string{ //nolint:gochecknoglobals // read-only list
	"host", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
	"trailer", "transfer-encoding", "upgrade", "content-length", "mcp-session-id", "mcp-protocol-version",
}

// checkHeaderName validates a custom auth header name: an HTTP token of at
// most 128 characters that the sandbox's client does not own.
func checkHeaderName(h string) error {
	if h == "" || len(h) > MaxHeaderNameLen || strings.IndexFunc(h, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		return &proto.RuleError{Field: "auth_header_name", Message: fmt.Sprintf(
			"must be an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~), at most %d characters, e.g. X-API-Key.", MaxHeaderNameLen)}
	}
	for _, f := range forbiddenHeaders {
		if strings.EqualFold(h, f) {
			return &proto.RuleError{Field: "auth_header_name", Message: fmt.Sprintf(
				"'%s' is set by the sandbox's MCP client and cannot carry a credential; use Authorization or a custom name such as X-API-Key.", h)}
		}
	}
	return nil
}

func isTokenChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// checkInput validates a new source and fills the defaults; every failure
// is reported (errors.Join of *proto.RuleError).
func checkInput(in Input, transportField string) (config, error) {
	var errs []error
	c := config{name: in.Name, authType: in.AuthType}
	if c.authType == "" {
		c.authType = string(proto.AuthNone)
	}
	errs = append(errs, checkName(in.Name))
	var err error
	if c.url, _, err = checkURL(in.URL); err != nil {
		errs = append(errs, err)
	}
	if c.transport, err = checkTransport(transportField, in.Transport); err != nil {
		errs = append(errs, err)
	}
	c.secret, c.header, err = checkAuth(c.authType, in.AuthSecretName, in.AuthHeaderName)
	errs = append(errs, err)
	return c, errors.Join(errs...)
}

// checkReason validates a rejection reason: 1–2000 characters, not blank.
func checkReason(reason string) error {
	if strings.TrimSpace(reason) == "" || utf8.RuneCountInString(reason) > maxTextLen {
		return &proto.RuleError{Field: "reason", Message: fmt.Sprintf(
			"required, 1 to %d characters: say why, so the requester can fix it.", maxTextLen)}
	}
	return nil
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
