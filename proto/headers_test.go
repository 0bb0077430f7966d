package proto_test

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
)

func TestValidEmail(t *testing.T) {
	t.Parallel()
	good := []string{"alice@example.com", "a.b+c_d%e-f@sub.example.co", "x@a-b.io"}
	bad := []string{
		"", "alice", "a@@example.com", "a@b@example.com", "alice@example", "alice@example.c", "al ice@example.com",
		"alice@exa_mple.com", "alice@example.c0m", "alice@.example.com", "<script>@example.com", "alice@example.com\n",
		strings.Repeat("a", 250) + "@example.com",
	}
	for _, e := range good {
		if !proto.ValidEmail(e) {
			t.Errorf("ValidEmail(%q) = false", e)
		}
	}
	for _, e := range bad {
		if proto.ValidEmail(e) {
			t.Errorf("ValidEmail(%q) = true", e)
		}
	}
}

func TestValidSubAndRequestID(t *testing.T) {
	t.Parallel()
	if !proto.ValidSub("auth0|12345") || proto.ValidSub("") || proto.ValidSub("a\x00b") || proto.ValidSub(strings.Repeat("s", 256)) {
		t.Error("ValidSub rules")
	}
	if !proto.ValidRequestID("A.b_c:d-1") || proto.ValidRequestID("a/b") || proto.ValidRequestID("") {
		t.Error("ValidRequestID rules")
	}
}

func FuzzValidEmail(f *testing.F) {
	for _, s := range []string{"alice@example.com", "a@b.cd", "@", "a@b@c.de", "é@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !proto.ValidEmail(s) {
			return
		}
		// Whatever passes is safe to put in a header and a log line.
		if len(s) > 254 || strings.ContainsAny(s, " \r\n\t\"<>,;") || strings.Count(s, "@") != 1 {
			t.Fatalf("accepted %q", s)
		}
	})
}
