package redact_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mcpbox/mcpbox/proto/redact"
)

func TestCutChars(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s        string
		n        int
		kept     string
		leftOver int
	}{
		{"hello", 10, "hello", 0},
		{"hello", 5, "hello", 0},
		{"hello", 3, "hel", 2},
		{"ééééé", 5, "ééééé", 0}, // 10 bytes, 5 characters
		{"ééééé", 2, "éé", 3},
		{"a😀b", 2, "a😀", 1},
		{"abc", 0, "", 3},
		{"abc", -1, "", 3},
	} {
		kept, cut := redact.CutChars(c.s, c.n)
		if kept != c.kept || cut != c.leftOver {
			t.Errorf("CutChars(%q, %d) = %q, %d; want %q, %d", c.s, c.n, kept, cut, c.kept, c.leftOver)
		}
	}
}

func TestCutBytes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 3, "hel"},
		{"aé", 2, "a"}, // é is 2 bytes: the cut falls inside it
		{"aé", 3, "aé"},
		{"a😀", 4, "a"},
		{"a😀b", 5, "a😀"},
		{"abc", -2, ""},
	} {
		if got := redact.CutBytes(c.s, c.n); got != c.want {
			t.Errorf("CutBytes(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

// FuzzCut: both cuts return a prefix within their limit that stays valid
// UTF-8 when the input was, and CutChars accounts for every character.
func FuzzCut(f *testing.F) {
	f.Add("héllo wörld 😀", 3)
	f.Add("\xff\xfe\x80abc", 2)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 64
		kept, cut := redact.CutChars(s, n)
		if !strings.HasPrefix(s, kept) || utf8.RuneCountInString(kept) > max(n, 0) {
			t.Fatalf("CutChars(%q, %d) = %q", s, n, kept)
		}
		if utf8.ValidString(s) && utf8.RuneCountInString(kept)+cut != utf8.RuneCountInString(s) {
			t.Fatalf("CutChars(%q, %d) lost count: %q, %d", s, n, kept, cut)
		}
		b := redact.CutBytes(s, n)
		if !strings.HasPrefix(s, b) || len(b) > max(n, 0) || utf8.ValidString(s) && !utf8.ValidString(b) {
			t.Fatalf("CutBytes(%q, %d) = %q", s, n, b)
		}
	})
}
