package headers

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func mustProxies(t testing.TB, cidrs ...string) Proxies {
	t.Helper()
	p, err := ParseProxies(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func requestFrom(remote string, xff ...string) *http.Request {
	r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func TestEDGE57_ClientIP(t *testing.T) {
	t.Parallel()
	p := mustProxies(t, "10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.1")
	for _, c := range []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"untrusted peer, client XFF discarded", "203.0.113.7:5555", []string{"1.2.3.4"}, "203.0.113.7"},
		{"untrusted peer, no XFF", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"untrusted IPv6 peer", "[2001:db8::1]:443", []string{"1.2.3.4"}, "2001:db8::1"},
		{"mapped peer is IPv4", "[::ffff:203.0.113.7]:1", nil, "203.0.113.7"},
		{"peer zone dropped", "[fe80::1%eth0]:1", nil, "fe80::1"},
		{"trusted peer, no XFF", "10.1.2.3:1", nil, "10.1.2.3"},
		{"trusted peer, one entry", "10.1.2.3:1", []string{"198.51.100.9"}, "198.51.100.9"},
		{"right-most untrusted", "10.1.2.3:1", []string{"1.1.1.1, 198.51.100.9, 10.9.9.9"}, "198.51.100.9"},
		{"spoofed left entries ignored", "10.1.2.3:1", []string{"6.6.6.6,198.51.100.9"}, "198.51.100.9"},
		{"several lines form one list", "10.1.2.3:1", []string{"1.1.1.1, 198.51.100.9", "10.9.9.9"}, "198.51.100.9"},
		{"last line untrusted", "10.1.2.3:1", []string{"1.1.1.1", "198.51.100.9"}, "198.51.100.9"},
		{"single trusted host", "192.0.2.1:1", []string{"198.51.100.9"}, "198.51.100.9"},
		{"all trusted: left-most", "10.1.2.3:1", []string{"10.7.7.7, 10.8.8.8"}, "10.7.7.7"},
		{"IPv6 chain", "[2001:db8:ffff::5]:1", []string{"2001:db8:1::9, 2001:db8:ffff::7"}, "2001:db8:1::9"},
		{"mapped entry is IPv4", "10.1.2.3:1", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
		{"entry with port", "10.1.2.3:1", []string{"198.51.100.9:4711"}, "198.51.100.9"},
		{"IPv6 entry with port", "10.1.2.3:1", []string{"[2001:db8:1::9]:4711"}, "2001:db8:1::9"},
		{"blanks and tabs", "10.1.2.3:1", []string{" \t198.51.100.9\t "}, "198.51.100.9"},
		{"malformed right-most: peer", "10.1.2.3:1", []string{"198.51.100.9, garbage"}, "10.1.2.3"},
		{"malformed behind trusted: peer", "10.1.2.3:1", []string{"unknown, 10.9.9.9"}, "10.1.2.3"},
		{"empty entry: peer", "10.1.2.3:1", []string{"198.51.100.9,,10.9.9.9"}, "10.1.2.3"},
		{"trailing comma: peer", "10.1.2.3:1", []string{"198.51.100.9,"}, "10.1.2.3"},
		{"empty value: peer", "10.1.2.3:1", []string{""}, "10.1.2.3"},
		{"zone entry: peer", "10.1.2.3:1", []string{"fe80::1%eth0"}, "10.1.2.3"},
		{"malformed left of untrusted is never reached", "10.1.2.3:1", []string{"garbage, 198.51.100.9"}, "198.51.100.9"},
		{"CIDR entry: peer", "10.1.2.3:1", []string{"198.51.100.0/24"}, "10.1.2.3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := p.ClientIP(requestFrom(c.remote, c.xff...))
			if got != netip.MustParseAddr(c.want) {
				t.Errorf("ClientIP = %v, want %s", got, c.want)
			}
		})
	}
}

func TestClientIPNoProxiesTrustsNoOne(t *testing.T) {
	t.Parallel()
	var p Proxies
	if got := p.ClientIP(requestFrom("10.1.2.3:1", "198.51.100.9")); got != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("ClientIP = %v, want the peer", got)
	}
	if got := p.ClientIP(requestFrom("not-an-address")); got.IsValid() {
		t.Errorf("ClientIP of a bad peer = %v, want invalid", got)
	}
	if got := p.ClientIP(requestFrom("198.51.100.9")); got != netip.MustParseAddr("198.51.100.9") {
		t.Errorf("ClientIP of a port-less peer = %v", got)
	}
}

