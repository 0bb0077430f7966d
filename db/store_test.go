package db_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbq"
	"github.com/mcpbox/mcpbox/db/dbtest"
)

const (
	hashA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	// insertTool creates a server, a go tool and its version 1 in one
	// implicit transaction (the tools → tool_versions foreign keys are deferred).
	insertTool = `
INSERT INTO servers (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'weather');
INSERT INTO tools (id, server_id, name) VALUES
  ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'forecast');
INSERT INTO tool_versions (tool_id, version, code, manifest, hash) VALUES
  ('00000000-0000-4000-8000-000000000002', 1, 'package tool', '{}', '` + hashA + `');`
	toolID = "00000000-0000-4000-8000-000000000002"
)

func TestStore_RevisionsAndSettings(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()

	rev, err := st.GetRevisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Catalog != 0 || rev.Policy != 0 {
		t.Errorf("initial revisions = %+v, want 0, 0 (row inserted by the first migration)", rev)
	}
	for want := int64(1); want <= 2; want++ {
		if got, err := st.BumpCatalogRevision(ctx); err != nil || got != want {
			t.Errorf("BumpCatalogRevision = %d, %v; want %d", got, err, want)
		}
	}
	if got, err := st.BumpPolicyRevision(ctx); err != nil || got != 1 {
		t.Errorf("BumpPolicyRevision = %d, %v; want 1", got, err)
	}

	if _, err := st.GetSetting(ctx, "remote_tool_editing"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("GetSetting of an absent key = %v, want db.ErrNotFound", err)
	}
	first, err := st.UpsertSetting(ctx, dbq.UpsertSettingParams{
		Key: "remote_tool_editing", Value: []byte(`"enabled"`), UpdatedBy: "admin:alice",
	})
	if err != nil {
		t.Fatal(err)
	}
	second, err := st.UpsertSetting(ctx, dbq.UpsertSettingParams{
		Key: "remote_tool_editing", Value: []byte(`"disabled"`), UpdatedBy: "llm:local",
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(second.Value) != `"disabled"` || second.UpdatedBy != "llm:local" || !second.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("after the second upsert: %+v (first %+v); want the new value, actor and a later updated_at", second, first)
	}
	if _, err := st.UpsertSetting(ctx, dbq.UpsertSettingParams{
		Key: "log_retention_days", Value: []byte(`30`), UpdatedBy: "system",
	}); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range list {
		keys = append(keys, s.Key)
	}
	if diff := cmp.Diff([]string{"log_retention_days", "remote_tool_editing"}, keys); diff != "" {
		t.Errorf("ListSettings keys mismatch (-want +got):\n%s", diff)
	}
	if n, err := st.DeleteSetting(ctx, "remote_tool_editing"); err != nil || n != 1 {
		t.Errorf("DeleteSetting = %d, %v; want 1", n, err)
	}
	if floor, err := st.GetSchemaFloor(ctx); err != nil || floor != 0 {
		t.Errorf("GetSchemaFloor = %d, %v; want 0", floor, err)
	}
}

// TestStore_ErrorMapping: callers see db errors carrying the constraint name,
// never pgx's, whichever path (Exec, QueryRow, Query) the statement took.
func TestStore_ErrorMapping(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	if err := db.ExecForTest(ctx, st, insertTool); err != nil {
		t.Fatal(err)
	}
	serverID := "00000000-0000-4000-8000-000000000001"

	tests := []struct {
		name       string
		run        func() error
		sentinel   error
		constraint string
	}{
		{"no rows", func() error { _, err := st.GetSetting(ctx, "tool_approval_mode"); return err }, db.ErrNotFound, ""},
		{"unique via Exec", func() error {
			return db.ExecForTest(ctx, st, "INSERT INTO servers (name) VALUES ('weather')")
		}, db.ErrConflict, "servers_name_key"},
		{"unique expression index", func() error {
			return db.ExecForTest(ctx, st, `INSERT INTO admin_users (username, password_hash) VALUES
				('Alice', 'x'), ('alice', 'y')`)
		}, db.ErrConflict, "admin_users_username_key"},
		{"unique partial index via Query", func() error {
			return db.QueryForTest(ctx, st, `INSERT INTO network_requests (server_id, host, status) VALUES
				($1, 'api.example.com', 'approved'), ($1, 'api.example.com', 'approved') RETURNING id`, serverID)
		}, db.ErrConflict, "network_requests_approved_key"},
		{"unique via QueryRow", func() error {
			var id string
			return db.ScanForTest(ctx, st, "INSERT INTO servers (name) VALUES ('weather') RETURNING id::text", nil, &id)
		}, db.ErrConflict, "servers_name_key"},
		{"check via sqlc", func() error {
			_, err := st.UpsertSetting(ctx, dbq.UpsertSettingParams{Key: "no_such_key", Value: []byte(`1`), UpdatedBy: "system"})
			return err
		}, db.ErrCheckViolation, "settings_key_check"},
		{"check: server name rule", func() error {
			return db.ExecForTest(ctx, st, "INSERT INTO servers (name) VALUES ('mcpbox_core')")
		}, db.ErrCheckViolation, "servers_name_check"},
		{"check: disabled_by iff not enabled", func() error {
			return db.ExecForTest(ctx, st, "UPDATE tools SET enabled = false WHERE id = $1", toolID)
		}, db.ErrCheckViolation, "tools_disabled_by_enabled_check"},
		{"check: approved columns all or none", func() error {
			return db.ExecForTest(ctx, st, "UPDATE tools SET approved_version = 1 WHERE id = $1", toolID)
		}, db.ErrCheckViolation, "tools_approved_check"},
		{"foreign key", func() error {
			return db.ExecForTest(ctx, st,
				"INSERT INTO tools (server_id, name) VALUES ('00000000-0000-4000-8000-0000000000ff', 'orphan')")
		}, db.ErrForeignKeyViolation, "tools_server_id_fkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.run()
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error = %v, want errors.Is %v", err, tt.sentinel)
			}
			if got := constraintOf(err); got != tt.constraint {
				t.Errorf("constraint = %q, want %q (error %v)", got, tt.constraint, err)
			}
		})
	}
}

