package redact_test

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/mcpbox/mcpbox/proto/redact"
)

// BE-62 (rule layer): key words, not substrings (backend.md §12.3 step 2).
func TestSensitiveKey(t *testing.T) {
	t.Parallel()
	sensitive := []string{
		"password", "PASSWORD", "passwd", "secret", "token", "apikey", "apiKey", "APIKey", "api_key", "api-key",
		"x-api-key", "authorization", "Authorization", "auth", "X-Auth-Token", "credential", "credentials",
		"bearer", "cookie", "Set-Cookie", "session", "sessionId", "privatekey", "privateKey", "private_key",
		"clientSecret", "client_secret", "client.secret", "access_token", "refreshToken", "db.password",
		"oauth2Token", "user password",
	}
	for _, k := range sensitive {
		if !redact.SensitiveKey(k) {
			t.Errorf("SensitiveKey(%q) = false, want true", k)
		}
	}
	plain := []string{
		"author", "monkey", "authority", "keyboard", "key", "api", "client", "private", "tokens_used", "passwords2",
		"secretary", "sessions", "cookies", "api_version", "key_api", "name", "items",
		"clientName", "publicKey",
	}
	for _, k := range plain {
		if redact.SensitiveKey(k) {
			t.Errorf("SensitiveKey(%q) = true, want false", k)
		}
	}
}

func TestKeyWords(t *testing.T) {
	t.Parallel()
	for key, want := range map[string][]string{
		"clientSecret":   {"client", "secret"},
		"APIKey":         {"api", "key"},
		"XMLHttpRequest": {"xml", "http", "request"},
		"api_key":        {"api", "key"},
		"x-api.key":      {"x", "api", "key"},
		"oauth2Token":    {"oauth2", "token"},
		"__a__":          {"a"},
		"":               nil,
		"ÉtéPassword":    {"été", "password"},
	} {
		if got := redact.KeyWords(key); !slices.Equal(got, want) {
			t.Errorf("KeyWords(%q) = %q, want %q", key, got, want)
		}
	}
}

// FuzzSensitiveKey: never panics; words are letters and digits only; a
// separate leading word changes nothing; a separate word password makes any
// key sensitive.
func FuzzSensitiveKey(f *testing.F) {
	for _, s := range []string{"password", "clientSecret", "APIKey", "author", "x-api-key", "\xff\xfe", "ẞToken", "İPassword"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		for _, w := range redact.KeyWords(key) {
			if w == "" || strings.IndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 {
				t.Fatalf("KeyWords(%q) has word %q", key, w)
			}
		}
		if redact.SensitiveKey(key) != redact.SensitiveKey("x_"+key) {
			t.Fatalf("a separate leading word changed SensitiveKey(%q)", key)
		}
		if !redact.SensitiveKey(key + "_password") {
			t.Fatalf("%q_password is not sensitive", key)
		}
	})
}
