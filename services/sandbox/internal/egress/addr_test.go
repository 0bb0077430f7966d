package egress

import (
	"net/netip"
	"testing"
)

// TestClassify covers every row of the address-class table of sandbox.md
// §12.3 and the embedded-IPv4 rule.
func TestClassify(t *testing.T) {
	t.Parallel()
	cls := NewClassifier([]netip.Prefix{netip.MustParsePrefix("10.96.0.0/12"), netip.MustParsePrefix("203.0.114.7/32")})
	cases := []struct {
		addr string
		want Class
		what string
	}{
		// always blocked, IPv4
		{"0.0.0.0", ClassAlwaysBlocked, "this network"},
		{"0.1.2.3", ClassAlwaysBlocked, "this network"},
		{"127.0.0.1", ClassAlwaysBlocked, "loopback"},
		{"127.255.255.254", ClassAlwaysBlocked, "loopback"},
		{"169.254.169.254", ClassAlwaysBlocked, "link-local metadata"},
		{"169.254.169.255", ClassAlwaysBlocked, "link-local"},
		{"100.100.100.200", ClassAlwaysBlocked, "alibaba metadata"},
		{"168.63.129.16", ClassAlwaysBlocked, "azure platform endpoint"},
		{"224.0.0.1", ClassAlwaysBlocked, "multicast"},
		{"239.255.255.250", ClassAlwaysBlocked, "multicast"},
		{"255.255.255.255", ClassAlwaysBlocked, "broadcast"},
		{"10.96.0.1", ClassAlwaysBlocked, "operator deny CIDR"},
		{"203.0.114.7", ClassAlwaysBlocked, "operator deny address"},
		// always blocked, IPv6
		{"::", ClassAlwaysBlocked, "unspecified"},
		{"::1", ClassAlwaysBlocked, "loopback"},
		{"fe80::1", ClassAlwaysBlocked, "link-local"},
		{"febf::1", ClassAlwaysBlocked, "link-local"},
		{"ff02::1", ClassAlwaysBlocked, "multicast"},
		{"fd00:ec2::254", ClassAlwaysBlocked, "aws metadata"},
		// blocked unless approved, IPv4
		{"10.0.0.1", ClassPrivate, "rfc1918"},
		{"10.95.255.255", ClassPrivate, "rfc1918 outside the deny CIDR"},
		{"100.64.0.1", ClassPrivate, "cgnat"},
		{"100.127.255.254", ClassPrivate, "cgnat"},
		{"172.16.0.1", ClassPrivate, "rfc1918"},
		{"172.31.255.255", ClassPrivate, "rfc1918"},
		{"192.0.0.8", ClassPrivate, "ietf protocol assignments"},
		{"192.0.2.1", ClassPrivate, "test-net-1"},
		{"192.88.99.1", ClassPrivate, "6to4 relay anycast"},
		{"192.168.1.1", ClassPrivate, "rfc1918"},
		{"198.18.0.1", ClassPrivate, "benchmarking"},
		{"198.19.255.255", ClassPrivate, "benchmarking"},
		{"198.51.100.1", ClassPrivate, "test-net-2"},
		{"203.0.113.1", ClassPrivate, "test-net-3"},
		{"240.0.0.1", ClassPrivate, "reserved"},
		{"255.255.255.254", ClassPrivate, "reserved"},
		// blocked unless approved, IPv6
		{"fc00::1", ClassPrivate, "ula"},
		{"fd12:3456::1", ClassPrivate, "ula"},
		{"fec0::1", ClassPrivate, "site-local"},
		{"100::1", ClassPrivate, "discard"},
		{"2001:db8::1", ClassPrivate, "documentation"},
		{"3fff::1", ClassPrivate, "documentation"},
		{"2001:2::1", ClassPrivate, "benchmarking in 2001::/23"},
		{"2001:10::1", ClassPrivate, "orchid in 2001::/23"},
		{"64:ff9b:1::1", ClassPrivate, "local-use nat64"},
		// public
		{"93.184.216.34", ClassPublic, "public v4"},
		{"8.8.8.8", ClassPublic, "public v4"},
		{"100.63.255.255", ClassPublic, "just below cgnat"},
		{"100.128.0.0", ClassPublic, "just above cgnat"},
		{"172.32.0.1", ClassPublic, "just above rfc1918"},
		{"2606:4700::1111", ClassPublic, "public v6"},
		{"2001:200::1", ClassPublic, "just above 2001::/23"},
		// embedded IPv4
		{"::ffff:127.0.0.1", ClassAlwaysBlocked, "ipv4-mapped loopback"},
		{"::ffff:7f00:1", ClassAlwaysBlocked, "ipv4-mapped loopback, hex"},
		{"::ffff:169.254.169.254", ClassAlwaysBlocked, "ipv4-mapped metadata"},
		{"::ffff:10.0.0.1", ClassPrivate, "ipv4-mapped private"},
		{"::ffff:93.184.216.34", ClassPublic, "ipv4-mapped public"},
		{"::127.0.0.1", ClassAlwaysBlocked, "ipv4-compatible loopback"},
		{"::ffff:0:127.0.0.1", ClassAlwaysBlocked, "ipv4-translated loopback"},
		{"::ffff:0:a00:1", ClassPrivate, "ipv4-translated private"},
		{"64:ff9b::7f00:1", ClassAlwaysBlocked, "nat64 loopback"},
		{"64:ff9b::a9fe:a9fe", ClassAlwaysBlocked, "nat64 metadata"},
		{"64:ff9b::a00:1", ClassPrivate, "nat64 private"},
		{"64:ff9b::5db8:d822", ClassPublic, "nat64 public stays allowed"},
		{"2002:7f00:1::", ClassAlwaysBlocked, "6to4 loopback"},
		{"2002:a00:1::1", ClassPrivate, "6to4 private"},
		{"2002:5db8:d822::1", ClassPublic, "6to4 public"},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", ClassAlwaysBlocked, "teredo client 127.0.0.1"},
		{"2001:0:7f00:1:8000:63bf:a2ff:ffff", ClassAlwaysBlocked, "teredo server 127.0.0.1"},
		{"2001:0:4136:e378:8000:63bf:f5ff:fffe", ClassPrivate, "teredo client 10.0.0.1"},
		{"2001:0:4136:e378:8000:63bf:a247:27dd", ClassPublic, "teredo public client and server"},
		{"::ffff:10.96.0.1", ClassAlwaysBlocked, "ipv4-mapped operator deny"},
		{"fe80::1%eth0", ClassAlwaysBlocked, "zone ignored"},
	}
	for _, c := range cases {
		t.Run(c.addr, func(t *testing.T) {
			t.Parallel()
			if got := cls.Classify(netip.MustParseAddr(c.addr)); got != c.want {
				t.Errorf("Classify(%s) [%s] = %s, want %s", c.addr, c.what, got, c.want)
			}
		})
	}
	if got := cls.Classify(netip.Addr{}); got != ClassAlwaysBlocked {
		t.Errorf("Classify(invalid) = %s, want always_blocked", got)
	}
}