func TestParseProxies(t *testing.T) {
	t.Parallel()
	p := mustProxies(t, " 10.0.0.0/8 ", "", "::ffff:172.16.0.0/108", "2001:db8::1")
	for addr, want := range map[string]bool{
		"10.255.0.1":  true,
		"11.0.0.1":    false,
		"172.16.5.5":  true, // the mapped prefix became 172.16.0.0/12
		"172.32.0.1":  false,
		"2001:db8::1": true,
		"2001:db8::2": false,
	} {
		if got := p.trusted(netip.MustParseAddr(addr)); got != want {
			t.Errorf("trusted(%s) = %v, want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"10.0.0.1/8", "10.0.0.0/33", "example.com", "10.0.0.0/", "fe80::1%eth0", "::ffff:10.0.0.0/90"} {
		_, err := ParseProxies([]string{"10.0.0.0/8", bad})
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseProxies(%q) error = %v, want one naming the entry", bad, err)
		}
	}
}

func TestLimitKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"::ffff:203.0.113.7":   "203.0.113.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":   "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
	} {
		if got := LimitKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("LimitKey(%s) = %q, want %q", in, got, want)
		}
	}
	if LimitKey(netip.MustParseAddr("2001:db8:1:2::1")) == LimitKey(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("different /64s share a key")
	}
	if got := LimitKey(netip.Addr{}); got != "unknown" {
		t.Errorf("LimitKey(invalid) = %q", got)
	}
}

func FuzzClientIP(f *testing.F) {
	for _, s := range []string{
		"", "1.2.3.4", "1.2.3.4, 10.0.0.1", " , ", "unknown", "[::1]:80", "::ffff:1.2.3.4",
		"fe80::1%eth0", "10.0.0.1,10.0.0.2,10.0.0.3", "1.2.3.4:99999", "\x00,\xff", strings.Repeat("10.0.0.1,", 50),
	} {
		f.Add(s, "10.0.0.5:1234")
		f.Add(s, "203.0.113.7:1")
	}
	p := mustProxies(f, "10.0.0.0/8", "2001:db8::/32")
	f.Fuzz(func(t *testing.T, xff, remote string) {
		r := requestFrom(remote, strings.Split(xff, "\n")...)
		got := p.ClientIP(r)
		peer := peerAddr(remote)
		if !peer.IsValid() || !p.trusted(peer) {
			if got != peer {
				t.Fatalf("untrusted peer %q: ClientIP = %v", remote, got)
			}
			return
		}
		if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("ClientIP = %v: want a plain valid address", got)
		}
		if got == peer {
			return
		}
		// Otherwise the result is one of the header's entries, and it is
		// trusted only when every entry is.
		from, allTrusted := false, true
		for e := range strings.SplitSeq(strings.ReplaceAll(xff, "\n", ","), ",") {
			a, ok := parseForwarded(e)
			from = from || (ok && a == got)
			allTrusted = allTrusted && ok && p.trusted(a)
		}
		if !from {
			t.Fatalf("ClientIP = %v, not an entry of %q", got, xff)
		}
		if p.trusted(got) && !allTrusted {
			t.Fatalf("ClientIP = %v is a trusted proxy although %q has untrusted entries", got, xff)
		}
		if LimitKey(got) == "" {
			t.Fatal("empty limit key")
		}
	})
}
