package approvals_test

import (
	"testing"

	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	p443 := 443
	for _, c := range []struct {
		host string
		port *int
		want string
	}{
		{"API.Example.COM.", nil, "api.example.com"},
		{"api.example.com:8443", nil, "api.example.com:8443"},
		{"api.example.com", &p443, "api.example.com:443"},
		{"[2001:db8::1]:443", nil, "[2001:db8::1]:443"},
		{"2001:db8::1", &p443, "[2001:db8::1]:443"},
	} {
		got, err := approvals.ParseTarget(c.host, c.port)
		if err != nil || got.String() != c.want {
			t.Errorf("ParseTarget(%q, %v) = %q, %v; want %q", c.host, c.port, got, err, c.want)
		}
	}
	bad := 0
	for _, c := range []struct {
		host string
		port *int
	}{{"https://api.example.com", nil}, {"api.example.com/x", nil}, {"a.com:443", &p443}, {"a.com", &bad}, {"", nil}} {
		if _, err := approvals.ParseTarget(c.host, c.port); err == nil {
			t.Errorf("ParseTarget(%q, %v) accepted", c.host, c.port)
		}
	}
}

func TestPublicLooking(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"api.example.com": true, "8.8.8.8": true, "[2606:4700::1111]": true,
		"nas.local": false, "localhost": false, "printer": false, "x.internal": false, "10.0.0.1": false,
		"100.64.1.1": false, "169.254.1.1": false, "[::1]": false, "[fd00::1]": false, "0.0.0.0": false, "224.0.0.1": false,
	} {
		if got := approvals.PublicLooking(host); got != want {
			t.Errorf("PublicLooking(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"api.example.com", "API.Example.COM.:443", "[::1]:8443", "10.0.0.1", "nas.local", "a..b", "http://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		got, err := approvals.ParseTarget(host, nil)
		if err != nil {
			return
		}
		again, err := approvals.ParseTarget(got.String(), nil)
		if err != nil || again.String() != got.String() {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", host, got, again, err)
		}
		_ = approvals.PublicLooking(got.Host)
	})
}
