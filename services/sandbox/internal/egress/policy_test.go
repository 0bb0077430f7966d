package egress

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

func mustPolicy(t *testing.T, hosts []string, deny ...string) *Policy {
	t.Helper()
	allow := AnyPublic()
	if hosts != nil {
		var err error
		if allow, err = ParseHosts(hosts, "allowed_hosts"); err != nil {
			t.Fatalf("ParseHosts: %v", err)
		}
	}
	d, err := ParseDeny(deny)
	if err != nil {
		t.Fatalf("ParseDeny: %v", err)
	}
	return NewPolicy(allow, d)
}

func TestCheckURLNormalises(t *testing.T) {
	t.Parallel()
	p := mustPolicy(t, nil)
	cases := []struct {
		in, url, hostPort string
	}{
		{"https://API.Example.COM./v1?q=1#frag", "https://api.example.com/v1?q=1", "api.example.com:443"},
		{"HTTP://api.example.com:8080/x", "http://api.example.com:8080/x", "api.example.com:8080"},
		{"https://münchen.example/", "https://xn--mnchen-3ya.example/", "xn--mnchen-3ya.example:443"},
		{"http://93.184.216.34/", "http://93.184.216.34/", "93.184.216.34:80"},
		{"http://[2606:4700:0::1111]:8443/", "http://[2606:4700::1111]:8443/", "[2606:4700::1111]:8443"},
		{"http://[64:ff9b::5db8:d822]/", "http://[64:ff9b::5db8:d822]/", "[64:ff9b::5db8:d822]:80"},
		{"https://api.example.com/a%20b/@x", "https://api.example.com/a%20b/@x", "api.example.com:443"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			tg, err := p.CheckURL(c.in)
			if err != nil {
				t.Fatalf("CheckURL(%q): %v", c.in, err)
			}
			if got := tg.URL.String(); got != c.url {
				t.Errorf("URL = %q, want %q", got, c.url)
			}
			if got := tg.HostPort(); got != c.hostPort {
				t.Errorf("HostPort = %q, want %q", got, c.hostPort)
			}
		})
	}
}