// constraintOf returns the constraint named by a mapped error.
func constraintOf(err error) string {
	var (
		ce *db.ConflictError
		ke *db.CheckError
		fe *db.ForeignKeyError
	)
	switch {
	case errors.As(err, &ce):
		return ce.Constraint
	case errors.As(err, &ke):
		return ke.Constraint
	case errors.As(err, &fe):
		return fe.Constraint
	}
	return ""
}

// TestStore_TouchUpdatedAt: the BEFORE UPDATE trigger sets updated_at on every
// table that has it, even when the UPDATE tries to set it.
func TestStore_TouchUpdatedAt(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	if err := db.ExecForTest(ctx, st, insertTool); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := db.ExecForTest(ctx, st, `INSERT INTO admin_users (username, password_hash, updated_at)
		VALUES ('alice', 'x', $1)`, old); err != nil {
		t.Fatal(err)
	}
	if err := db.ExecForTest(ctx, st, `UPDATE admin_users SET is_active = false, updated_at = $1`, old); err != nil {
		t.Fatal(err)
	}
	var updated time.Time
	if err := db.ScanForTest(ctx, st, "SELECT updated_at FROM admin_users", nil, &updated); err != nil {
		t.Fatal(err)
	}
	if time.Since(updated) > time.Hour {
		t.Errorf("updated_at = %v after an UPDATE, want about now", updated)
	}

	// Every table with updated_at has the trigger.
	var missing []string
	err := db.ScanForTest(ctx, st, `
SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}')
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
   AND NOT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                    WHERE t.tgrelid = c.oid AND p.proname = 'mcpbox_touch_updated_at'
                      AND t.tgtype & 2 = 2 AND t.tgtype & 16 = 16)`, nil, &missing)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("tables with updated_at but no BEFORE UPDATE mcpbox_touch_updated_at trigger: %v", missing)
	}
}

