package proto

import (
	"fmt"
	"net/netip"
	"strings"
)

// SettingKey is the key of a row of the backend's settings table (backend.md
// §4.2 settings, §6.6, §8.2). An absent row means the default.
type SettingKey string

// Settings keys: the eight policy keys of backend.md §6.6, then the others.
const (
	SettingRemoteToolEditing     SettingKey = "remote_tool_editing"
	SettingToolApprovalMode      SettingKey = "tool_approval_mode"
	SettingNetworkAccessPolicy   SettingKey = "network_access_policy"
	SettingPackageApprovalMode   SettingKey = "package_approval_mode"
	SettingRedactSecretsInOutput SettingKey = "redact_secrets_in_output"
	SettingLogRetentionDays      SettingKey = "log_retention_days"
	SettingMCPRateLimitRPM       SettingKey = "mcp_rate_limit_rpm"
	SettingRemoteEmailAllowlist  SettingKey = "remote_email_allowlist"

	SettingOnboardingCompleted    SettingKey = "onboarding_completed"
	SettingEncryptionKeyCheck     SettingKey = "encryption_key_check"
	SettingRemotePublicURL        SettingKey = "remote_public_url"
	SettingRemoteExpectedIssuer   SettingKey = "remote_expected_issuer"
	SettingRemoteExpectedAudience SettingKey = "remote_expected_audience"
	SettingRemoteSelfcheckResult  SettingKey = "remote_selfcheck_result"
)

// PolicySettingKeys returns the eight policy keys of backend.md §6.6 in the
// order of Policy's fields.
func PolicySettingKeys() []SettingKey {
	return []SettingKey{
		SettingRemoteToolEditing, SettingToolApprovalMode, SettingNetworkAccessPolicy,
		SettingPackageApprovalMode, SettingRedactSecretsInOutput, SettingLogRetentionDays,
		SettingMCPRateLimitRPM, SettingRemoteEmailAllowlist,
	}
}

// Toggle is the value of the enabled/disabled settings (remote_tool_editing,
// redact_secrets_in_output).
type Toggle string

// Toggle values.
const (
	ToggleEnabled  Toggle = "enabled"
	ToggleDisabled Toggle = "disabled"
)

// ApprovalMode is the value of tool_approval_mode and package_approval_mode.
type ApprovalMode string

// Approval modes.
const (
	ApprovalRequired ApprovalMode = "require_approval"
	ApprovalAuto     ApprovalMode = "auto_approve"
)

// NetworkAccessPolicy is the value of network_access_policy.
type NetworkAccessPolicy string

// Network access policies.
const (
	NetworkApprovedHostsOnly NetworkAccessPolicy = "approved_hosts_only"
	NetworkAllowAllPublic    NetworkAccessPolicy = "allow_all_public"
)

// AllowlistMode is the mode of remote_email_allowlist.
type AllowlistMode string

// Allowlist modes.
const (
	// AllowEveryone admits every remote caller that has an email.
	AllowEveryone AllowlistMode = "everyone"
	// AllowEmails admits the listed addresses.
	AllowEmails AllowlistMode = "emails"
	// AllowEmailDomain admits addresses whose part after the last '@' is listed.
	AllowEmailDomain AllowlistMode = "email_domain"
)

// Policy limits (backend.md §6.6, contracts.md §10).
const (
	MinLogRetentionDays     = 1
	MaxLogRetentionDays     = 3650
	DefaultLogRetentionDays = 30
	MinMCPRateLimitRPM      = 10
	MaxMCPRateLimitRPM      = 10_000
	DefaultMCPRateLimitRPM  = 120
	// MaxAllowlistEmails and MaxAllowlistDomains bound RemoteEmailAllowlist.Values.
	MaxAllowlistEmails  = 100
	MaxAllowlistDomains = 20
	// MaxEmailLen is the longest email address.
	MaxEmailLen = 254
)

