package egress

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto"
)

// SB-83 (broker layer): the /v1/fetch core applies the SSRF policy, returns
// redirects, holds its caps and refuses methods other than GET and POST
// with a rule error naming the field (the API answers it with 400).
func TestFetch(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, Config{})
	var lastBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token":
			lastBody, _ = io.ReadAll(r.Body)
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_client"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
		case "/redirect":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/big":
			// 1 MiB of 'a' then a 3-byte rune straddling the cut.
			_, _ = w.Write(append(bytes.Repeat([]byte("a"), proto.MaxFetchResponseBodyBytes-1), "€€"...))
		}
	}))
	t.Cleanup(srv.Close)
	env.net.route("93.184.216.34:443", srv)
	env.dns.set("idp.example.com", []string{"93.184.216.34"})
	env.dns.set("lan-idp.example.com", []string{"10.0.0.3"})

	fetch := func(r proto.FetchRequest) (proto.FetchResponse, error) {
		if !r.AllowedHosts.Set {
			r.AllowedHosts = proto.AnyPublicHost()
		}
		if r.Method == "" {
			r.Method = http.MethodGet
		}
		if r.Purpose == "" {
			r.Purpose = proto.FetchOAuth
		}
		return env.broker.Fetch(t.Context(), r)
	}

	resp, err := fetch(proto.FetchRequest{
		Method: http.MethodPost, URL: "http://idp.example.com:443/token", Body: "grant_type=x",
		Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
	})
	if err != nil || !resp.OK || resp.Status != http.StatusUnauthorized || resp.Body != `{"error":"invalid_client"}` ||
		resp.Headers["Www-Authenticate"][0] != `Bearer error="invalid_client"` || string(lastBody) != "grant_type=x" {
		t.Errorf("POST with a 401 answer: %+v, %v", resp, err)
	}

	resp, err = fetch(proto.FetchRequest{URL: "http://idp.example.com:443/redirect"})
	if err != nil || !resp.OK || resp.Status != http.StatusFound || resp.Headers["Location"][0] != "http://169.254.169.254/latest/meta-data/" {
		t.Errorf("redirect must be returned: %+v, %v", resp, err)
	}
	resp, err = fetch(proto.FetchRequest{URL: resp.Headers["Location"][0]})
	if err != nil || resp.OK || resp.Error == nil || resp.Error.Type != proto.ErrTypeEgressDenied {
		t.Errorf("following the redirect by hand: %+v, %v", resp, err)
	}

	resp, err = fetch(proto.FetchRequest{URL: "http://idp.example.com:443/big"})
	if err != nil || !resp.OK || !resp.BodyTruncated || len(resp.Body) > proto.MaxFetchResponseBodyBytes ||
		len(resp.Body) < proto.MaxFetchResponseBodyBytes-3 || !utf8.ValidString(resp.Body) {
		t.Errorf("1 MiB cap: ok %v truncated %v len %d valid %v, %v", resp.OK, resp.BodyTruncated, len(resp.Body), utf8.ValidString(resp.Body), err)
	}

	for url, want := range map[string]proto.SandboxErrorType{
		"http://lan-idp.example.com/":  proto.ErrTypeEgressDenied,
		"http://127.0.0.1:8080/":       proto.ErrTypeEgressDenied,
		"ftp://idp.example.com/":       proto.ErrTypeEgressDenied,
		"http://nxdomain.example.com/": proto.ErrTypeConnectError,
	} {
		resp, err := fetch(proto.FetchRequest{URL: url})
		if err != nil || resp.OK || resp.Error == nil || resp.Error.Type != want || resp.Headers == nil {
			t.Errorf("%s: %+v (%+v), %v; want %s", url, resp, resp.Error, err, want)
		}
	}
	resp, _ = fetch(proto.FetchRequest{URL: "http://idp.example.com:443/token", AllowedHosts: proto.OnlyHosts()})
	if resp.Error == nil || resp.Error.Type != proto.ErrTypeEgressDenied || !strings.Contains(resp.Error.Message, "no network access") {
		t.Errorf("allowed_hosts []: %+v", resp.Error)
	}
	resp, _ = fetch(proto.FetchRequest{URL: "http://lan-idp.example.com/", AllowedHosts: proto.OnlyHosts("lan-idp.example.com")})
	if resp.Error == nil || resp.Error.Type != proto.ErrTypeEgressDenied {
		t.Errorf("approved public-looking name with a private answer: %+v", resp.Error)
	}

	for _, c := range []struct {
		req   proto.FetchRequest
		field string
	}{
		{proto.FetchRequest{Method: http.MethodPut, URL: "http://idp.example.com/"}, "method"},
		{proto.FetchRequest{Method: http.MethodDelete, URL: "http://idp.example.com/"}, "method"},
		{proto.FetchRequest{Method: "get", URL: "http://idp.example.com/"}, "method"},
		{proto.FetchRequest{URL: ""}, "url"},
		{proto.FetchRequest{Method: http.MethodPost, URL: "http://idp.example.com/", Body: strings.Repeat("x", proto.MaxFetchRequestBodyBytes+1)}, "body"},
		{proto.FetchRequest{URL: "http://idp.example.com/", TimeoutMS: proto.MaxFetchTimeoutMS + 1}, "timeout_ms"},
		{proto.FetchRequest{URL: "http://idp.example.com/", TimeoutMS: -1}, "timeout_ms"},
		{proto.FetchRequest{URL: "http://idp.example.com/", Purpose: "scan"}, "purpose"},
		{proto.FetchRequest{URL: "http://idp.example.com/", AllowedHosts: proto.OnlyHosts("https://x")}, "allowed_hosts[0]"},
		{proto.FetchRequest{URL: "http://idp.example.com/", AllowedHosts: proto.AllowedHosts{Hosts: []string{"x"}}}, "allowed_hosts"},
		{proto.FetchRequest{URL: "http://idp.example.com/", Headers: map[string]string{"X-A": "a\r\nb"}}, "headers.X-A"},
	} {
		req := c.req
		if req.Method == "" {
			req.Method = http.MethodGet
		}
		if req.Purpose == "" {
			req.Purpose = proto.FetchSelfcheck
		}
		if !req.AllowedHosts.Set && req.AllowedHosts.Hosts == nil {
			req.AllowedHosts = proto.AnyPublicHost()
		}
		_, err := env.broker.Fetch(t.Context(), req)
		fields := proto.FieldErrors(err)
		if len(fields) != 1 || fields[0].Field != c.field {
			t.Errorf("%+v: %v, want one rule error on %q", c.req, fields, c.field)
		}
	}
}

func TestTrimPartialRune(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"abc": "abc", "ab€": "ab€", "ab\xe2\x82": "ab", "ab\xe2": "ab", "": "", "\xff": "\xff",
	} {
		if got := string(trimPartialRune([]byte(in))); got != want {
			t.Errorf("trimPartialRune(%q) = %q, want %q", in, got, want)
		}
	}
}