// TestStore_AppendOnlyRejectsUpdate: UPDATE on tool_versions,
// execution_records and activity_log raises; DELETE (retention) works.
func TestStore_AppendOnlyRejectsUpdate(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	if err := db.ExecForTest(ctx, st, insertTool+`
INSERT INTO execution_records (exposed_name) VALUES ('weather__forecast');
INSERT INTO activity_log (action) VALUES ('tool.create');`); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"UPDATE tool_versions SET description = 'changed'",
		"UPDATE execution_records SET success = true",
		"UPDATE activity_log SET message = 'changed'",
	} {
		err := db.ExecForTest(ctx, st, stmt)
		if err == nil || !strings.Contains(err.Error(), "is append-only") {
			t.Errorf("%s: error = %v, want the append-only error", stmt, err)
		}
	}
	for _, stmt := range []string{"DELETE FROM execution_records", "DELETE FROM activity_log"} {
		if err := db.ExecForTest(ctx, st, stmt); err != nil {
			t.Errorf("%s: %v", stmt, err)
		}
	}
}

// TestStore_CircularForeignKeyIsDeferred: a tool and its first version go in
// one transaction in either order; a tool without its latest version fails
// at commit; deleting the server cascades through both tables.
func TestStore_CircularForeignKeyIsDeferred(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	if err := db.ExecForTest(ctx, st, insertTool); err != nil {
		t.Fatalf("tool then version in one transaction: %v", err)
	}
	err := db.ExecForTest(ctx, st, `INSERT INTO tools (server_id, name, latest_version)
		VALUES ('00000000-0000-4000-8000-000000000001', 'lonely', 1)`)
	if !errors.Is(err, db.ErrForeignKeyViolation) || constraintOf(err) != "tools_latest_version_fkey" {
		t.Errorf("tool without its version: error = %v, want tools_latest_version_fkey violation", err)
	}
	// Version 2 then the pointer, in one transaction.
	if err := db.ExecForTest(ctx, st, `
UPDATE tools SET latest_version = 2 WHERE id = '`+toolID+`';
INSERT INTO tool_versions (tool_id, version, code, manifest, hash)
VALUES ('`+toolID+`', 2, 'package tool // v2', '{}', '`+hashA+`');`); err != nil {
		t.Errorf("pointer before version in one transaction: %v", err)
	}
	var deferred []string
	if err := db.ScanForTest(ctx, st, `SELECT array_agg(conname::text ORDER BY conname) FROM pg_constraint
		WHERE conrelid = 'tools'::regclass AND contype = 'f' AND condeferrable AND condeferred`, nil, &deferred); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tools_approved_version_fkey", "tools_latest_version_fkey"}, deferred); diff != "" {
		t.Errorf("deferred foreign keys of tools mismatch (-want +got):\n%s", diff)
	}
	if err := db.ExecForTest(ctx, st, "DELETE FROM servers"); err != nil {
		t.Fatalf("delete server: %v", err)
	}
	var left int
	if err := db.ScanForTest(ctx, st, "SELECT (SELECT count(*) FROM tools) + (SELECT count(*) FROM tool_versions)",
		nil, &left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d tool rows left after deleting the server, want cascade to 0", left)
	}
}

