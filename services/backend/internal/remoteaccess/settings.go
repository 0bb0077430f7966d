package remoteaccess

import (
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

// auditUpdate is the audit action of a settings change (backend.md §14.1),
// the one the security policy writes too.
const auditUpdate = "settings.update"

var (
	// ErrNoSettings is a PATCH without any field: 400.
	ErrNoSettings = errors.New("remoteaccess: no settings given")
	// ErrVersionChanged is matched by a *VersionChangedError: 409
	// version_changed.
	ErrVersionChanged = errors.New("the settings changed")
)

// VersionChangedError is a change whose revision is not the current one;
// nothing was written.
type VersionChangedError struct {
	Seen, Current int64
}

// Error says what to do.
func (e *VersionChangedError) Error() string {
	return fmt.Sprintf("The settings are at revision %d, not at revision %d that you read; "+
		"reload the remote access settings and apply your change again.", e.Current, e.Seen)
}

// Is reports whether target is ErrVersionChanged.
func (e *VersionChangedError) Is(target error) bool { return target == ErrVersionChanged }

// Settings is the expected configuration of remote access (admin-ui.md
// §11.10). The edge does not read it; the UI and the self-check compare the
// deployment against it.
type Settings struct {
	// PublicURL is the edge's public base URL, "" when none is saved.
	PublicURL string
	// ExpectedIssuer is the identity provider's issuer, "" when none is
	// saved.
	ExpectedIssuer string
	// ExpectedAudience is the saved audience, else "<PublicURL>/mcp", else
	// "".
	ExpectedAudience string
	// Revision is the settings revision (revisions.policy, which every
	// settings change bumps, backend.md §6.6).
	Revision int64
}

// Change is a PATCH of the settings: a nil field is unchanged, "" clears
// the setting (back to its default), any other value replaces it.
type Change struct {
	PublicURL, ExpectedIssuer, ExpectedAudience *string
	// Revision, when set, is the revision the admin read: another current
	// revision refuses the change with a *VersionChangedError.
	Revision *int64
}

// settingKeys returns the three settings keys, in the order changes are
// reported.
func settingKeys() []proto.SettingKey {
	return []proto.SettingKey{proto.SettingRemotePublicURL, proto.SettingRemoteExpectedIssuer, proto.SettingRemoteExpectedAudience}
}

// stored is the raw value of each key, "" when absent.
type stored map[proto.SettingKey]string

// settings fills the defaults.
func (v stored) settings(rev int64) Settings {
	s := Settings{
		PublicURL: v[proto.SettingRemotePublicURL], ExpectedIssuer: v[proto.SettingRemoteExpectedIssuer],
		ExpectedAudience: v[proto.SettingRemoteExpectedAudience], Revision: rev,
	}
	if s.ExpectedAudience == "" && s.PublicURL != "" {
		s.ExpectedAudience = s.PublicURL + proto.PathMCP
	}
	return s
}

// Get returns the settings and their revision, read in one snapshot.
func (s *Service) Get(ctx context.Context) (Settings, error) {
	var out Settings
	err := s.d.Store.InSnapshot(ctx, func(q *dbq.Queries) error {
		r, err := q.GetRevisions(ctx)
		if err != nil {
			return fmt.Errorf("remoteaccess: read the revision: %w", err)
		}
		v, err := readStored(ctx, q)
		if err != nil {
			return err
		}
		out = v.settings(r.Policy)
		return nil
	})
	return out, err
}

// readStored reads the three settings; a value that is not a JSON string
// (written by hand) counts as absent.
func readStored(ctx context.Context, q *dbq.Queries) (stored, error) {
	v := stored{}
	for _, key := range settingKeys() {
		row, err := q.GetSetting(ctx, string(key))
		switch {
		case errors.Is(err, db.ErrNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("remoteaccess: read %s: %w", key, err)
		}
		var str string
		if json.Unmarshal(row.Value, &str) == nil {
			v[key] = str
		}
	}
	return v, nil
}

// check validates a change: every failure is a *proto.RuleError naming its
// field, joined in field order. It returns the values to store (the public
// URL normalised).
func (c Change) check() (map[proto.SettingKey]*string, error) {
	if c.PublicURL == nil && c.ExpectedIssuer == nil && c.ExpectedAudience == nil {
		return nil, ErrNoSettings
	}
	next := map[proto.SettingKey]*string{}
	var errs []error
	if c.PublicURL != nil {
		v := *c.PublicURL
		if v != "" {
			norm, err := CheckPublicURL(v)
			errs = append(errs, err)
			v = norm
		}
		next[proto.SettingRemotePublicURL] = &v
	}
	if c.ExpectedIssuer != nil {
		if *c.ExpectedIssuer != "" {
			errs = append(errs, checkIssuer(*c.ExpectedIssuer))
		}
		next[proto.SettingRemoteExpectedIssuer] = c.ExpectedIssuer
	}
	if c.ExpectedAudience != nil {
		if *c.ExpectedAudience != "" {
			errs = append(errs, checkAudience(*c.ExpectedAudience))
		}
		next[proto.SettingRemoteExpectedAudience] = c.ExpectedAudience
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return next, nil
}

// Patch applies a change in one transaction, like every settings change
// (backend.md §6.6): it takes the revisions row lock, checks the revision
// the admin read, writes or deletes the changed rows, bumps the revision
// once and writes one settings.update audit row {changes: {key: {old,
// new}}}. A change that changes no value writes nothing. Errors:
// ErrNoSettings, a *proto.RuleError per bad field, *VersionChangedError.
func (s *Service) Patch(ctx context.Context, actor, requestID string, c Change) (Settings, error) {
	next, err := c.check()
	if err != nil {
		return Settings{}, err
	}
	var out Settings
	err = s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		current, err := q.LockPolicyRevision(ctx)
		if err != nil {
			return fmt.Errorf("remoteaccess: lock the revision: %w", err)
		}
		if c.Revision != nil && *c.Revision != current {
			return &VersionChangedError{Seen: *c.Revision, Current: current}
		}
		old, err := readStored(ctx, q)
		if err != nil {
			return err
		}
		now := stored{}
		changes := map[string]any{}
		var changed []string
		for _, key := range settingKeys() {
			now[key] = old[key]
			v, ok := next[key]
			if !ok || *v == old[key] {
				continue
			}
			if err := store(ctx, q, key, *v, actor); err != nil {
				return err
			}
			now[key] = *v
			changes[string(key)] = map[string]json.RawMessage{"old": jsonOrNull(old[key]), "new": jsonOrNull(*v)}
			changed = append(changed, string(key))
		}
		if len(changed) == 0 {
			out = now.settings(current)
			return nil
		}
		rev, err := revision.Policy(ctx, q)
		if err != nil {
			return err
		}
		out = now.settings(rev)
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Audit, Action: auditUpdate, Actor: actor, RequestID: requestID,
			Message: fmt.Sprintf("Remote access settings changed: %s (revision %d).", strings.Join(changed, ", "), rev),
			Details: map[string]any{"changes": changes},
		})
	})
	if err != nil {
		return Settings{}, err
	}
	return out, nil
}

// store writes one setting, or deletes it when value is "".
func store(ctx context.Context, q *dbq.Queries, key proto.SettingKey, value, actor string) error {
	if value == "" {
		if _, err := q.DeleteSetting(ctx, string(key)); err != nil {
			return fmt.Errorf("remoteaccess: clear %s: %w", key, err)
		}
		return nil
	}
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("remoteaccess: encode %s: %w", key, err)
	}
	if _, err := q.UpsertSetting(ctx, dbq.UpsertSettingParams{Key: string(key), Value: raw, UpdatedBy: actor}); err != nil {
		return fmt.Errorf("remoteaccess: store %s: %w", key, err)
	}
	return nil
}

// jsonOrNull is v as a JSON string, or null for "".
func jsonOrNull(v string) json.RawMessage {
	if v == "" {
		return json.RawMessage("null")
	}
	raw, _ := json.Marshal(v)
	return raw
}
