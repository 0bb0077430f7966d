package caller_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
)

// FuzzParseIdentity: any pair of header values either yields a caller whose
// fields satisfy the rules of §6.2 and whose key follows from them, or an
// IdentityError naming one of the two headers, never the value.
func FuzzParseIdentity(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""},
		{"a@x.com", ""},
		{"A@X.COM", "sub"},
		{"a@@x.com", ""},
		{"a@x.c", ""},
		{"", strings.Repeat("s", 256)},
		{"a b@x.com", "a\x00"},
		{"ü@x.com", "ü"},
		{strings.Repeat("a", 250) + "@x.com", "~"},
		{"a@-x-.co", "auth0|1"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, email, sub string) {
		h := http.Header{}
		h.Set(proto.HeaderUserEmail, email)
		h.Set(proto.HeaderUserSub, sub)
		c, err := caller.ParseIdentity(h)
		if err != nil {
			var ie *caller.IdentityError
			if !errors.As(err, &ie) || (ie.Header != proto.HeaderUserEmail && ie.Header != proto.HeaderUserSub) {
				t.Fatalf("error %v", err)
			}
			if msg := ie.Refusal().Message; msg != "Invalid "+ie.Header+" header" {
				t.Fatalf("refusal text %q", msg)
			}
			return
		}
		if c.Listener != caller.ListenerRemote || c.Sub != sub || c.Email != strings.ToLower(email) {
			t.Fatalf("caller %+v from %q, %q", c, email, sub)
		}
		if c.Email != "" && (!proto.ValidEmail(c.Email) || len(c.Email) > 254 || strings.Count(c.Email, "@") != 1) {
			t.Fatalf("accepted email %q", c.Email)
		}
		if c.Sub != "" && !proto.ValidSub(c.Sub) {
			t.Fatalf("accepted sub %q", c.Sub)
		}
		switch {
		case sub != "" && c.Key != "sub:"+sub,
			sub == "" && email != "" && c.Key != "email:"+c.Email,
			sub == "" && email == "" && c.Key != caller.KeyAnonymous:
			t.Fatalf("key %q for %q, %q", c.Key, email, sub)
		}
	})
}

// FuzzLocalHostAllowed: the Host matcher never panics, is case-insensitive,
// admits without extra entries only loopback names, and a valid entry
// always admits itself.
func FuzzLocalHostAllowed(f *testing.F) {
	for _, s := range []string{
		"localhost", "localhost:8002", "127.0.0.1", "[::1]:1", "[::1", "[::1]x", "evil.example", "a:b:c", "::1",
		"[fe80::1%25eth0]:80", "LOCALHOST:00080", "", ":", "localhost:", "127.0.0.1:99999", "[::ffff:127.0.0.1]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		allowed := caller.LocalHostAllowed(host, nil)
		if allowed != caller.LocalHostAllowed(strings.ToUpper(host), nil) {
			t.Fatalf("case changes the answer for %q", host)
		}
		lower := strings.ToLower(host)
		if allowed && !strings.HasPrefix(lower, "localhost") && !strings.HasPrefix(lower, "127.0.0.1") && !strings.HasPrefix(lower, "[") {
			t.Fatalf("admitted %q", host)
		}
		if allowed && strings.ContainsAny(host, "/@?# ") {
			t.Fatalf("admitted %q", host)
		}
		if caller.CheckHostEntry(host) == nil && !caller.LocalHostAllowed(host, []string{host}) {
			t.Fatalf("entry %q does not admit itself", host)
		}
		if caller.CheckHostEntry(host) != nil && allowed {
			t.Fatalf("admitted %q, which is not a valid host", host)
		}
	})
}

// FuzzOrigin: the Origin matchers never panic; the loopback rule admits only
// http(s) origins of loopback hosts; an empty list admits nothing; a valid
// entry admits itself.
func FuzzOrigin(f *testing.F) {
	for _, s := range []string{
		"http://localhost:6274", "https://127.0.0.1", "http://[::1]:3000", "null", "", "http://evil.example",
		"http://localhost/", "http://localhost@evil", "javascript://localhost", "http://", "https://a.example:443",
		"HTTP://LOCALHOST", "http://localhost:6274\\@evil",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		local := caller.LocalOriginAllowed(origin, nil)
		lower := strings.ToLower(origin)
		if local && !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
			t.Fatalf("admitted %q", origin)
		}
		if local && caller.CheckOriginEntry(origin) != nil {
			t.Fatalf("admitted %q, which is not a valid origin", origin)
		}
		if local {
			_, hostport, _ := strings.Cut(lower, "://")
			if !strings.HasPrefix(hostport, "localhost") && !strings.HasPrefix(hostport, "127.0.0.1") && !strings.HasPrefix(hostport, "[") {
				t.Fatalf("admitted %q", origin)
			}
		}
		if caller.OriginListed(origin, nil) {
			t.Fatalf("an empty list admitted %q", origin)
		}
		valid := caller.CheckOriginEntry(origin) == nil
		if valid != caller.OriginListed(origin, []string{origin}) {
			t.Fatalf("entry %q: valid %v, admits itself %v", origin, valid, !valid)
		}
	})
}
