package sources

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

// Nullable is a PATCH field that may be cleared: Set false leaves it
// unchanged, Set with a nil Value clears it.
type Nullable struct {
	Set   bool
	Value *string
}

// Patch changes a source (PATCH /external-sources/{id}); a nil field is
// unchanged. Status is active or disabled.
type Patch struct {
	Name           *string
	URL            *string
	Transport      *string
	AuthType       *string
	AuthSecretName Nullable
	AuthHeaderName Nullable
	Status         *string
}

func (p Patch) empty() bool {
	return p.Name == nil && p.URL == nil && p.Transport == nil && p.AuthType == nil && !p.AuthSecretName.Set &&
		!p.AuthHeaderName.Set && p.Status == nil
}

// Update applies a PATCH (§8.2): the fields of create plus status.
//
// A change of url or of the auth settings resets discovery: the cached
// discovered tools, discovered_at and last_error are cleared, because they
// describe another server or another credential. The status stays what it
// is, except that error becomes active (the error was the old settings'):
// an active source stays active (the admin making the change is the
// approver), a pending_review one still waits for review, a disabled one
// stays disabled. A change of url or auth_type also forgets the OAuth
// client and tokens, which belong to the old server. Imported tools keep
// their versions; their approved manifests still name the old host, so
// they cannot reach a new one until a re-discovery's new versions are
// approved.
//
// When auth_type changes and the patch does not give them, the secret and
// header names are kept where the new type takes them and cleared where it
// does not. status disabled takes an active or error source out of use
// (its tools leave the catalog); active enables a disabled one (approving
// it, as the caller, when it was rejected rather than approved); a
// pending_review source is decided with Approve or Reject instead
// (*InvalidStateError). Changes of status, url or auth bump the catalog
// revision. A patch without fields is a *proto.RuleError.
func (s *Service) Update(ctx context.Context, a Audit, id uuid.UUID, p Patch) (Source, error) {
	if p.empty() {
		return Source{}, &proto.RuleError{Message: "No fields to update: pass at least one of name, url, transport, " +
			"auth_type, auth_secret_name, auth_header_name, status."}
	}
	if p.Status != nil {
		switch proto.SourceStatus(*p.Status) {
		case proto.SourceActive, proto.SourceDisabled:
		default:
			return Source{}, &proto.RuleError{Field: "status", Message: "must be active or disabled (pending_review sources are approved or rejected)."}
		}
	}
	var out Source
	err := s.d.Store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		old, server, err := lockSource(ctx, q, id)
		if err != nil {
			return err
		}
		next, err := patched(old, p)
		if err != nil {
			return err
		}
		if next.AuthSecretName != nil && !equalPtr(next.AuthSecretName, old.AuthSecretName) {
			if err := checkSecretExists(ctx, q, a, old.ServerID, server, next.AuthSecretName); err != nil {
				return err
			}
		}
		reset := next.Url != old.Url || next.AuthType != old.AuthType || !equalPtr(next.AuthSecretName, old.AuthSecretName) ||
			!equalPtr(next.AuthHeaderName, old.AuthHeaderName)
		if reset {
			next.DiscoveredTools, next.DiscoveredAt, next.LastError = nil, nil, nil
			if next.Status == string(proto.SourceError) {
				next.Status = string(proto.SourceActive)
			}
		}
		if err := applyStatus(&next, old, p.Status, a.Actor); err != nil {
			return err
		}
		changes := diff(old, next)
		if len(changes) == 0 {
			out, err = load(ctx, q, id)
			return err
		}
		if err := q.SetExternalSource(ctx, setParams(next)); err != nil {
			return mapConstraint(err, server, next.Name)
		}
		if next.Url != old.Url || next.AuthType != old.AuthType {
			if err := q.ClearExternalSourceOAuth(ctx, id); err != nil {
				return err
			}
		}
		if reset || next.Status != old.Status {
			if _, err := revision.Catalog(ctx, q); err != nil {
				return err
			}
		}
		if err := auditUpdate(ctx, q, a, old, next, server, changes); err != nil {
			return err
		}
		out, err = load(ctx, q, id)
		return err
	})
	if err != nil {
		return Source{}, wrap("update external source "+id.String(), err)
	}
	return out, nil
}

