package revision_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/services/backend/internal/revision"
)

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return ""
	}
}

// Each bump raises its revision by one and notifies its channel after
// commit; a rolled-back bump neither changes nor notifies.
func TestBumpsNotifyAfterCommit(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	ctx := context.Background()
	store, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	catalog := dbtest.Listen(t, url, revision.ChannelCatalog)
	policy := dbtest.Listen(t, url, revision.ChannelPolicy)
	secrets := dbtest.Listen(t, url, revision.ChannelSecrets)
	server := uuid.New()
	err = store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		if n, err := revision.Catalog(ctx, q); err != nil || n != 1 {
			t.Errorf("catalog revision %d, %v", n, err)
		}
		if n, err := revision.Policy(ctx, q); err != nil || n != 1 {
			t.Errorf("policy revision %d, %v", n, err)
		}
		return revision.Secrets(ctx, q, server)
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := next(t, catalog); p != `{"revision":1}` {
		t.Errorf("catalog payload %s", p)
	}
	if p := next(t, policy); p != `{"revision":1}` {
		t.Errorf("policy payload %s", p)
	}
	if p := next(t, secrets); p != `{"server_id":"`+server.String()+`"}` {
		t.Errorf("secrets payload %s", p)
	}
	errRollback := store.InTx(ctx, db.ReadCommitted, func(q *dbq.Queries) error {
		if _, err := revision.Catalog(ctx, q); err != nil {
			return err
		}
		return context.Canceled
	})
	if errRollback == nil {
		t.Fatal("rollback expected")
	}
	rev, err := store.GetRevisions(ctx)
	if err != nil || rev.Catalog != 1 {
		t.Fatalf("catalog after rollback %d, %v", rev.Catalog, err)
	}
	select {
	case p := <-catalog:
		t.Fatalf("rolled-back bump notified %s", p)
	case <-time.After(200 * time.Millisecond):
	}
}