// Policy is the body of GET /internal/v1/policy (backend.md §9.7): the eight
// security-policy settings of §6.6 and the policy revision.
type Policy struct {
	// Revision increases with every settings change.
	Revision              int64                `json:"revision"`
	RemoteToolEditing     Toggle               `json:"remote_tool_editing"`
	ToolApprovalMode      ApprovalMode         `json:"tool_approval_mode"`
	NetworkAccessPolicy   NetworkAccessPolicy  `json:"network_access_policy"`
	PackageApprovalMode   ApprovalMode         `json:"package_approval_mode"`
	RedactSecretsInOutput Toggle               `json:"redact_secrets_in_output"`
	LogRetentionDays      int                  `json:"log_retention_days"`
	MCPRateLimitRPM       int                  `json:"mcp_rate_limit_rpm"`
	RemoteEmailAllowlist  RemoteEmailAllowlist `json:"remote_email_allowlist"`
}

// RemoteEmailAllowlist says which remote callers may use MCPbox.
type RemoteEmailAllowlist struct {
	Mode AllowlistMode `json:"mode"`
	// Values are lowercased addresses (mode emails), lowercased domains (mode
	// email_domain), or empty (mode everyone). Never null on the wire.
	Values []string `json:"values"`
}

// DefaultPolicy returns the policy of an installation without settings rows:
// the most restrictive value of every enumeration, 30 days, 120 calls/min and
// no remote user (revision 0).
func DefaultPolicy() Policy {
	return Policy{
		RemoteToolEditing:     ToggleDisabled,
		ToolApprovalMode:      ApprovalRequired,
		NetworkAccessPolicy:   NetworkApprovedHostsOnly,
		PackageApprovalMode:   ApprovalRequired,
		RedactSecretsInOutput: ToggleEnabled,
		LogRetentionDays:      DefaultLogRetentionDays,
		MCPRateLimitRPM:       DefaultMCPRateLimitRPM,
		RemoteEmailAllowlist:  RemoteEmailAllowlist{Mode: AllowEmails, Values: []string{}},
	}
}

// Allows reports whether a remote caller with this email passes the
// allowlist (backend.md §6.6, gateway.md §6.3). An empty email is never
// allowed, whatever the mode. The address is compared lowercased: mode
// everyone allows it; mode emails needs an exact match with a value; mode
// email_domain needs the part after the last '@' to equal a value exactly
// (subdomains do not match). An unknown mode allows nobody.
func (a RemoteEmailAllowlist) Allows(email string) bool {
	if email == "" {
		return false
	}
	email = strings.ToLower(email)
	switch a.Mode {
	case AllowEveryone:
		return true
	case AllowEmails:
		for _, v := range a.Values {
			if strings.ToLower(v) == email {
				return true
			}
		}
	case AllowEmailDomain:
		at := strings.LastIndexByte(email, '@')
		if at < 0 {
			return false
		}
		domain := email[at+1:]
		for _, v := range a.Values {
			if strings.ToLower(v) == domain {
				return true
			}
		}
	}
	return false
}

// Validate checks the allowlist rules of backend.md §6.6: mode everyone has
// no values; mode emails has 0–100 lowercased valid addresses of at most 254
// characters; mode email_domain has 1–20 lowercased host names. Fields are
// "mode", "values" and "values[i]" (errors.Join of *RuleError; FieldErrors
// lists them).
func (a RemoteEmailAllowlist) Validate() error {
	return joinRules(a.rules(""))
}

