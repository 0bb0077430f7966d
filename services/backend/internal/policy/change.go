package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

// auditAction is the audit action of every settings change (§14.1).
const auditAction = "settings.update"

// PatchResult is the outcome of a change: the policy after it and its
// revision (unchanged when no value changed).
type PatchResult struct {
	Policy   Policy
	Revision int64
	// Changed lists the keys whose value changed, in the order of Keys;
	// empty when the change set every key to the value it had.
	Changed []string
	// KeptPolicyApprovals is set when network_access_policy or
	// package_approval_mode went back to its restrictive value.
	KeptPolicyApprovals *KeptApprovals
}

// KeptApprovals counts the requests approved automatically by the policy
// (reviewed_by = 'policy') that stay approved after network_access_policy
// went back to approved_hosts_only or package_approval_mode to
// require_approval (§6.6). A count is present only for the setting that
// went back.
type KeptApprovals struct {
	NetworkRequests *int64 `json:"network_requests,omitempty"`
	PackageRequests *int64 `json:"package_requests,omitempty"`
	// Message says so, for the admin.
	Message string `json:"message"`
}

// Patch changes the settings in patch (key → JSON value); a key absent from
// patch is unchanged. Every key and value is checked first: an unknown key
// or a value that breaks its rule is a *FieldError (several are joined, see
// FieldErrors), an empty patch ErrNoSettings. When seenRevision is set and
// the policy is at another revision, the error is a *VersionChangedError
// and nothing is written. A patch that changes no value writes nothing and
// returns the current policy and revision.
func (s *Service) Patch(ctx context.Context, actor, requestID string, patch map[string]json.RawMessage, seenRevision *int64) (PatchResult, error) {
	if len(patch) == 0 {
		return PatchResult{}, ErrNoSettings
	}
	if err := check(patch); err != nil {
		return PatchResult{}, err
	}
	return s.change(ctx, change{actor: actor, requestID: requestID, patch: patch, seen: seenRevision})
}

// Profiles returns the names of the profiles of §6.6.
func Profiles() []string { return []string{"strict", "balanced", "permissive"} }

// profileSettings returns the five settings a profile sets, or false.
func profileSettings(profile string) (map[proto.SettingKey]string, bool) {
	p := map[proto.SettingKey]string{
		proto.SettingRemoteToolEditing:     string(proto.ToggleDisabled),
		proto.SettingRedactSecretsInOutput: string(proto.ToggleEnabled),
	}
	switch profile {
	case "strict":
		p[proto.SettingToolApprovalMode] = string(proto.ApprovalRequired)
		p[proto.SettingNetworkAccessPolicy] = string(proto.NetworkApprovedHostsOnly)
		p[proto.SettingPackageApprovalMode] = string(proto.ApprovalRequired)
	case "balanced":
		p[proto.SettingToolApprovalMode] = string(proto.ApprovalAuto)
		p[proto.SettingNetworkAccessPolicy] = string(proto.NetworkApprovedHostsOnly)
		p[proto.SettingPackageApprovalMode] = string(proto.ApprovalAuto)
	case "permissive":
		p[proto.SettingToolApprovalMode] = string(proto.ApprovalAuto)
		p[proto.SettingNetworkAccessPolicy] = string(proto.NetworkAllowAllPublic)
		p[proto.SettingPackageApprovalMode] = string(proto.ApprovalAuto)
		p[proto.SettingRemoteToolEditing] = string(proto.ToggleEnabled)
	default:
		return nil, false
	}
	return p, true
}

// ApplyProfile sets the five settings of a profile (tool_approval_mode,
// network_access_policy, package_approval_mode, remote_tool_editing,
// redact_secrets_in_output) and nothing else, as one change like Patch. An
// unknown profile is a *FieldError on "profile".
func (s *Service) ApplyProfile(ctx context.Context, actor, requestID, profile string) (PatchResult, error) {
	settings, ok := profileSettings(profile)
	if !ok {
		return PatchResult{}, fieldError("profile", "must be one of %s.", strings.Join(Profiles(), ", "))
	}
	patch := make(map[string]json.RawMessage, len(settings))
	for k, v := range settings {
		raw, err := json.Marshal(v)
		if err != nil {
			return PatchResult{}, fmt.Errorf("policy: profile %s: %w", profile, err)
		}
		patch[string(k)] = raw
	}
	return s.change(ctx, change{actor: actor, requestID: requestID, patch: patch, profile: profile})
}

// change is one checked settings change.
type change struct {
	actor, requestID string
	patch            map[string]json.RawMessage
	seen             *int64
	profile          string // set by ApplyProfile
}

