package remoteaccess

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

func TestCheckPublicURL(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"https://mcp.example.com":       "https://mcp.example.com",
		"https://MCP.Example.com/":      "https://mcp.example.com",
		"HTTPS://mcp.example.com:8443":  "https://mcp.example.com:8443",
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
		"http://localhost:8080":         "http://localhost:8080",
		"http://[::1]:8080":             "http://[::1]:8080",
		"https://192.168.1.20":          "https://192.168.1.20",
		"http://edge.localhost":         "http://edge.localhost",
		"https://xn--bcher-kva.example": "https://xn--bcher-kva.example",
	}
	for in, want := range good {
		got, err := CheckPublicURL(in)
		if err != nil || got != want {
			t.Errorf("CheckPublicURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                                          "must not be empty",
		"mcp.example.com":                           "absolute URL",
		"http://mcp.example.com":                    "must use https (http only on a loopback address",
		"http://192.168.1.20:8080":                  "must use https (http only on a loopback address",
		"ftp://mcp.example.com":                     "must use https",
		"https://mcp.example.com/mcp":               "without a path",
		"https://mcp.example.com?x=1":               "must not contain a query",
		"https://mcp.example.com?":                  "must not contain a query",
		"https://mcp.example.com#top":               "must not contain a fragment",
		"https://mcp.example.com#":                  "must not contain a fragment",
		"https://user:pw@mcp.example":               "user name or password",
		"https://mcp.example.com :443":              "spaces or control characters",
		"https://":                                  "absolute URL",
		"https://:443":                              "must name a host",
		"https:mcp.example.com":                     "absolute URL",
		"https://mcp.example.com:99999":             "port \"99999\" must be between 1 and 65535",
		"https://[fe80::1%25en0]":                   "IPv6 zone",
		"https://" + strings.Repeat("a", maxURLLen): "at most 2048 characters",
	}
	for in, want := range bad {
		_, err := CheckPublicURL(in)
		var rule *proto.RuleError
		if !errors.As(err, &rule) || rule.Field != FieldPublicURL || !strings.Contains(rule.Message, want) {
			t.Errorf("CheckPublicURL(%q) = %v; want a public_url error containing %q", in, err, want)
		}
	}
}

func TestIssuerAndAudienceRules(t *testing.T) {
	t.Parallel()
	if err := checkIssuer("https://id.example.com/realms/mcpbox"); err != nil {
		t.Fatal(err)
	}
	if err := checkAudience("https://mcp.example.com/mcp"); err != nil {
		t.Fatal(err)
	}
	for in, field := range map[string]string{
		"https://id.example.com/realms/x?y=1": FieldExpectedIssuer,
		"http://id.example.com":               FieldExpectedIssuer,
	} {
		var rule *proto.RuleError
		if err := checkIssuer(in); !errors.As(err, &rule) || rule.Field != field {
			t.Errorf("checkIssuer(%q) = %v", in, err)
		}
	}
	var rule *proto.RuleError
	if err := checkAudience("https://mcp.example.com/mcp#x"); !errors.As(err, &rule) || rule.Field != FieldExpectedAudience {
		t.Errorf("checkAudience with a fragment = %v", err)
	}
}

func TestChangeCheckJoinsEveryFailure(t *testing.T) {
	t.Parallel()
	bad, alsoBad, clear := "http://mcp.example.com", "not a url", ""
	_, err := Change{PublicURL: &bad, ExpectedIssuer: &clear, ExpectedAudience: &alsoBad}.check()
	fes := proto.FieldErrors(err)
	if len(fes) != 2 || fes[0].Field != FieldPublicURL || fes[1].Field != FieldExpectedAudience {
		t.Fatalf("field errors %+v", fes)
	}
	if _, err := (Change{}).check(); !errors.Is(err, ErrNoSettings) {
		t.Fatalf("empty change: %v", err)
	}
}

func TestAuthServerMetadataURLs(t *testing.T) {
	t.Parallel()
	for issuer, want := range map[string][]string{
		"https://id.example.com": {
			"https://id.example.com/.well-known/oauth-authorization-server",
			"https://id.example.com/.well-known/openid-configuration",
		},
		"https://id.example.com/realms/mcpbox/": {
			"https://id.example.com/.well-known/oauth-authorization-server/realms/mcpbox",
			"https://id.example.com/realms/mcpbox/.well-known/openid-configuration",
		},
	} {
		u, err := url.Parse(issuer)
		if err != nil {
			t.Fatal(err)
		}
		if got := authServerMetadataURLs(u); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", issuer, got, want)
		}
	}
}

func TestOriginAndLoopback(t *testing.T) {
	t.Parallel()
	a, _ := url.Parse("https://Edge.example:443/x")
	b, _ := url.Parse("https://edge.example/.well-known/oauth-protected-resource/mcp")
	c, _ := url.Parse("http://edge.example")
	if origin(a) != origin(b) || origin(a) == origin(c) {
		t.Fatalf("origins %s %s %s", origin(a), origin(b), origin(c))
	}
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.1": true, "::1": true, "localhost": true, "a.localhost": true, "LOCALHOST.": true,
		"192.168.1.1": false, "example.com": false, "localhost.example": false, "": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v", host, got)
		}
	}
}

// FuzzCheckPublicURL: the rule never panics, and a normalised URL passes
// again unchanged.
func FuzzCheckPublicURL(f *testing.F) {
	for _, s := range []string{
		"https://mcp.example.com", "http://127.0.0.1:8080/", "https://a.b:1#", "https://[::1]", "http://[fe80::1%25en0]",
		"https://xn--e1a.example", "https://mcp.example.com?", "\x00", "https://%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		norm, err := CheckPublicURL(in)
		if err != nil {
			return
		}
		again, err := CheckPublicURL(norm)
		if err != nil || again != norm {
			t.Fatalf("%q → %q → %q, %v", in, norm, again, err)
		}
	})
}
