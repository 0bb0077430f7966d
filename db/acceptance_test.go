package db_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
)

// BE-1: migrate up on an empty database reaches head; a second run applies
// nothing (concurrent runs: TestOPS36_ConcurrentMigrate).
func TestBE1_MigrateUpReachesHeadOnce(t *testing.T) {
	t.Parallel()
	st := open(t, dbtest.EmptyURL(t))
	applied, err := st.Migrate(t.Context())
	if err != nil || int64(len(applied)) != db.NewestMigration() {
		t.Fatalf("first run applied %v, %v", applied, err)
	}
	again, err := st.Migrate(t.Context())
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v, %v", again, err)
	}
	v, err := st.SchemaVersion(t.Context())
	if err != nil || v != db.NewestMigration() {
		t.Fatalf("schema version %d, %v", v, err)
	}
}

// BE-2: a server inserted with only its name is stopped, has an empty
// description and both timestamps.
func TestBE2_ServerDefaults(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	if err := db.ExecForTest(ctx, st, "INSERT INTO servers (name) VALUES ('weather')"); err != nil {
		t.Fatal(err)
	}
	var status, description, createdBy string
	var created, updated time.Time
	if err := db.ScanForTest(ctx, st, "SELECT status, description, created_by, created_at, updated_at FROM servers", nil,
		&status, &description, &createdBy, &created, &updated); err != nil {
		t.Fatal(err)
	}
	if status != "stopped" || description != "" || createdBy != "system" || created.IsZero() || updated.IsZero() {
		t.Fatalf("defaults: status %q description %q created_by %q created %v updated %v", status, description, createdBy, created, updated)
	}
}

// BE-3: any UPDATE of a tools row changes updated_at (every table with the
// column: TestStore_TouchUpdatedAt).
func TestBE3_ToolUpdateTouchesUpdatedAt(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	if err := db.ExecForTest(ctx, st, insertTool); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	// The trigger overrides even an explicit value.
	if err := db.ExecForTest(ctx, st, "UPDATE tools SET enabled = false, disabled_by = 'admin', updated_at = $1", old); err != nil {
		t.Fatal(err)
	}
	var updated time.Time
	if err := db.ScanForTest(ctx, st, "SELECT updated_at FROM tools", nil, &updated); err != nil {
		t.Fatal(err)
	}
	if time.Since(updated) > time.Hour {
		t.Fatalf("updated_at %v after an UPDATE", updated)
	}
}

// BE-4: UPDATE of a tool_versions, execution_records or activity_log row
// raises (and DELETE for retention works): TestStore_AppendOnlyRejectsUpdate
// covers the three tables; this checks the error is mapped, not raw.
func TestBE4_AppendOnlyTablesRaise(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	if err := db.ExecForTest(ctx, st, insertTool+"\nINSERT INTO activity_log (action) VALUES ('tool.create');"); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"UPDATE tool_versions SET description = 'x'", "UPDATE activity_log SET level = 'error'"} {
		if err := db.ExecForTest(ctx, st, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", stmt, err)
		}
	}
}

// BE-5: a second (tool_id, version) pair fails on the unique constraint.
func TestBE5_VersionNumbersAreUnique(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	if err := db.ExecForTest(ctx, st, insertTool); err != nil {
		t.Fatal(err)
	}
	err := db.ExecForTest(ctx, st, "INSERT INTO tool_versions (tool_id, version, code, manifest, hash) VALUES ($1, 1, 'package tool', '{}', $2)", toolID, hashA)
	var ce *db.ConflictError
	if !errors.As(err, &ce) || !strings.Contains(ce.Error(), "tool_versions") {
		t.Fatalf("duplicate version: %v", err)
	}
}