// rules returns the allowlist's rule failures, fields prefixed with prefix.
func (a RemoteEmailAllowlist) rules(prefix string) []*RuleError {
	var errs []*RuleError
	add := func(field, format string, args ...any) {
		errs = append(errs, ruleError(prefix+field, format, args...))
	}
	switch a.Mode {
	case AllowEveryone:
		if len(a.Values) != 0 {
			add("values", "must be empty when mode is %q.", AllowEveryone)
		}
	case AllowEmails:
		if len(a.Values) > MaxAllowlistEmails {
			add("values", "at most %d addresses; use mode %q to admit a whole domain.", MaxAllowlistEmails, AllowEmailDomain)
		}
		for i, v := range a.Values {
			if len(v) > MaxEmailLen || !ValidEmail(v) || v != strings.ToLower(v) {
				add(fmt.Sprintf("values[%d]", i), "must be a lowercased email address such as alice@example.com, at most %d characters.", MaxEmailLen)
			}
		}
	case AllowEmailDomain:
		if len(a.Values) < 1 || len(a.Values) > MaxAllowlistDomains {
			add("values", "must list 1 to %d domains.", MaxAllowlistDomains)
		}
		for i, v := range a.Values {
			if !validDomain(v) {
				add(fmt.Sprintf("values[%d]", i), "must be a lowercased domain such as example.com (no '@', port or wildcard).")
			}
		}
	default:
		add("mode", "must be %q, %q or %q.", AllowEveryone, AllowEmails, AllowEmailDomain)
	}
	return errs
}

// validDomain reports whether v is a DNS name in its normalised form, with
// at least two labels, no port and not an IP literal.
func validDomain(v string) bool {
	n, err := NormalizeHost(v)
	if err != nil || n != v || strings.ContainsAny(n, ":[") || !strings.Contains(n, ".") {
		return false
	}
	_, err = netip.ParseAddr(n)
	return err != nil
}

// Validate checks every setting of the policy against backend.md §6.6 (the
// revision is not checked). Fields are the settings keys, and
// "remote_email_allowlist.values[i]" inside the allowlist (errors.Join of
// *RuleError; FieldErrors lists them).
func (p Policy) Validate() error {
	var errs []*RuleError
	enum := func(key SettingKey, ok bool, values ...string) {
		if !ok {
			errs = append(errs, ruleError(string(key), "must be one of %s.", strings.Join(values, ", ")))
		}
	}
	enum(SettingRemoteToolEditing, p.RemoteToolEditing.valid(), string(ToggleDisabled), string(ToggleEnabled))
	enum(SettingToolApprovalMode, p.ToolApprovalMode.valid(), string(ApprovalRequired), string(ApprovalAuto))
	enum(SettingNetworkAccessPolicy, p.NetworkAccessPolicy == NetworkApprovedHostsOnly || p.NetworkAccessPolicy == NetworkAllowAllPublic,
		string(NetworkApprovedHostsOnly), string(NetworkAllowAllPublic))
	enum(SettingPackageApprovalMode, p.PackageApprovalMode.valid(), string(ApprovalRequired), string(ApprovalAuto))
	enum(SettingRedactSecretsInOutput, p.RedactSecretsInOutput.valid(), string(ToggleEnabled), string(ToggleDisabled))
	if p.LogRetentionDays < MinLogRetentionDays || p.LogRetentionDays > MaxLogRetentionDays {
		errs = append(errs, ruleError(string(SettingLogRetentionDays), "must be between %d and %d days.", MinLogRetentionDays, MaxLogRetentionDays))
	}
	if p.MCPRateLimitRPM < MinMCPRateLimitRPM || p.MCPRateLimitRPM > MaxMCPRateLimitRPM {
		errs = append(errs, ruleError(string(SettingMCPRateLimitRPM), "must be between %d and %d requests per minute.", MinMCPRateLimitRPM, MaxMCPRateLimitRPM))
	}
	errs = append(errs, p.RemoteEmailAllowlist.rules(string(SettingRemoteEmailAllowlist)+".")...)
	return joinRules(errs)
}

// valid reports whether t is enabled or disabled.
func (t Toggle) valid() bool { return t == ToggleEnabled || t == ToggleDisabled }

// valid reports whether m is a known approval mode.
func (m ApprovalMode) valid() bool { return m == ApprovalRequired || m == ApprovalAuto }
