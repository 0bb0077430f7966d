package activity_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
)

// A written row is in the log with its defaults, and a listener on
// mcpbox_activity receives its seq when the transaction commits.
func TestWriteInsertsAndNotifies(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	ctx := context.Background()
	store, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	notes := dbtest.Listen(t, url, "mcpbox_activity")
	err = store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		return activity.Write(ctx, q, activity.Entry{
			Category: activity.Security, Action: "auth.login_failed", Level: activity.Warning,
			Message: "Failed login for admin.", RequestID: "req-1", Details: map[string]any{"ip": "203.0.113.7"},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var payload string
	select {
	case payload = <-notes:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	var actor, category, details string
	var seq int64
	dbtest.QueryRow(t, url, "SELECT seq, actor, category, details::text FROM activity_log WHERE action = 'auth.login_failed'",
		[]any{&seq, &actor, &category, &details})
	if payload != `{"seq" : `+strconv.FormatInt(seq, 10)+`}` {
		t.Errorf("payload %q for seq %d", payload, seq)
	}
	if actor != "system" || category != "security" || details != `{"ip": "203.0.113.7"}` {
		t.Errorf("row: actor %q category %q details %s", actor, category, details)
	}
}
