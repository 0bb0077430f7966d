package testrun

import (
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
)

func TestPublicHost(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"api.example.com":        true,
		"api.example.com:8443":   true,
		"93.184.216.34":          true,
		"[2606:4700::1111]":      true,
		"[64:ff9b::5db8:d822]":   true, // NAT64 of a public address
		"nas.local":              false,
		"printer":                false,
		"printer:631":            false,
		"localhost":              false,
		"svc.internal":           false,
		"10.0.0.5":               false,
		"10.0.0.5:443":           false,
		"100.64.1.1":             false,
		"169.254.169.254":        false,
		"192.0.2.10":             false,
		"198.18.0.1":             false,
		"240.0.0.1":              false,
		"[fd00::1]:8443":         false,
		"[::1]":                  false,
		"[fe80::1]":              false,
		"[::ffff:10.0.0.5]":      false,
		"[64:ff9b::a00:5]":       false, // NAT64 of 10.0.0.5
		"[2002:a00:5::1]":        false, // 6to4 of 10.0.0.5
		"[2001:db8::1]":          false,
		"not a host/with a path": false,
	}
	for host, want := range cases {
		if got := publicHost(host); got != want {
			t.Errorf("publicHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzPublicHost(f *testing.F) {
	for _, s := range []string{"api.example.com", "[fd00::1]:8443", "10.0.0.5", "[::ffff:1.2.3.4]", "x:99999", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !publicHost(host) {
			return
		}
		target, err := approvals.ParseTarget(host, nil)
		if err != nil || proto.PrivateLookingName(target.Host) {
			t.Fatalf("%q is public but does not parse (%v) or looks private", host, err)
		}
	})
}