// patched returns the source row with the patch's settings applied and
// validated as a whole.
func patched(old dbq.ExternalMcpSource, p Patch) (dbq.ExternalMcpSource, error) {
	next := old
	var errs []error
	if p.Name != nil {
		if err := checkName(*p.Name); err != nil {
			errs = append(errs, err)
		}
		next.Name = *p.Name
	}
	if p.URL != nil {
		stored, _, err := checkURL(*p.URL)
		if err != nil {
			errs = append(errs, err)
		}
		next.Url = stored
	}
	if p.Transport != nil {
		t, err := checkTransport("transport", *p.Transport)
		if err != nil {
			errs = append(errs, err)
		}
		next.Transport = t
	}
	if p.AuthType != nil && *p.AuthType != old.AuthType {
		next.AuthType = *p.AuthType
		switch proto.SourceAuthType(next.AuthType) {
		case proto.AuthNone, proto.AuthOAuth:
			next.AuthSecretName, next.AuthHeaderName = nil, nil
		case proto.AuthBearer:
			next.AuthHeaderName = nil
		}
	}
	if p.AuthSecretName.Set {
		next.AuthSecretName = p.AuthSecretName.Value
	}
	if p.AuthHeaderName.Set {
		next.AuthHeaderName = p.AuthHeaderName.Value
	}
	var err error
	next.AuthSecretName, next.AuthHeaderName, err = checkAuth(next.AuthType, next.AuthSecretName, next.AuthHeaderName)
	errs = append(errs, err)
	return next, errors.Join(errs...)
}

// applyStatus applies a PATCH status to next. Enabling a source no admin
// approved yet (one rejected from pending_review) approves it as actor.
func applyStatus(next *dbq.ExternalMcpSource, old dbq.ExternalMcpSource, status *string, actor string) error {
	if status == nil {
		return nil
	}
	switch {
	case old.Status == string(proto.SourcePendingReview):
		return &InvalidStateError{Message: fmt.Sprintf(
			"External source '%s' is pending_review; approve or reject it instead of setting its status.", old.Name)}
	case *status == string(proto.SourceDisabled):
		next.Status = *status
	case old.Status == string(proto.SourceDisabled):
		next.Status, next.LastError = string(proto.SourceActive), nil
		if next.ApprovedBy == nil {
			next.ApprovedBy, next.ApprovedAt = &actor, ptr(now())
		}
	}
	// status active on an active or error source: already usable, nothing to do.
	return nil
}

// diff lists the changed settings as {field: {old, new}} for the audit row.
func diff(old, next dbq.ExternalMcpSource) map[string]any {
	out := map[string]any{}
	add := func(field string, o, n any, changed bool) {
		if changed {
			out[field] = map[string]any{"old": o, "new": n}
		}
	}
	add("name", old.Name, next.Name, old.Name != next.Name)
	add("url", old.Url, next.Url, old.Url != next.Url)
	add("transport", old.Transport, next.Transport, old.Transport != next.Transport)
	add("auth_type", old.AuthType, next.AuthType, old.AuthType != next.AuthType)
	add("auth_secret_name", old.AuthSecretName, next.AuthSecretName, !equalPtr(old.AuthSecretName, next.AuthSecretName))
	add("auth_header_name", old.AuthHeaderName, next.AuthHeaderName, !equalPtr(old.AuthHeaderName, next.AuthHeaderName))
	add("status", old.Status, next.Status, old.Status != next.Status)
	return out
}

// auditUpdate writes source.update, and source.disable or source.enable
// when the status changed that way.
func auditUpdate(ctx context.Context, q *dbq.Queries, a Audit, old, next dbq.ExternalMcpSource, server string,
	changes map[string]any,
) error {
	action, msg := "source.update", fmt.Sprintf("Updated external source '%s' of server '%s'.", next.Name, server)
	switch {
	case next.Status == string(proto.SourceDisabled) && old.Status != next.Status:
		action, msg = "source.disable", fmt.Sprintf("Disabled external source '%s' of server '%s'; its tools left the catalog.", next.Name, server)
	case old.Status == string(proto.SourceDisabled) && old.Status != next.Status:
		action, msg = "source.enable", fmt.Sprintf("Enabled external source '%s' of server '%s'.", next.Name, server)
	}
	return audit(ctx, q, a, action, old.ServerID, msg, map[string]any{"source_id": old.ID, "changes": changes})
}

func equalPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
