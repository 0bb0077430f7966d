package sources

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

// urlCheck is the CHECK constraint external_mcp_sources_url_check
// (db/migrations/00003_servers_tools.sql): every URL checkURL accepts must
// pass it.
var urlCheck = regexp.MustCompile(`^https?://[^/?#@[:space:]]+([/?][^#]*)?$`)

func ruleField(t *testing.T, err error) string {
	t.Helper()
	var rule *proto.RuleError
	if !errors.As(err, &rule) {
		t.Fatalf("want a *proto.RuleError, got %v", err)
	}
	return rule.Field
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, stored, host string
		bad               bool
	}{
		{raw: "https://mcp.example.com/mcp", stored: "https://mcp.example.com/mcp", host: "mcp.example.com"},
		{raw: "HTTPS://MCP.Example.com:8443/mcp?x=1", stored: "https://MCP.Example.com:8443/mcp?x=1", host: "mcp.example.com:8443"},
		{raw: "http://10.0.0.5:3000", stored: "http://10.0.0.5:3000", host: "10.0.0.5:3000"},
		{raw: "http://[fd00::1]:8080/mcp", stored: "http://[fd00::1]:8080/mcp", host: "[fd00::1]:8080"},
		{raw: "http://nas.local./mcp", stored: "http://nas.local./mcp", host: "nas.local"},
		{raw: "ftp://mcp.example.com/", bad: true},
		{raw: "mcp.example.com/mcp", bad: true},
		{raw: "https://user:pw@mcp.example.com/", bad: true},
		{raw: "https://mcp.example.com/#frag", bad: true},
		{raw: "https:///mcp", bad: true},
		{raw: "https://mcp example.com/", bad: true},
		{raw: "https://mcp.example.com:99999/", bad: true},
		{raw: "https://*.example.com/", bad: true},
		{raw: "https://mcp.example.com/" + strings.Repeat("a", MaxURLLen), bad: true},
		{raw: "", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			stored, host, err := checkURL(tc.raw)
			if tc.bad {
				if field := ruleField(t, err); field != "url" {
					t.Fatalf("field %q, want url", field)
				}
				return
			}
			if err != nil || stored != tc.stored || host != tc.host {
				t.Fatalf("checkURL(%q) = %q, %q, %v; want %q, %q", tc.raw, stored, host, err, tc.stored, tc.host)
			}
		})
	}
}

// FuzzCheckURL: a URL from an admin or an LLM never panics the check, and
// every accepted URL passes the database's CHECK constraint and yields a
// host entry that normalises to itself.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://mcp.example.com/mcp", "http://[::1]:8080", "HTTP://a", "https://a@b", "https://a/#", "https://exa mple.com",
		"https://ex%41mple.com/", "https://bücher.example/mcp", "https://a:0/", "https://a:/x", "http://1.2.3.4:65535?q",
		"https://a\\b/", "https://[fe80::1%25en0]/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		stored, host, err := checkURL(raw)
		if err != nil {
			ruleField(t, err)
			return
		}
		if !urlCheck.MatchString(stored) {
			t.Fatalf("checkURL(%q) accepted %q, which the CHECK constraint refuses", raw, stored)
		}
		again, err := proto.NormalizeHost(host)
		if err != nil || again != host {
			t.Fatalf("host %q of %q does not normalise to itself: %q, %v", host, raw, again, err)
		}
		if hostOf(stored) != host {
			t.Fatalf("hostOf(%q) = %q, want %q", stored, hostOf(stored), host)
		}
	})
}

func TestCheckInput(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	tests := []struct {
		name   string
		in     Input
		fields []string // the fields that fail, in order; none: valid
	}{
		{"minimal", Input{Name: "GitHub MCP", URL: "https://mcp.example.com"}, nil},
		{"bearer", Input{Name: "gh", URL: "https://x.io", AuthType: "bearer", AuthSecretName: s("GH_TOKEN")}, nil},
		{"header defaults", Input{Name: "gh", URL: "https://x.io", AuthType: "header", AuthSecretName: s("KEY")}, nil},
		{"oauth", Input{Name: "gh", URL: "https://x.io", AuthType: "oauth"}, nil},
		{"empty name", Input{Name: "", URL: "https://x.io"}, []string{"name"}},
		{"control char", Input{Name: "a\nb", URL: "https://x.io"}, []string{"name"}},
		{"padded name", Input{Name: " a", URL: "https://x.io"}, []string{"name"}},
		{"65 chars", Input{Name: strings.Repeat("n", 65), URL: "https://x.io"}, []string{"name"}},
		{"sse", Input{Name: "a", URL: "https://x.io", Transport: "sse"}, []string{"transport"}},
		{"bearer without secret", Input{Name: "a", URL: "https://x.io", AuthType: "bearer"}, []string{"auth_secret_name"}},
		{"bad secret name", Input{Name: "a", URL: "https://x.io", AuthType: "bearer", AuthSecretName: s("lower")}, []string{"auth_secret_name"}},
		{"bearer with header", Input{Name: "a", URL: "https://x.io", AuthType: "bearer", AuthSecretName: s("K"), AuthHeaderName: s("X-K")}, []string{"auth_header_name"}},
		{"none with secret", Input{Name: "a", URL: "https://x.io", AuthSecretName: s("K")}, []string{"auth_secret_name"}},
		{"owned header", Input{Name: "a", URL: "https://x.io", AuthType: "header", AuthSecretName: s("K"), AuthHeaderName: s("Mcp-Session-Id")}, []string{"auth_header_name"}},
		{"bad header", Input{Name: "a", URL: "https://x.io", AuthType: "header", AuthSecretName: s("K"), AuthHeaderName: s("X Key")}, []string{"auth_header_name"}},
		{"unknown auth", Input{Name: "a", URL: "https://x.io", AuthType: "basic"}, []string{"auth_type"}},
		{"all wrong", Input{Name: "", URL: "x", AuthType: "bearer"}, []string{"name", "url", "auth_secret_name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := checkInput(tc.in, "transport")
			var got []string
			for _, fe := range proto.FieldErrors(err) {
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("failing fields %v, want %v (%v)", got, tc.fields, err)
			}
			if err == nil && tc.in.AuthType == "header" && (c.header == nil || *c.header != DefaultHeaderName) {
				t.Fatalf("header %v, want the default %s", c.header, DefaultHeaderName)
			}
		})
	}
}