func TestParseAllowedHosts(t *testing.T) {
	t.Parallel()
	if _, err := ParseAllowedHosts(proto.AllowedHosts{}); err == nil || !strings.Contains(err.Error(), "send null") {
		t.Errorf("missing allowed_hosts: err = %v, want the 'send null or []' hint", err)
	}
	l, err := ParseAllowedHosts(proto.AnyPublicHost())
	if err != nil || !l.Any() || l.None() || l.Key() != "*" {
		t.Errorf("null: %+v, %v", l, err)
	}
	l, err = ParseAllowedHosts(proto.OnlyHosts())
	if err != nil || l.Any() || !l.None() || l.Key() != "" {
		t.Errorf("[]: %+v, %v", l, err)
	}
	_, err = ParseAllowedHosts(proto.OnlyHosts("api.example.com", "https://x.example", "*.example.com", "a:99999"))
	fields := proto.FieldErrors(err)
	var got []string
	for _, f := range fields {
		got = append(got, f.Field)
	}
	if strings.Join(got, ",") != "allowed_hosts[1],allowed_hosts[2],allowed_hosts[3]" {
		t.Errorf("invalid entries: fields %v (%v)", got, err)
	}
	l, err = ParseAllowedHosts(proto.OnlyHosts("B.example", "a.example:443", "a.example", "[::1]:80"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Key(), "[::1]:80,a.example,b.example"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
}

func TestParseDeny(t *testing.T) {
	t.Parallel()
	d, err := ParseDeny([]string{"10.96.0.0/12", " fd00:10::/108", "192.0.2.7", "[2001:db8::7]", "Corp.Example.", ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Prefixes) != 4 || len(d.Names) != 1 || d.Names[0] != "corp.example" {
		t.Errorf("ParseDeny = %+v", d)
	}
	if !d.deniesName("git.corp.example") || d.deniesName("notcorp.example") {
		t.Error("deniesName: a denied name must deny its subdomains only")
	}
	_, err = ParseDeny([]string{"ok.example", "10.0.0.0/33", "bad name", "host:80"})
	if err == nil || !strings.Contains(err.Error(), "MCPBOX_SANDBOX_EGRESS_DENY entry 2") ||
		!strings.Contains(err.Error(), "entry 3") || !strings.Contains(err.Error(), "entry 4") {
		t.Errorf("bad entries: %v", err)
	}
}

func TestOperatorDeny(t *testing.T) {
	t.Parallel()
	p := mustPolicy(t, nil, "10.96.0.0/12", "corp.example")
	for url, want := range map[string]Reason{
		"http://10.96.0.10/":           ReasonAlwaysBlocked,
		"http://[::ffff:10.96.0.10]/":  ReasonAlwaysBlocked,
		"http://git.corp.example/":     ReasonBlockedHostname,
		"http://corp.example./":        ReasonBlockedHostname,
		"https://notcorp.example/path": "",
	} {
		_, err := p.CheckURL(url)
		got, msg := blockedReason(err)
		if got != want {
			t.Errorf("CheckURL(%q) = %q (%s), want %q", url, got, msg, want)
		}
		if want != "" && !strings.Contains(msg, "this installation blocks") {
			t.Errorf("CheckURL(%q) message %q should say the installation blocks it", url, msg)
		}
	}
	// Through the broker: MCPBOX_SANDBOX_EGRESS_DENY also applies to
	// resolved answers.
	env := newTestEnv(t, Config{Deny: []string{"10.96.0.0/12", "corp.example"}})
	env.dns.set("svc.example.com", []string{"10.96.0.1"})
	_, err := get(t, env.session(t, []string{"svc.example.com"}), "http://svc.example.com/")
	if got, msg := blockedReason(err); got != ReasonAlwaysBlocked || !strings.Contains(msg, "this installation blocks") {
		t.Errorf("denied answer: %q (%s)", got, msg)
	}
	// Deny is "always": approval does not open it.
	p = mustPolicy(t, []string{"10.96.0.10", "git.corp.example"}, "10.96.0.0/12", "corp.example")
	for _, url := range []string{"http://10.96.0.10/", "http://git.corp.example/"} {
		if _, err := p.CheckURL(url); err == nil {
			t.Errorf("CheckURL(%q) with approval: want refusal", url)
		}
	}
}

func TestBlockedErrorMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  *BlockedError
		want string
	}{
		{
			&BlockedError{Host: "api.example.com:443", Reason: ReasonNotApproved},
			"Network access to 'api.example.com:443' is not approved for this tool. Ask for it with mcpbox_request_network_access (host 'api.example.com', port 443).",
		},
		{
			&BlockedError{Reason: ReasonNoNetwork},
			"This tool has no network access. Ask for a host with mcpbox_request_network_access.",
		},
		{
			&BlockedError{Host: "nas.lan:8080", Reason: ReasonPrivateAddress},
			"'nas.lan:8080' resolves to a private or reserved address; such hosts must be approved with mcpbox_request_network_access.",
		},
		{
			&BlockedError{Host: "api.example.com:443", Reason: ReasonPrivateAddress, variant: variantApprovedName},
			"'api.example.com:443' is approved, but it now resolves to a private or reserved address. Only IP literals and local names (such as nas.lan) may reach private networks; ask for the exact address with mcpbox_request_network_access.",
		},
		{
			&BlockedError{Host: "169.254.169.254:80", Reason: ReasonAlwaysBlocked},
			"'169.254.169.254:80' is a loopback, link-local or metadata destination, which tools can never reach.",
		},
		{
			&BlockedError{Reason: ReasonBadURL, Rule: "the scheme must be http or https, not \"ftp\""},
			"Only http and https URLs without credentials are allowed: the scheme must be http or https, not \"ftp\".",
		},
		{
			&BlockedError{Host: "[2001:db8::1]:8443", Reason: ReasonNotApproved},
			"Network access to '[2001:db8::1]:8443' is not approved for this tool. Ask for it with mcpbox_request_network_access (host '2001:db8::1', port 8443).",
		},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.err.Reason, got, c.want)
		}
	}
}

func TestCheckAddrApproval(t *testing.T) {
	t.Parallel()
	p := mustPolicy(t, []string{"nas.lan", "api.example.com", "10.0.0.5"})
	private := netip.MustParseAddrPort("10.0.0.5:80")
	for host, want := range map[string]Reason{
		"nas.lan":         "",
		"api.example.com": ReasonPrivateAddress,
	} {
		tg, err := p.CheckHost(host, 80)
		if err != nil {
			t.Fatalf("CheckHost(%s): %v", host, err)
		}
		got, msg := blockedReason(p.CheckAddr(tg, private))
		if got != want {
			t.Errorf("%s → 10.0.0.5: %q (%s), want %q", host, got, msg, want)
		}
		if got, _ := blockedReason(p.CheckAddr(tg, netip.MustParseAddrPort("127.0.0.1:80"))); got != ReasonAlwaysBlocked {
			t.Errorf("%s → 127.0.0.1: %q, want always_blocked", host, got)
		}
	}
	var be *BlockedError
	tg, _ := p.CheckHost("api.example.com", 80)
	if err := p.CheckAddr(tg, private); !errors.As(err, &be) || be.variant != variantApprovedName {
		t.Errorf("approved public-looking name answering privately must use the 'now resolves' message: %v", err)
	}
}
