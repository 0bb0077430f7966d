package proto

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAllowlistAllows(t *testing.T) {
	t.Parallel()
	emails := RemoteEmailAllowlist{Mode: AllowEmails, Values: []string{"alice@example.com", "bob@corp.example"}}
	domain := RemoteEmailAllowlist{Mode: AllowEmailDomain, Values: []string{"example.com"}}
	everyone := RemoteEmailAllowlist{Mode: AllowEveryone, Values: []string{}}
	tests := []struct {
		name  string
		list  RemoteEmailAllowlist
		email string
		want  bool
	}{
		{"emails: listed", emails, "alice@example.com", true},
		{"emails: case-insensitive", emails, "Alice@Example.COM", true},
		{"emails: other address", emails, "carol@example.com", false},
		{"emails: prefix is not a match", emails, "alice@example.com.evil", false},
		{"emails: no email", emails, "", false},
		{"emails: default lists nobody", DefaultPolicy().RemoteEmailAllowlist, "alice@example.com", false},
		{"domain: match", domain, "carol@example.com", true},
		{"domain: case-insensitive", domain, "carol@EXAMPLE.com", true},
		{"domain: subdomain does not match", domain, "carol@eu.example.com", false},
		{"domain: suffix does not match", domain, "carol@badexample.com", false},
		{"domain: last @ counts", domain, "\"x@evil.com\"@example.com", true},
		{"domain: last @ counts (2)", domain, "x@example.com@evil.com", false},
		{"domain: no @", domain, "example.com", false},
		{"domain: no email", domain, "", false},
		{"everyone: any email", everyone, "anyone@anywhere.example", true},
		{"everyone: no email", everyone, "", false},
		{"unknown mode allows nobody", RemoteEmailAllowlist{Mode: "all", Values: []string{"alice@example.com"}}, "alice@example.com", false},
		{"empty mode allows nobody", RemoteEmailAllowlist{}, "alice@example.com", false},
		{"uppercase value still matches", RemoteEmailAllowlist{Mode: AllowEmails, Values: []string{"Alice@Example.com"}}, "alice@example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.list.Allows(tt.email); got != tt.want {
				t.Errorf("%+v.Allows(%q) = %v, want %v", tt.list, tt.email, got, tt.want)
			}
		})
	}
}

func TestAllowlistValidate(t *testing.T) {
	t.Parallel()
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name   string
		list   RemoteEmailAllowlist
		fields []string
	}{
		{"default", RemoteEmailAllowlist{Mode: AllowEmails, Values: []string{}}, nil},
		{"everyone", RemoteEmailAllowlist{Mode: AllowEveryone}, nil},
		{"everyone with values", RemoteEmailAllowlist{Mode: AllowEveryone, Values: []string{"a@b.example"}}, []string{"values"}},
		{"emails", RemoteEmailAllowlist{Mode: AllowEmails, Values: []string{"a@b.example", "x.y+z@corp.example.org"}}, nil},
		{"100 emails", RemoteEmailAllowlist{Mode: AllowEmails, Values: many(100, func(i int) string { return "u" + strings.Repeat("x", i) + "@b.example" })}, nil},
		{"101 emails", RemoteEmailAllowlist{Mode: AllowEmails, Values: many(101, func(i int) string { return "u" + strings.Repeat("x", i) + "@b.example" })}, []string{"values"}},
		{
			"bad emails",
			RemoteEmailAllowlist{Mode: AllowEmails, Values: []string{"A@b.example", "no-at", "a@b", "a@b.example"}},
			[]string{"values[0]", "values[1]", "values[2]"},
		},
		{"long email", RemoteEmailAllowlist{Mode: AllowEmails, Values: []string{strings.Repeat("a", 250) + "@b.io"}}, []string{"values[0]"}},
		{"domains", RemoteEmailAllowlist{Mode: AllowEmailDomain, Values: []string{"example.com", "xn--bcher-kva.example"}}, nil},
		{"no domain", RemoteEmailAllowlist{Mode: AllowEmailDomain, Values: []string{}}, []string{"values"}},
		{"21 domains", RemoteEmailAllowlist{Mode: AllowEmailDomain, Values: many(21, func(i int) string { return "d" + strings.Repeat("x", i) + ".example" })}, []string{"values"}},
		{
			"bad domains",
			RemoteEmailAllowlist{Mode: AllowEmailDomain, Values: []string{"Example.com", "@example.com", "example.com:443", "*.example.com", "localhost", "192.0.2.1", "ok.example"}},
			[]string{"values[0]", "values[1]", "values[2]", "values[3]", "values[4]", "values[5]"},
		},
		{"unknown mode", RemoteEmailAllowlist{Mode: "all"}, []string{"mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fields []string
			for _, fe := range FieldErrors(tt.list.Validate()) {
				fields = append(fields, fe.Field)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("Validate fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultPolicy checks the defaults of backend.md §6.6 (BE-54, proto
// part).
func TestDefaultPolicy(t *testing.T) {
	t.Parallel()
	want := Policy{
		RemoteToolEditing:     "disabled",
		ToolApprovalMode:      "require_approval",
		NetworkAccessPolicy:   "approved_hosts_only",
		PackageApprovalMode:   "require_approval",
		RedactSecretsInOutput: "enabled",
		LogRetentionDays:      30,
		MCPRateLimitRPM:       120,
		RemoteEmailAllowlist:  RemoteEmailAllowlist{Mode: "emails", Values: []string{}},
	}
	if diff := cmp.Diff(want, DefaultPolicy()); diff != "" {
		t.Errorf("DefaultPolicy mismatch (-want +got):\n%s", diff)
	}
	if err := DefaultPolicy().Validate(); err != nil {
		t.Errorf("DefaultPolicy().Validate() = %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	p := Policy{
		RemoteToolEditing:     "on",
		ToolApprovalMode:      "manual",
		NetworkAccessPolicy:   "all",
		PackageApprovalMode:   "",
		RedactSecretsInOutput: "yes",
		LogRetentionDays:      0,
		MCPRateLimitRPM:       10001,
		RemoteEmailAllowlist:  RemoteEmailAllowlist{Mode: AllowEmailDomain, Values: []string{"bad domain"}},
	}
	var fields []string
	for _, fe := range FieldErrors(p.Validate()) {
		fields = append(fields, fe.Field)
	}
	want := []string{
		"remote_tool_editing", "tool_approval_mode", "network_access_policy", "package_approval_mode",
		"redact_secrets_in_output", "log_retention_days", "mcp_rate_limit_rpm", "remote_email_allowlist.values[0]",
	}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("Validate fields mismatch (-want +got):\n%s", diff)
	}
	ok := DefaultPolicy()
	ok.LogRetentionDays, ok.MCPRateLimitRPM = MaxLogRetentionDays, MinMCPRateLimitRPM
	ok.RemoteToolEditing, ok.ToolApprovalMode, ok.NetworkAccessPolicy = ToggleEnabled, ApprovalAuto, NetworkAllowAllPublic
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
}

func TestPolicySettingKeys(t *testing.T) {
	t.Parallel()
	want := []SettingKey{
		"remote_tool_editing", "tool_approval_mode", "network_access_policy", "package_approval_mode",
		"redact_secrets_in_output", "log_retention_days", "mcp_rate_limit_rpm", "remote_email_allowlist",
	}
	if diff := cmp.Diff(want, PolicySettingKeys()); diff != "" {
		t.Errorf("PolicySettingKeys mismatch (-want +got):\n%s", diff)
	}
}
