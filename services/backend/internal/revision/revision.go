// Package revision bumps the catalog and policy revisions and notifies every
// replica (backend.md §9.2): the bump takes the revisions row lock, so
// revisions are strictly ordered, and the NOTIFY is delivered when the
// caller's transaction commits. Every catalog- or policy-changing
// transaction calls it exactly once.
package revision

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
)

// The NOTIFY channels of backend.md §9.2.
//
//nolint:gosec // G101: channel names, not credentials
const (
	ChannelCatalog  = "mcpbox_catalog"
	ChannelPolicy   = "mcpbox_policy"
	ChannelSecrets  = "mcpbox_secrets"
	ChannelActivity = "mcpbox_activity"
	// ChannelExecutions carries one notification per ingested batch of
	// execution records (§9.6), for the activity stream.
	ChannelExecutions = "mcpbox_executions"
)

// Catalog bumps revisions.catalog and notifies mcpbox_catalog with
// {"revision": N}; it returns N.
func Catalog(ctx context.Context, q *dbq.Queries) (int64, error) {
	n, err := q.BumpCatalogRevision(ctx)
	if err != nil {
		return 0, fmt.Errorf("bump the catalog revision: %w", err)
	}
	return n, notify(ctx, q, ChannelCatalog, map[string]any{"revision": n})
}

// Policy bumps revisions.policy and notifies mcpbox_policy with
// {"revision": N}; it returns N.
func Policy(ctx context.Context, q *dbq.Queries) (int64, error) {
	n, err := q.BumpPolicyRevision(ctx)
	if err != nil {
		return 0, fmt.Errorf("bump the policy revision: %w", err)
	}
	return n, notify(ctx, q, ChannelPolicy, map[string]any{"revision": n})
}

// Secrets notifies mcpbox_secrets that a server's secrets changed, with
// {"server_id": "<uuid>"} (no revision: the gateway refetches plans).
func Secrets(ctx context.Context, q *dbq.Queries, serverID uuid.UUID) error {
	return notify(ctx, q, ChannelSecrets, map[string]any{"server_id": serverID.String()})
}

func notify(ctx context.Context, q *dbq.Queries, channel string, payload map[string]any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	if err := q.Notify(ctx, dbq.NotifyParams{Channel: channel, Payload: string(raw)}); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}
