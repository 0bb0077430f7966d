package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/strictjson"
)

// Errors of Patch; the admin API maps them (backend.md §8.2, §15.1).
var (
	// ErrNoSettings is a PATCH without any setting: 400.
	ErrNoSettings = errors.New("policy: no settings given")
	// ErrVersionChanged is matched by a *VersionChangedError: 409 version_changed.
	ErrVersionChanged = errors.New("the security policy changed")
)

// FieldError is a setting that breaks a rule. Field is the key, or the JSON
// path inside remote_email_allowlist ("remote_email_allowlist.values[2]");
// Message starts with Field and names the allowed values or range, so the
// API can answer 400 validation_failed with both as they are.
type FieldError struct {
	Field   string
	Message string
}

// Error returns Message, e.g. "tool_approval_mode: must be one of
// require_approval, auto_approve."
func (e *FieldError) Error() string { return e.Message }

// fieldError builds a *FieldError whose message is prefixed with field.
func fieldError(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// FieldErrors lists the *FieldError inside err (one, or a join of several)
// in the order they were found: settings in the order of Keys, then unknown
// keys by name. It is empty when err holds none.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		var joined interface{ Unwrap() []error }
		var fe *FieldError
		switch {
		case err == nil:
		case errors.As(err, &joined):
			for _, e := range joined.Unwrap() {
				walk(e)
			}
		case errors.As(err, &fe):
			out = append(out, fe)
		}
	}
	walk(err)
	return out
}

// VersionChangedError is a PATCH whose revision is not the current one;
// nothing was written.
type VersionChangedError struct {
	Seen, Current int64
}

// Error says what to do.
func (e *VersionChangedError) Error() string {
	return fmt.Sprintf("The security policy is at revision %d, not at revision %d that you read; "+
		"reload it and apply your change again.", e.Current, e.Seen)
}

// Is reports whether target is ErrVersionChanged.
func (e *VersionChangedError) Is(target error) bool { return target == ErrVersionChanged }

// enumValues returns the values of an enumerated setting, the most
// restrictive first, or nil when key is not one.
func enumValues(key string) []string {
	switch proto.SettingKey(key) {
	case proto.SettingRemoteToolEditing:
		return []string{string(proto.ToggleDisabled), string(proto.ToggleEnabled)}
	case proto.SettingToolApprovalMode, proto.SettingPackageApprovalMode:
		return []string{string(proto.ApprovalRequired), string(proto.ApprovalAuto)}
	case proto.SettingNetworkAccessPolicy:
		return []string{string(proto.NetworkApprovedHostsOnly), string(proto.NetworkAllowAllPublic)}
	case proto.SettingRedactSecretsInOutput:
		return []string{string(proto.ToggleEnabled), string(proto.ToggleDisabled)}
	default:
		return nil
	}
}

// check validates a patch without applying it: every key must be a setting
// and every value must meet its rule. It returns nil or the join of every
// *FieldError, settings in the order of Keys, then unknown keys by name.
func check(patch map[string]json.RawMessage) error {
	var errs []error
	p := Defaults()
	for _, key := range Keys() {
		if raw, ok := patch[key]; ok {
			for _, fe := range p.set(key, raw) {
				errs = append(errs, fe)
			}
		}
	}
	var unknown []string
	for key := range patch {
		if !isKey(key) {
			unknown = append(unknown, key)
		}
	}
	slices.Sort(unknown)
	for _, key := range unknown {
		errs = append(errs, fieldError(key, "unknown setting; the security policy's settings are %s (plus the optional revision).",
			strings.Join(Keys(), ", ")))
	}
	return errors.Join(errs...)
}

