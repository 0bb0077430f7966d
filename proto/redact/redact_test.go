package redact_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/redact"
)

const secret = "s3cr3t/v@lue+42=="

// SB-43 (redaction layer): every form of the secret is replaced.
func TestEveryFormIsRedacted(t *testing.T) {
	t.Parallel()
	r := redact.New([]redact.Secret{{Name: "API_KEY", Value: secret}}, redact.Sandbox)
	basic := base64.StdEncoding.EncodeToString([]byte("user:" + secret))
	texts := []string{
		secret, "prefix " + secret + " suffix", url.QueryEscape(secret), url.PathEscape(secret),
		hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret))),
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"Authorization: Basic " + basic,
		base64.StdEncoding.EncodeToString([]byte("x" + secret + "yz")),
		base64.URLEncoding.EncodeToString([]byte("ab" + secret)),
	}
	for _, text := range texts {
		got := r.String(text)
		if !strings.Contains(got, "[REDACTED]") {
			t.Errorf("not redacted: %q → %q", text, got)
		}
		for _, f := range redact.Forms(secret) {
			if strings.Contains(got, f) {
				t.Errorf("form %q survives in %q", f, got)
			}
		}
	}
}

func TestShortSecretsAreLeftAlone(t *testing.T) {
	t.Parallel()
	r := redact.New([]redact.Secret{{Name: "PIN", Value: "1234567"}}, redact.Sandbox)
	if got := r.String("pin 1234567"); got != "pin 1234567" || r.Longest() != 0 {
		t.Errorf("a 7-character secret was redacted: %q", got)
	}
}

func TestJSONKeysAndValuesRecursively(t *testing.T) {
	t.Parallel()
	r := redact.New([]redact.Secret{{Name: "TOKEN", Value: secret}}, redact.Named)
	doc := json.RawMessage(`{"a":"` + secret + `","` + secret + `":[1.50,{"deep":"x ` + secret + `"}],"n":12345678901234567890,"html":"<b>&"}`)
	got, err := r.JSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"[REDACTED:TOKEN]":[1.50,{"deep":"x [REDACTED:TOKEN]"}],"a":"[REDACTED:TOKEN]","html":"<b>&","n":12345678901234567890}`
	if string(got) != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
}

func TestLongestFormWins(t *testing.T) {
	t.Parallel()
	// One secret is a prefix of another: the longer is replaced whole.
	r := redact.New([]redact.Secret{{Name: "A", Value: "abcdefgh"}, {Name: "B", Value: "abcdefghijkl"}}, redact.Named)
	if got := r.String("abcdefghijkl abcdefgh"); got != "[REDACTED:B] [REDACTED:A]" {
		t.Errorf("got %q", got)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("s3cr3t-value", "text with s3cr3t-value inside")
	f.Add("ab+/=cdefgh", "YWIrLz1jZGVmZ2g=")
	f.Fuzz(func(t *testing.T, value, text string) {
		r := redact.New([]redact.Secret{{Name: "X", Value: value}}, redact.Sandbox)
		got := r.String(text)
		if len(value) >= redact.MinSecretBytes && !isPartOfMarker(value) && strings.Contains(got, value) {
			t.Fatalf("value %q survives in %q", value, got)
		}
	})
}

// isPartOfMarker: a value inside the replacement text itself can reappear.
func isPartOfMarker(value string) bool {
	const marker = "[REDACTED]"
	return strings.Contains(marker, value)
}
