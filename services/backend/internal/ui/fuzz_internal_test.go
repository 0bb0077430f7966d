package ui

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// UI-4 (below the browser): next accepts only a local path.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                              "/",
		"/":                             "/",
		"/servers":                      "/servers",
		"/approvals?kind=network":       "/approvals?kind=network",
		"/tools/1?tab=code#L3":          "/tools/1?tab=code#L3",
		"//evil.example":                "/",
		"///evil.example":               "/",
		`/\evil.example`:                "/",
		`\\evil.example`:                "/",
		"https://evil.example/":         "/",
		"javascript:alert(1)":           "/",
		"evil.example":                  "/",
		"/%2F/evil.example":             "/",
		"/\t/evil.example":              "/",
		"/ok\r\nSet-Cookie: x=1":        "/",
		"http:/evil.example":            "/",
		"/" + strings.Repeat("a", 3000): "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSafeNext: whatever comes in, the result is "/" or a path a browser
// resolves on this origin.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/servers?q=a", "//evil.example", `/\x`, "/%2F%2Fx", "https://x", "/a/../..//b", "/\u3000/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext(in)
		if out == "/" {
			return
		}
		if out != in {
			t.Fatalf("safeNext(%q) = %q: neither / nor the input", in, out)
		}
		base, _ := url.Parse("https://mcpbox.example/setup")
		ref, err := url.Parse(out)
		if err != nil {
			t.Fatalf("%q does not parse: %v", out, err)
		}
		if got := base.ResolveReference(ref); got.Host != "mcpbox.example" || got.Scheme != "https" {
			t.Fatalf("safeNext(%q) resolves to %s", in, got)
		}
		if strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\r\n\t") {
			t.Fatalf("safeNext(%q) = %q", in, out)
		}
	})
}

// FuzzPreSessionAge: the pre-session token parser accepts only its own
// format and never a time in the future beyond a minute.
func FuzzPreSessionAge(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(newPreSessionToken(now))
	f.Add(newPreSessionToken(now.Add(-11 * time.Minute)))
	f.Add("1800000000.short")
	f.Add("-5." + strings.Repeat("A", 43))
	f.Add("99999999999999999999." + strings.Repeat("A", 43))
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		age, ok := preSessionAge(token, now)
		if !ok {
			return
		}
		if age < 0 {
			t.Fatalf("negative age %s for %q", age, token)
		}
		ts, rnd, _ := strings.Cut(token, ".")
		if len(rnd) != 43 || ts == "" {
			t.Fatalf("accepted %q", token)
		}
	})
}

func TestPreSessionTokens(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tok := newPreSessionToken(now)
	if age, ok := preSessionAge(tok, now.Add(3*time.Minute)); !ok || age < 3*time.Minute-time.Second || age > 3*time.Minute+time.Second {
		t.Errorf("age %s %v", age, ok)
	}
	if _, ok := preSessionAge(tok, now.Add(-2*time.Minute)); ok {
		t.Error("a token issued two minutes in the future is accepted")
	}
	if a, b := newPreSessionToken(now), newPreSessionToken(now); a == b || !sameToken(a, a) || sameToken(a, b) {
		t.Error("tokens are not random, or sameToken is wrong")
	}
}

// FuzzASCIIJSON: the toast header is pure ASCII and decodes to what was
// encoded.
func FuzzASCIIJSON(f *testing.F) {
	for _, s := range []string{"Offline — retrying…", "plain", "🙂 \u2028 \x00", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		raw, err := json.Marshal(map[string]string{"m": msg}) // invalid UTF-8 becomes U+FFFD
		if err != nil {
			t.Fatal(err)
		}
		out := asciiJSON(string(raw))
		for i := 0; i < len(out); i++ {
			if out[i] >= utf8.RuneSelf {
				t.Fatalf("non-ASCII byte in %q", out)
			}
		}
		var back, orig map[string]string
		if err := json.Unmarshal([]byte(out), &back); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		_ = json.Unmarshal(raw, &orig)
		if back["m"] != orig["m"] {
			t.Fatalf("%q decoded to %q, want %q", out, back["m"], orig["m"])
		}
	})
}
