package proto

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateServerName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
		rule string // a word of the message
	}{
		{"weather", true, ""},
		{"weather_api", true, ""},
		{"a", true, ""},
		{"a1_b2_c3", true, ""},
		{strings.Repeat("a", 24), true, ""},
		{"mcp", true, ""},
		// BE-6: Weather, a__b, mcpbox_x, x_ and a 25-char name are refused.
		{"Weather", false, "must match"},
		{"a__b", false, "must match"},
		{"mcpbox_x", false, "reserved"},
		{"mcpbox", false, "reserved"},
		{"mcpboxer", false, "reserved"},
		{"x_", false, "must match"},
		{strings.Repeat("a", 25), false, "at most 24"},
		{"", false, "must match"},
		{"_x", false, "must match"},
		{"1abc", false, "must match"},
		{"we-ather", false, "must match"},
		{"wé", false, "must match"},
	}
	for _, tt := range tests {
		err := ValidateServerName(tt.name)
		checkRule(t, "ValidateServerName", tt.name, err, tt.ok, tt.rule)
	}
}

func TestValidateToolName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
		rule string
	}{
		{"forecast", true, ""},
		{"get_forecast_7d", true, ""},
		{strings.Repeat("b", 38), true, ""},
		{"mcpbox_tool", true, ""}, // only server names are reserved
		{strings.Repeat("b", 39), false, "at most 38"},
		{"Forecast", false, "must match"},
		{"get__forecast", false, "must match"},
		{"forecast_", false, "must match"},
		{"", false, "must match"},
	}
	for _, tt := range tests {
		err := ValidateToolName(tt.name)
		checkRule(t, "ValidateToolName", tt.name, err, tt.ok, tt.rule)
	}
}

func TestValidateSecretName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"API_KEY", true},
		{"A", true},
		{"TOKEN_2", true},
		{"A__B_", true},
		{strings.Repeat("K", 64), true},
		{strings.Repeat("K", 65), false},
		{"lower", false}, // BE-56
		{"_KEY", false},
		{"1KEY", false},
		{"API-KEY", false},
		{"", false},
	}
	for _, tt := range tests {
		err := ValidateSecretName(tt.name)
		checkRule(t, "ValidateSecretName", tt.name, err, tt.ok, "must match")
	}
}

func TestExposedNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		exposed      string
		server, tool string
		ok           bool
	}{
		{"weather__forecast", "weather", "forecast", true},
		{"weather_api__get_forecast", "weather_api", "get_forecast", true},
		{ExposedName(strings.Repeat("s", 24), strings.Repeat("t", 38)), strings.Repeat("s", 24), strings.Repeat("t", 38), true},
		{strings.Repeat("s", 25) + "__" + strings.Repeat("t", 38), "", "", false}, // 65 characters
		{"weather", "", "", false},
		{"weather___forecast", "", "", false},
		{"weather__forecast__x", "", "", false},
		{"__forecast", "", "", false},
		{"weather__", "", "", false},
		{"Weather__forecast", "", "", false},
		{"mcpbox_list_servers", "", "", false},
		{"mcpbox__x", "", "", false},
		{"mcpboxx__x", "", "", false},
	}
	for _, tt := range tests {
		server, tool, err := SplitExposedName(tt.exposed)
		checkRule(t, "SplitExposedName", tt.exposed, err, tt.ok, "")
		if server != tt.server || tool != tt.tool {
			t.Errorf("SplitExposedName(%q) = %q, %q; want %q, %q", tt.exposed, server, tool, tt.server, tt.tool)
		}
		if tt.ok && ExposedName(server, tool) != tt.exposed {
			t.Errorf("ExposedName(%q, %q) = %q, want %q", server, tool, ExposedName(server, tool), tt.exposed)
		}
	}
}

// TestNamesCompose: every valid server and tool name form a valid exposed
// name that splits back.
func TestNamesCompose(t *testing.T) {
	t.Parallel()
	for _, server := range []string{"a", "weather", "w_1", strings.Repeat("s", 24)} {
		for _, tool := range []string{"b", "forecast", "get_7d", strings.Repeat("t", 38)} {
			if ValidateServerName(server) != nil || ValidateToolName(tool) != nil {
				t.Fatalf("fixture %q/%q is not valid", server, tool)
			}
			s, tl, err := SplitExposedName(ExposedName(server, tool))
			if err != nil || s != server || tl != tool {
				t.Errorf("SplitExposedName(ExposedName(%q, %q)) = %q, %q, %v", server, tool, s, tl, err)
			}
		}
	}
}

func TestRuleError(t *testing.T) {
	t.Parallel()
	err := ValidateServerName("Weather")
	want := "name: must match ^[a-z][a-z0-9]*(_[a-z0-9]+)*$ (lowercase letters and digits, words joined by single underscores), at most 24 characters."
	if err == nil || err.Error() != want {
		t.Fatalf("ValidateServerName(Weather) = %v, want %q", err, want)
	}
	if got := (&RuleError{Message: "x."}).Error(); got != "x." {
		t.Errorf("RuleError without field = %q, want %q", got, "x.")
	}
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	err := errors.Join(
		&RuleError{Field: "a", Message: "first."},
		errors.Join(&RuleError{Field: "b[1]", Message: "second."}, errors.New("plain")),
	)
	got := FieldErrors(wrapOnce(err))
	want := []FieldError{{Field: "a", Message: "first."}, {Field: "b[1]", Message: "second."}, {Message: "plain"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FieldErrors mismatch (-want +got):\n%s", diff)
	}
	if got := FieldErrors(nil); got != nil {
		t.Errorf("FieldErrors(nil) = %v, want nil", got)
	}
}

// wrapError wraps an error once, as a caller adding context would.
type wrapError struct{ err error }

func (w wrapError) Error() string { return "context: " + w.err.Error() }
func (w wrapError) Unwrap() error { return w.err }

func wrapOnce(err error) error { return wrapError{err} }

// checkRule asserts that err matches ok and, for a failure, is a *RuleError
// on field "name" whose message is a sentence containing rule.
func checkRule(t *testing.T, fn, in string, err error, ok bool, rule string) {
	const field = "name"
	t.Helper()
	if ok {
		if err != nil {
			t.Errorf("%s(%q) = %v, want nil", fn, in, err)
		}
		return
	}
	var re *RuleError
	if !errors.As(err, &re) {
		t.Errorf("%s(%q) = %v, want a *RuleError", fn, in, err)
		return
	}
	if re.Field != field || !strings.Contains(re.Message, rule) || !strings.HasSuffix(re.Message, ".") {
		t.Errorf("%s(%q) = %q on field %q, want field %q and a sentence containing %q", fn, in, re.Message, re.Field, field, rule)
	}
}
