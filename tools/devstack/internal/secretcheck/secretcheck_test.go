package secretcheck_test

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/secretcheck"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	good := "9f2c4e71a0b35d86c1e7f04a92b6d35e8c0f71a2b4d69e3c5f8a1b07d2e46c93"
	for _, tc := range []struct {
		value, want string
	}{
		{good, ""},
		{"", "missing"},
		{"9f2c4e71a0b35d86", "at least 32 bytes"},
		{strings.Repeat("abcd", 10), "distinct characters"},
		{strings.Repeat("abc", 11), "repeated every 3"},
		{"Change-Me-0123456789abcdefghijklmnop", `placeholder "changeme"`},
		{"xyzTEST0123456789abcdefghijklmnopq", `placeholder "test"`},
		{"my_mcpbox_9876543210abcdefghijklmn", `placeholder "mcpbox"`},
	} {
		err := secretcheck.Check(tc.value, secretcheck.MinTokenBytes)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.value, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want an error containing %q", tc.value, err, tc.want)
		}
	}
}

func TestCheckEncryptionKey(t *testing.T) {
	t.Parallel()
	if err := secretcheck.CheckEncryptionKey("9f2c4e71a0b35d86c1e7f04a92b6d35e8c0f71a2b4d69e3c5f8a1b07d2e46c93"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{strings.Repeat("a", 64), strings.Repeat("g", 64), "abc", strings.Repeat("0123", 16)} {
		if secretcheck.CheckEncryptionKey(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDistinct(t *testing.T) {
	t.Parallel()
	vals := map[string]string{"A": "x", "B": "y", "C": "x"}
	if err := secretcheck.Distinct([]string{"A", "B"}, vals); err != nil {
		t.Error(err)
	}
	if err := secretcheck.Distinct([]string{"A", "B", "C"}, vals); err == nil || !strings.Contains(err.Error(), "C: must differ from A") {
		t.Errorf("got %v", err)
	}
}