// set parses raw as the value of the setting key and stores it in p, or
// returns what is wrong and leaves p unchanged. It is the one parser of both
// request values and stored rows; allowlist values are lowercased (domains
// normalised as hosts, §6.5), and a value listed twice is refused.
func (p *Policy) set(key string, raw json.RawMessage) []*FieldError {
	if values := enumValues(key); values != nil {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || !slices.Contains(values, v) {
			return []*FieldError{fieldError(key, "must be one of %s.", strings.Join(values, ", "))}
		}
		switch proto.SettingKey(key) {
		case proto.SettingRemoteToolEditing:
			p.RemoteToolEditing = v
		case proto.SettingToolApprovalMode:
			p.ToolApprovalMode = v
		case proto.SettingNetworkAccessPolicy:
			p.NetworkAccessPolicy = v
		case proto.SettingPackageApprovalMode:
			p.PackageApprovalMode = v
		default:
			p.RedactSecretsInOutput = v
		}
		return nil
	}
	switch proto.SettingKey(key) {
	case proto.SettingLogRetentionDays:
		n, fe := parseInt(key, raw, proto.MinLogRetentionDays, proto.MaxLogRetentionDays, "days")
		if fe != nil {
			return []*FieldError{fe}
		}
		p.LogRetentionDays = n
	case proto.SettingMCPRateLimitRPM:
		n, fe := parseInt(key, raw, proto.MinMCPRateLimitRPM, proto.MaxMCPRateLimitRPM, "calls per minute per caller")
		if fe != nil {
			return []*FieldError{fe}
		}
		p.MCPRateLimitRPM = n
	case proto.SettingRemoteEmailAllowlist:
		a, errs := parseAllowlist(raw)
		if len(errs) > 0 {
			return errs
		}
		p.RemoteEmailAllowlist = a
	default:
		return []*FieldError{fieldError(key, "unknown setting; the security policy's settings are %s.", strings.Join(Keys(), ", "))}
	}
	return nil
}

// parseInt reads a JSON integer between lo and hi.
func parseInt(key string, raw json.RawMessage, lo, hi int, unit string) (int, *FieldError) {
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || isNull(raw) || n < lo || n > hi {
		return 0, fieldError(key, "must be an integer between %d and %d (%s).", lo, hi, unit)
	}
	return n, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// parseAllowlist reads remote_email_allowlist and applies the rules of §6.6:
// everyone has no values; emails has 0–100 addresses local@domain.tld of at
// most 254 characters; email_domain has 1–20 domains under the host rules.
func parseAllowlist(raw json.RawMessage) (EmailAllowlist, []*FieldError) {
	const key = string(proto.SettingRemoteEmailAllowlist)
	shape := fmt.Sprintf(`must be an object {"mode": %q, %q or %q, "values": [...]}.`,
		proto.AllowEveryone, proto.AllowEmails, proto.AllowEmailDomain)
	if isNull(raw) {
		return EmailAllowlist{}, []*FieldError{fieldError(key, "%s", shape)}
	}
	var in struct {
		Mode   string          `json:"mode"`
		Values json.RawMessage `json:"values"`
	}
	if err := strictjson.Decode(raw, &in, strictjson.Options{}); err != nil {
		var se *strictjson.Error
		if errors.As(err, &se) && !se.Syntax && se.Path != "" {
			return EmailAllowlist{}, []*FieldError{fieldError(key+"."+se.Path, "%s.", se.Rule)}
		}
		return EmailAllowlist{}, []*FieldError{fieldError(key, "%s", shape)}
	}
	values := []string{}
	if in.Values != nil {
		if isNull(in.Values) || json.Unmarshal(in.Values, &values) != nil {
			return EmailAllowlist{}, []*FieldError{fieldError(key+".values", "must be an array of strings (empty for mode %q).", proto.AllowEveryone)}
		}
	}
	out := make([]string, len(values))
	for i, v := range values {
		if proto.AllowlistMode(in.Mode) == proto.AllowEmailDomain {
			if n, err := proto.NormalizeHost(v); err == nil {
				v = n
			}
		}
		out[i] = strings.ToLower(v)
	}
	a := proto.RemoteEmailAllowlist{Mode: proto.AllowlistMode(in.Mode), Values: out}
	var errs []*FieldError
	for _, fe := range proto.FieldErrors(a.Validate()) {
		errs = append(errs, fieldError(key+"."+fe.Field, "%s", fe.Message))
	}
	for i, v := range out {
		if j := slices.Index(out, v); j < i {
			errs = append(errs, fieldError(fmt.Sprintf("%s.values[%d]", key, i), "%q is already listed at values[%d]; list it once.", v, j))
		}
	}
	if len(errs) > 0 {
		return EmailAllowlist{}, errs
	}
	return EmailAllowlist{Mode: in.Mode, Values: out}, nil
}