// TestStore_InTx covers commit, rollback and the retry rule: only
// Serializable retries, only on 40001, at most 3 attempts.
func TestStore_InTx(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	tests := []struct {
		name         string
		iso          db.IsoLevel
		interfere    int   // attempts during which another session bumps the row first
		fnErr        error // returned by fn after its update
		wantAttempts int32
		wantErr      error
		wantCatalog  int64 // after the test; interference adds 100 each time
	}{
		{"serializable retries once", db.Serializable, 1, nil, 2, nil, 101},
		{"serializable gives up after 3", db.Serializable, 3, nil, 3, db.ErrSerialization, 300},
		{"repeatable read does not retry", db.RepeatableRead, 1, nil, 1, db.ErrSerialization, 100},
		{"read committed sees the other update", db.ReadCommitted, 1, nil, 1, nil, 101},
		{"fn error rolls back, no retry", db.Serializable, 0, errBoom, 1, errBoom, 0},
		{"commit", db.Serializable, 0, nil, 1, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := dbtest.New(t)
			ctx := t.Context()
			var attempts atomic.Int32
			err := st.InTx(ctx, tt.iso, func(q *dbq.Queries) error {
				n := attempts.Add(1)
				if _, err := q.GetRevisions(ctx); err != nil { // takes the snapshot
					return err
				}
				if int(n) <= tt.interfere {
					if err := db.ExecForTest(ctx, st, "UPDATE revisions SET catalog = catalog + 100"); err != nil {
						return err
					}
				}
				if _, err := q.BumpCatalogRevision(ctx); err != nil {
					return err
				}
				return tt.fnErr
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("InTx error = %v, want %v", err, tt.wantErr)
			}
			if got := attempts.Load(); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
			rev, err := st.GetRevisions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Catalog != tt.wantCatalog {
				t.Errorf("catalog revision = %d, want %d", rev.Catalog, tt.wantCatalog)
			}
		})
	}
}

func TestStore_InSnapshotIsReadOnly(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	err := st.InSnapshot(t.Context(), func(q *dbq.Queries) error {
		if _, err := q.GetRevisions(t.Context()); err != nil {
			return err
		}
		_, err := q.BumpCatalogRevision(t.Context())
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("write in InSnapshot: error = %v, want a read-only transaction error", err)
	}
}

func TestStore_PingAndStats(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	if err := st.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	stats := st.Stats()
	if stats.Max != 4 || stats.Acquired != 0 || stats.Idle < 1 {
		t.Errorf("Stats() = %+v, want Max 4 (dbtest's pool), none acquired, at least one idle", stats)
	}
}

// TestOpen_RetriesUntilDeadline: with nothing listening, Open keeps trying
// for the connect timeout and then fails naming the attempts.
func TestOpen_RetriesUntilDeadline(t *testing.T) {
	t.Parallel()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	start := time.Now()
	_, err = db.Open(t.Context(), "postgres://nobody@"+addr+"/none?sslmode=disable&connect_timeout=1",
		db.WithConnectTimeout(700*time.Millisecond), db.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Open succeeded with nothing listening")
	}
	if elapsed < 600*time.Millisecond || elapsed > 10*time.Second {
		t.Errorf("Open gave up after %v, want about the 700ms connect timeout", elapsed)
	}
	if !strings.Contains(err.Error(), "attempts") {
		t.Errorf("error %q does not say how many attempts were made", err)
	}
	if n := strings.Count(logs.String(), `"msg":"database not reachable yet, retrying","attempt":`); n < 2 {
		t.Errorf("%d retry log lines, want one per failed attempt before the last:\n%s", n, logs.String())
	}
}

func TestOpen_RejectsBadURL(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := db.Open(ctx, "postgres://[::1"); err == nil || !strings.Contains(err.Error(), "parse database URL") {
		t.Errorf("Open(bad URL) error = %v, want a parse error", err)
	}
}

// TestSchema_Tables: the migrations create exactly the tables of backend.md §4.2.
func TestSchema_Tables(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	var tables []string
	if err := db.ScanForTest(t.Context(), st, `SELECT array_agg(relname::text ORDER BY relname) FROM pg_class
		WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'`, nil, &tables); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"activity_log", "admin_sessions", "admin_users", "execution_records", "external_mcp_sources",
		"goose_db_version", "login_attempts", "mcpbox_schema_floor", "network_requests", "oauth_flows",
		"package_requests", "refresh_tokens", "revisions", "server_secrets", "servers", "settings",
		"signing_keys", "tool_versions", "tools",
	}
	if diff := cmp.Diff(want, tables, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("tables mismatch (-want +got):\n%s", diff)
	}
}