// change runs c in one transaction: it locks the revisions row (so the
// revision check and the bump see no other change in between), writes the
// changed rows, bumps the policy revision once (NOTIFY mcpbox_policy) and
// writes one audit row.
func (s *Service) change(ctx context.Context, c change) (PatchResult, error) {
	var res PatchResult
	err := s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		res = PatchResult{}
		current, err := q.LockPolicyRevision(ctx)
		if err != nil {
			return fmt.Errorf("policy: lock the revision: %w", err)
		}
		if c.seen != nil && *c.seen != current {
			return &VersionChangedError{Seen: *c.seen, Current: current}
		}
		rows, err := q.ListSettings(ctx)
		if err != nil {
			return fmt.Errorf("policy: read the settings: %w", err)
		}
		old := fromRows(rows)
		next := old
		changes := map[string]any{}
		for _, key := range Keys() {
			raw, ok := c.patch[key]
			if !ok {
				continue
			}
			if errs := next.set(key, raw); len(errs) > 0 {
				return errs[0] // checked before the transaction
			}
			before, after := old.value(key), next.value(key)
			if bytes.Equal(before, after) {
				continue
			}
			if _, err := q.UpsertSetting(ctx, dbq.UpsertSettingParams{Key: key, Value: after, UpdatedBy: c.actor}); err != nil {
				return fmt.Errorf("policy: store %s: %w", key, err)
			}
			changes[key] = map[string]json.RawMessage{"old": before, "new": after}
			res.Changed = append(res.Changed, key)
		}
		res.Policy, res.Revision = next, current
		if len(res.Changed) == 0 {
			return nil
		}
		if res.Revision, err = revision.Policy(ctx, q); err != nil {
			return err
		}
		if res.KeptPolicyApprovals, err = keptApprovals(ctx, q, old, next); err != nil {
			return err
		}
		details := map[string]any{"changes": changes}
		msg := fmt.Sprintf("Security policy changed: %s (revision %d).", strings.Join(res.Changed, ", "), res.Revision)
		if c.profile != "" {
			details["profile"] = c.profile
			msg = fmt.Sprintf("Security profile %s applied: %s changed (revision %d).", c.profile, strings.Join(res.Changed, ", "), res.Revision)
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: auditAction, Actor: c.actor,
			Message: msg, RequestID: c.requestID, Details: details,
		})
	})
	if err != nil {
		return PatchResult{}, err
	}
	return res, nil
}

// keptApprovals counts the policy approvals that stay when a setting went
// back to its restrictive value; nil when none did.
func keptApprovals(ctx context.Context, q *dbq.Queries, old, next Policy) (*KeptApprovals, error) {
	var k KeptApprovals
	var parts []string
	if old.NetworkAccessPolicy == string(proto.NetworkAllowAllPublic) && next.NetworkAccessPolicy == string(proto.NetworkApprovedHostsOnly) {
		n, err := q.CountPolicyApprovedNetworkRequests(ctx)
		if err != nil {
			return nil, fmt.Errorf("policy: count network approvals: %w", err)
		}
		k.NetworkRequests = &n
		parts = append(parts, plural(n, "network request"))
	}
	if old.PackageApprovalMode == string(proto.ApprovalAuto) && next.PackageApprovalMode == string(proto.ApprovalRequired) {
		n, err := q.CountPolicyApprovedPackageRequests(ctx)
		if err != nil {
			return nil, fmt.Errorf("policy: count package approvals: %w", err)
		}
		k.PackageRequests = &n
		parts = append(parts, plural(n, "package request"))
	}
	if len(parts) == 0 {
		return nil, nil //nolint:nilnil // no setting went back: nothing to report
	}
	k.Message = fmt.Sprintf("%s approved automatically by the previous policy stay approved; "+
		"revoke the ones you no longer want under Approvals.", strings.Join(parts, " and "))
	return &k, nil
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// CompleteOnboarding records that the first-run onboarding is done (the
// setting onboarding_completed, JSON true, read by GET /auth/status). It is
// idempotent: once set, a call writes nothing, not even an audit row.
func (s *Service) CompleteOnboarding(ctx context.Context, actor, requestID string) error {
	const key = string(proto.SettingOnboardingCompleted)
	return s.store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		// The revisions row lock serialises settings changes, so two first
		// calls at once write one audit row.
		if _, err := q.LockPolicyRevision(ctx); err != nil {
			return fmt.Errorf("policy: lock the revision: %w", err)
		}
		old := json.RawMessage("false")
		row, err := q.GetSetting(ctx, key)
		switch {
		case err == nil && string(row.Value) == "true":
			return nil
		case err == nil:
			old = row.Value
		case !errors.Is(err, db.ErrNotFound):
			return fmt.Errorf("policy: read %s: %w", key, err)
		}
		if _, err := q.UpsertSetting(ctx, dbq.UpsertSettingParams{Key: key, Value: []byte("true"), UpdatedBy: actor}); err != nil {
			return fmt.Errorf("policy: store %s: %w", key, err)
		}
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: auditAction, Actor: actor,
			Message: "Onboarding completed.", RequestID: requestID,
			Details: map[string]any{"changes": map[string]any{key: map[string]json.RawMessage{"old": old, "new": json.RawMessage("true")}}},
		})
	})
}
