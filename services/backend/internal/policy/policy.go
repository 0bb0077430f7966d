// Package policy is the security policy of backend.md §6.6: the eight
// settings that govern approvals, network and package access, remote
// editing, redaction, retention, the gateway's rate limit and the remote
// email allowlist.
//
// A setting without a row in the settings table has its default (the most
// restrictive value of every enumeration, 30 days, 120 calls/min, no remote
// user). Every change is one transaction that writes the rows, bumps
// revisions.policy once, NOTIFYs mcpbox_policy (package revision) and writes
// one settings.update audit row with the old and new values (§14.1). The
// admin API (§8.2) changes it through Patch and ApplyProfile; the gateway
// reads it through Current (§9.7).
package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
)

// Policy is the security policy: every setting at its stored value or its
// default. The JSON names are the settings keys of backend.md §6.6.
type Policy struct {
	RemoteToolEditing     string         `json:"remote_tool_editing"`
	ToolApprovalMode      string         `json:"tool_approval_mode"`
	NetworkAccessPolicy   string         `json:"network_access_policy"`
	PackageApprovalMode   string         `json:"package_approval_mode"`
	RedactSecretsInOutput string         `json:"redact_secrets_in_output"`
	LogRetentionDays      int            `json:"log_retention_days"`
	MCPRateLimitRPM       int            `json:"mcp_rate_limit_rpm"`
	RemoteEmailAllowlist  EmailAllowlist `json:"remote_email_allowlist"`
}

// EmailAllowlist is remote_email_allowlist: which remote callers may use
// MCPbox. Mode is everyone, emails or email_domain; Values are lowercased
// addresses (emails), lowercased domains (email_domain) or empty
// (everyone), never nil.
type EmailAllowlist struct {
	Mode   string   `json:"mode"`
	Values []string `json:"values"`
}

// Defaults returns the policy of an installation without settings rows:
// disabled, require_approval, approved_hosts_only, require_approval,
// enabled, 30, 120 and {mode: "emails", values: []}.
func Defaults() Policy {
	d := proto.DefaultPolicy()
	return Policy{
		RemoteToolEditing:     string(d.RemoteToolEditing),
		ToolApprovalMode:      string(d.ToolApprovalMode),
		NetworkAccessPolicy:   string(d.NetworkAccessPolicy),
		PackageApprovalMode:   string(d.PackageApprovalMode),
		RedactSecretsInOutput: string(d.RedactSecretsInOutput),
		LogRetentionDays:      d.LogRetentionDays,
		MCPRateLimitRPM:       d.MCPRateLimitRPM,
		RemoteEmailAllowlist:  EmailAllowlist{Mode: string(d.RemoteEmailAllowlist.Mode), Values: []string{}},
	}
}

// Proto returns the policy as the body of GET /internal/v1/policy (§9.7),
// with its revision.
func (p Policy) Proto(revision int64) proto.Policy {
	return proto.Policy{
		Revision:              revision,
		RemoteToolEditing:     proto.Toggle(p.RemoteToolEditing),
		ToolApprovalMode:      proto.ApprovalMode(p.ToolApprovalMode),
		NetworkAccessPolicy:   proto.NetworkAccessPolicy(p.NetworkAccessPolicy),
		PackageApprovalMode:   proto.ApprovalMode(p.PackageApprovalMode),
		RedactSecretsInOutput: proto.Toggle(p.RedactSecretsInOutput),
		LogRetentionDays:      p.LogRetentionDays,
		MCPRateLimitRPM:       p.MCPRateLimitRPM,
		RemoteEmailAllowlist: proto.RemoteEmailAllowlist{
			Mode:   proto.AllowlistMode(p.RemoteEmailAllowlist.Mode),
			Values: append([]string{}, p.RemoteEmailAllowlist.Values...),
		},
	}
}

// Keys returns the eight settings keys in the order of §6.6's table.
func Keys() []string {
	keys := proto.PolicySettingKeys()
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = string(k)
	}
	return out
}

// isKey reports whether key is one of the eight settings keys.
func isKey(key string) bool { return slices.Contains(Keys(), key) }

// Service reads and changes the security policy.
type Service struct{ store *db.Store }

// New returns the service.
func New(store *db.Store) *Service { return &Service{store: store} }

// Get returns the policy with its defaults filled and the policy revision,
// read in one snapshot.
func (s *Service) Get(ctx context.Context) (Policy, int64, error) {
	var p Policy
	var rev int64
	err := s.store.InSnapshot(ctx, func(q *dbq.Queries) error {
		r, err := q.GetRevisions(ctx)
		if err != nil {
			return fmt.Errorf("policy: read the revision: %w", err)
		}
		rows, err := q.ListSettings(ctx)
		if err != nil {
			return fmt.Errorf("policy: read the settings: %w", err)
		}
		p, rev = fromRows(rows), r.Policy
		return nil
	})
	if err != nil {
		return Policy{}, 0, err
	}
	return p, rev, nil
}

// Current is Get under the name the internal API uses: the policy the
// gateway enforces and its revision (GET /internal/v1/policy, §9.7).
func (s *Service) Current(ctx context.Context) (Policy, int64, error) { return s.Get(ctx) }

// fromRows lays the stored policy settings over the defaults. A stored value
// that breaks its rule (written by hand or by an older release) leaves the
// setting at its default, the most restrictive value, and is replaced by the
// next change of that setting.
func fromRows(rows []dbq.Setting) Policy {
	p := Defaults()
	for _, row := range rows {
		if !isKey(row.Key) {
			continue
		}
		next := p
		if errs := next.set(row.Key, row.Value); len(errs) == 0 {
			p = next
		}
	}
	return p
}

// value returns the canonical JSON of the setting key: what is stored and
// what the audit log shows as old and new.
func (p Policy) value(key string) json.RawMessage {
	var v any
	switch key {
	case string(proto.SettingRemoteToolEditing):
		v = p.RemoteToolEditing
	case string(proto.SettingToolApprovalMode):
		v = p.ToolApprovalMode
	case string(proto.SettingNetworkAccessPolicy):
		v = p.NetworkAccessPolicy
	case string(proto.SettingPackageApprovalMode):
		v = p.PackageApprovalMode
	case string(proto.SettingRedactSecretsInOutput):
		v = p.RedactSecretsInOutput
	case string(proto.SettingLogRetentionDays):
		v = p.LogRetentionDays
	case string(proto.SettingMCPRateLimitRPM):
		v = p.MCPRateLimitRPM
	case string(proto.SettingRemoteEmailAllowlist):
		a := p.RemoteEmailAllowlist
		if a.Values == nil {
			a.Values = []string{}
		}
		v = a
	default:
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		// Strings, ints and a struct of strings always marshal.
		panic(fmt.Sprintf("policy: marshal %s: %v", key, err))
	}
	return raw
}
