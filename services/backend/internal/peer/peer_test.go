package peer_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mcpbox/mcpbox/services/backend/internal/peer"
)

func request(remote string, header ...string) *http.Request {
	r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/api/v1/auth/status", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	p, err := peer.Parse([]string{"10.0.0.0/8", "192.168.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		r    *http.Request
		want string
	}{
		{"direct client", request("203.0.113.7:5000", "X-Forwarded-For", "1.2.3.4"), "203.0.113.7"},
		{"trusted proxy", request("10.1.2.3:5000", "X-Forwarded-For", "198.51.100.9"), "198.51.100.9"},
		{"spoofed left entry ignored", request("10.1.2.3:5000", "X-Forwarded-For", "1.1.1.1, 198.51.100.9"), "198.51.100.9"},
		{"proxy chain", request("10.1.2.3:5000", "X-Forwarded-For", "198.51.100.9, 192.168.1.1"), "198.51.100.9"},
		{"two headers", request("10.1.2.3:5000", "X-Forwarded-For", "198.51.100.9", "X-Forwarded-For", "10.9.9.9"), "198.51.100.9"},
		{"garbled chain", request("10.1.2.3:5000", "X-Forwarded-For", "nonsense"), "10.1.2.3"},
		{"no header", request("10.1.2.3:5000"), "10.1.2.3"},
		{"ipv4-mapped peer", request("[::ffff:10.1.2.3]:5000", "X-Forwarded-For", "198.51.100.9"), "198.51.100.9"},
		{"ipv6 client", request("[2001:db8::1]:443"), "2001:db8::1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := p.ClientIP(tc.r); got.String() != tc.want {
				t.Errorf("ClientIP = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestHTTPS(t *testing.T) {
	t.Parallel()
	p, err := peer.Parse([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	tlsReq := request("203.0.113.7:5000")
	tlsReq.TLS = &tls.ConnectionState{}
	cases := []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"plain", request("203.0.113.7:5000"), false},
		{"tls", tlsReq, true},
		{"trusted proxy https", request("10.0.0.2:1", "X-Forwarded-Proto", "https"), true},
		{"untrusted proxy https", request("203.0.113.7:1", "X-Forwarded-Proto", "https"), false},
		{"trusted proxy http", request("10.0.0.2:1", "X-Forwarded-Proto", "http"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := p.HTTPS(tc.r); got != tc.want {
				t.Errorf("HTTPS = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0/8"} {
		if _, err := peer.Parse([]string{bad}); err == nil || err.Error()[:23] != "MCPBOX_TRUSTED_PROXIES:" {
			t.Errorf("Parse(%q) = %v, want an error naming MCPBOX_TRUSTED_PROXIES", bad, err)
		}
	}
}
