package caller_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

func TestParseIdentity(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n-len("@example.com")) + "@example.com" }
	const badEmail, badSub = proto.HeaderUserEmail, proto.HeaderUserSub
	cases := []struct {
		name         string
		email, sub   []string
		want         caller.Caller
		wantBadField string
	}{
		{name: "neither", want: caller.Caller{Listener: "remote", Key: "anonymous"}},
		{name: "empty values are absent", email: []string{""}, sub: []string{""}, want: caller.Caller{Listener: "remote", Key: "anonymous"}},
		{
			name: "email only", email: []string{"Alice.Smith+mcp@Example.COM"},
			want: caller.Caller{Listener: "remote", Email: "alice.smith+mcp@example.com", Key: "email:alice.smith+mcp@example.com"},
		},
		{
			name: "sub wins the key", email: []string{"a@x.com"}, sub: []string{"auth0|AbC 123"},
			want: caller.Caller{Listener: "remote", Email: "a@x.com", Sub: "auth0|AbC 123", Key: "sub:auth0|AbC 123"},
		},
		{name: "sub only", sub: []string{"~"}, want: caller.Caller{Listener: "remote", Sub: "~", Key: "sub:~"}},
		{name: "254 characters", email: []string{long(254)}, want: caller.Caller{Listener: "remote", Email: long(254), Key: "email:" + long(254)}},
		{
			name: "local part chars", email: []string{"a._%+-z@sub-1.example.io"},
			want: caller.Caller{Listener: "remote", Email: "a._%+-z@sub-1.example.io", Key: "email:a._%+-z@sub-1.example.io"},
		},
		{name: "255 characters", email: []string{long(255)}, wantBadField: badEmail},
		{name: "no @", email: []string{"alice.example.com"}, wantBadField: badEmail},
		{name: "two @", email: []string{"a@b@example.com"}, wantBadField: badEmail},
		{name: "quoted local part", email: []string{`"a b"@example.com`}, wantBadField: badEmail},
		{name: "local part space", email: []string{"a b@example.com"}, wantBadField: badEmail},
		{name: "empty local part", email: []string{"@example.com"}, wantBadField: badEmail},
		{name: "underscore in domain", email: []string{"a@ex_ample.com"}, wantBadField: badEmail},
		{name: "single-label domain", email: []string{"a@localhost"}, wantBadField: badEmail},
		{name: "one-letter TLD", email: []string{"a@example.c"}, wantBadField: badEmail},
		{name: "numeric TLD", email: []string{"a@192.168.0.1"}, wantBadField: badEmail},
		{name: "empty label", email: []string{"a@example..com"}, wantBadField: badEmail},
		{name: "trailing dot", email: []string{"a@example.com."}, wantBadField: badEmail},
		{name: "non-ASCII", email: []string{"zoë@example.com"}, wantBadField: badEmail},
		{name: "display name", email: []string{"Alice <a@example.com>"}, wantBadField: badEmail},
		{name: "email twice", email: []string{"a@x.com", "b@x.com"}, wantBadField: badEmail},
		{
			name: "sub 255", sub: []string{strings.Repeat("s", 255)},
			want: caller.Caller{Listener: "remote", Sub: strings.Repeat("s", 255), Key: "sub:" + strings.Repeat("s", 255)},
		},
		{name: "sub 256", sub: []string{strings.Repeat("s", 256)}, wantBadField: badSub},
		{name: "sub control", sub: []string{"abc\x7f"}, wantBadField: badSub},
		{name: "sub tab", sub: []string{"a\tb"}, wantBadField: badSub},
		{name: "sub non-ASCII", sub: []string{"usér"}, wantBadField: badSub},
		{name: "sub twice", sub: []string{"a", "b"}, wantBadField: badSub},
		{name: "bad sub with good email", email: []string{"a@x.com"}, sub: []string{"\x01"}, wantBadField: badSub},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for _, v := range tc.email {
				h.Add(proto.HeaderUserEmail, v)
			}
			for _, v := range tc.sub {
				h.Add(proto.HeaderUserSub, v)
			}
			got, err := caller.ParseIdentity(h)
			if tc.wantBadField == "" {
				if err != nil || got != tc.want {
					t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			var ie *caller.IdentityError
			if !errors.As(err, &ie) || ie.Header != tc.wantBadField {
				t.Fatalf("err = %v, want an IdentityError for %s", err, tc.wantBadField)
			}
			ref := ie.Refusal()
			if ref.Status != http.StatusBadRequest || ref.Code != -32600 || ref.Message != "Invalid "+tc.wantBadField+" header" {
				t.Errorf("refusal %+v", ref)
			}
		})
	}
}

// GW-32: a malformed X-MCPbox-User-Email gets 400 -32600 and does not count
// as an auth failure: eleven such requests from one peer leave it
// unthrottled. The value is never logged.
func TestGW32_MalformedIdentityHeader(t *testing.T) {
	t.Parallel()
	rm := newRemote(t, nil)
	const bad = "not-an-email-ZQX"
	for range 11 {
		w := serve(rm.handler, request("192.0.2.50", proto.HeaderServiceToken, currentToken, proto.HeaderUserEmail, bad))
		if w.Code != http.StatusBadRequest {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if b := decode(t, w); b.Error.Code != -32600 || b.Error.Message != "Invalid X-MCPbox-User-Email header" {
			t.Fatalf("error %+v", b.Error)
		}
	}
	w := serve(rm.handler, request("192.0.2.50", proto.HeaderServiceToken, currentToken, proto.HeaderUserSub, "a\x00b"))
	if b := decode(t, w); w.Code != http.StatusBadRequest || b.Error.Message != "Invalid X-MCPbox-User-Sub header" {
		t.Errorf("sub: %d %+v", w.Code, b.Error)
	}
	c := decodeCaller(t, serve(rm.handler, request("192.0.2.50", proto.HeaderServiceToken, currentToken, proto.HeaderUserEmail, "Bob@X.com")))
	if c != (caller.Caller{Listener: "remote", Email: "bob@x.com", Key: "email:bob@x.com"}) {
		t.Errorf("caller %+v", c)
	}
	if rm.throttle.Peers() != 0 {
		t.Error("malformed identity headers were recorded as failed authentications")
	}
	if got := value(t, rm.reg, "mcpbox_gateway_auth_failures_total", "reason", "bad_identity_header"); got != 12 {
		t.Errorf("bad_identity_header = %v, want 12", got)
	}
	if strings.Contains(rm.logs.String(), bad) {
		t.Errorf("the header value reached the log: %s", rm.logs)
	}
}

func TestCallerKeys(t *testing.T) {
	t.Parallel()
	if l := caller.Local(); l.Key != "local" || l.Listener != "local" || !l.IsLocal() {
		t.Errorf("Local() = %+v", l)
	}
	if r := caller.Remote("", ""); r.Key != "anonymous" || r.IsLocal() {
		t.Errorf("Remote() = %+v", r)
	}
}
