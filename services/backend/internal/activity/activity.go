// Package activity writes the activity and audit log (backend.md §14.1):
// one row per event, inside the caller's transaction, and a NOTIFY on
// mcpbox_activity with its seq so that every replica's live streams see it
// once the transaction commits.
package activity

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbq"
)

// Categories of activity rows.
const (
	Audit    = "audit"
	Security = "security"
	System   = "system"
	Error    = "error"
)

// Levels of activity rows.
const (
	Info    = "info"
	Warning = "warning"
)

// Entry is one activity row. Details must marshal to a JSON object; it never
// holds a secret value, a password or a token.
type Entry struct {
	Category  string
	Action    string // <object>.<verb>, e.g. auth.login_failed
	Level     string // Info when empty
	Actor     string // an actor string of backend.md §2; "system" when empty
	Message   string
	ServerID  *uuid.UUID
	ToolID    *uuid.UUID
	RequestID string
	Details   map[string]any
}

// Write inserts e and notifies the streams, in q's transaction.
func Write(ctx context.Context, q *dbq.Queries, e Entry) error {
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return fmt.Errorf("activity %s: details: %w", e.Action, err)
		}
	}
	var requestID *string
	if e.RequestID != "" {
		requestID = &e.RequestID
	}
	row, err := q.InsertActivity(ctx, dbq.InsertActivityParams{
		Category: e.Category, Action: e.Action, Level: cmpOr(e.Level, Info), Actor: cmpOr(e.Actor, "system"),
		Message: e.Message, ServerID: e.ServerID, ToolID: e.ToolID, RequestID: requestID, Details: details,
	})
	if err != nil {
		return fmt.Errorf("activity %s: %w", e.Action, err)
	}
	if err := q.NotifyActivity(ctx, row.Seq); err != nil {
		return fmt.Errorf("activity %s: notify: %w", e.Action, err)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
