package secrets_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/secrets"
)

// FuzzValidateValue: a value is accepted exactly when it has 8–10,000
// bytes, and a refusal is a rule error for "value" whose message is one of
// the fixed rule texts, so it can never carry the value (backend.md §12.2).
func FuzzValidateValue(f *testing.F) {
	for _, seed := range []string{
		"", "1234567", "12345678", "ééé", "éééé", "\x00\x00\x00\x00\x00\x00\x00\x00",
		strings.Repeat("v", secrets.MaxValueLen), strings.Repeat("v", secrets.MaxValueLen+1),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		err := secrets.ValidateValue(value)
		want := len(value) >= secrets.MinValueLen && len(value) <= secrets.MaxValueLen
		if want != (err == nil) {
			t.Fatalf("%d bytes: %v", len(value), err)
		}
		if err == nil {
			return
		}
		var re *proto.RuleError
		if !errors.As(err, &re) || re.Field != "value" {
			t.Fatalf("not a rule error for value: %v", err)
		}
		if re.Message != secrets.ShortValueMessage && re.Message != "must be at most 10000 bytes." {
			t.Fatalf("message %q", re.Message)
		}
	})
}
