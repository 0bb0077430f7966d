package oauthflow

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/mcpbox/mcpbox/proto"
)

// FuzzChallengeCandidates: whatever a source answers in WWW-Authenticate,
// the metadata URLs tried are the challenge's own (with the endpoint as
// the resource) and at most three well-known URLs at the endpoint's origin,
// and the scopes are non-empty words.
func FuzzChallengeCandidates(f *testing.F) {
	for _, seed := range [][2]string{
		{
			`Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="repo:read"`,
			"https://mcp.example.com/mcp",
		},
		{`Bearer resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp"`, "https://mcp.example.test/mcp"},
		{`Basic realm="x", Bearer error="invalid_token", scope="a b  c"`, "http://[::1]:8443/"},
		{`Bearer scope=one,resource_metadata=https://evil.example/x`, "https://h/a/b/"},
		{`Bearer resource_metadata="a\"b", x=`, "https://h:443"},
		{"", "not a url"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, header, resource string) {
		challenges, err := oauthex.ParseWWWAuthenticate([]string{header})
		if err != nil {
			return
		}
		from := resourceMetadataOf(challenges)
		for _, s := range scopeOf(challenges) {
			if s == "" || strings.ContainsAny(s, " \t\n") {
				t.Fatalf("scope %q", s)
			}
		}
		cands := metadataCandidates(from, resource)
		if len(cands) > 4 {
			t.Fatalf("%d candidates", len(cands))
		}
		if from != "" {
			if len(cands) == 0 || cands[0] != (candidate{from, resource}) {
				t.Fatalf("first candidate %+v, want the challenge's %q", cands, from)
			}
			cands = cands[1:]
		}
		ru, err := url.Parse(resource)
		for _, c := range cands {
			u, perr := url.Parse(c.url)
			if err != nil || perr != nil || originOf(u) != originOf(ru) ||
				!strings.HasPrefix(u.Path, "/.well-known/oauth-protected-resource") {
				t.Fatalf("candidate %+v for resource %q", c, resource)
			}
		}
	})
}

// FuzzValidateRedirectURI: an accepted redirect URI is an absolute http(s)
// URL with a host, without user information or fragment, at most 2000
// characters; a refused one names redirect_uri.
func FuzzValidateRedirectURI(f *testing.F) {
	for _, seed := range []string{
		"https://mcpbox.example.com/oauth/callback", "http://127.0.0.1:8000/oauth/callback?x=1",
		"javascript:alert(1)", "https://u:p@h/", "https://h/#f", "//h/cb", "https://[::1]/cb", "https://h:99999/",
		"HTTPS://H/", "https:///cb", "https://h/\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := ValidateRedirectURI(raw)
		if err != nil {
			var rule *proto.RuleError
			if !errors.As(err, &rule) || rule.Field != "redirect_uri" || rule.Message == "" {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
			u.Fragment != "" || len(raw) > maxRedirectURI {
			t.Fatalf("accepted %q", raw)
		}
	})
}

var (
	tokenLike = regexp.MustCompile(`^[A-Za-z0-9_-]{4,}$`)
	// replacement is the text that replaces a hidden value.
	replacement = "[REDACTED]"
)

// FuzzCause: a hidden token-like value never survives in the text quoted
// from a library error, which stays on one line and within bounds.
func FuzzCause(f *testing.F) {
	f.Add("oauth2: cannot fetch token: 400\nResponse: {\"code\":\"abcd1234efgh\"}", "abcd1234efgh")
	f.Add("registration failed: YWJjZDEyMzRlZmdo", "abcd1234efgh")
	f.Add(strings.Repeat("é", 400), "secretvalue")
	f.Fuzz(func(t *testing.T, text, hidden string) {
		got := cause(errors.New(text), hidden)
		if strings.ContainsAny(got, "\n\r\t") || len(got) > maxCause+len("…")+len(replacement) {
			t.Fatalf("cause %q", got)
		}
		if tokenLike.MatchString(hidden) && !strings.Contains(replacement, hidden) && strings.Contains(got, hidden) {
			t.Fatalf("cause %q holds %q", got, hidden)
		}
	})
}
