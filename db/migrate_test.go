package db_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/mcpbox/mcpbox/db"
	"github.com/mcpbox/mcpbox/db/dbtest"
)

// allVersions returns 1..NewestMigration().
func allVersions() []int64 {
	var out []int64
	for v := int64(1); v <= db.NewestMigration(); v++ {
		out = append(out, v)
	}
	return out
}

func open(t *testing.T, dsn string) *db.Store {
	t.Helper()
	st, err := db.Open(t.Context(), dsn, db.WithMaxConns(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// TestOPS36_MigrateUpDownUp: on an empty database, up → down to 0 → up gives
// identical schema dumps (pg_dump --schema-only and a catalog dump).
func TestOPS36_MigrateUpDownUp(t *testing.T) {
	t.Parallel()
	dsn := dbtest.EmptyURL(t)
	st := open(t, dsn)
	ctx := t.Context()

	applied, err := st.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(allVersions(), applied); diff != "" {
		t.Fatalf("first up applied mismatch (-want +got):\n%s", diff)
	}
	first := schemaDumps(t, dsn)

	status, err := st.MigrateStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range status {
		if !m.Applied || m.AppliedAt.IsZero() || !strings.HasPrefix(m.Name, fmt.Sprintf("%05d_", m.Version)) {
			t.Errorf("status %+v: want applied with a time and a matching file name", m)
		}
	}
	if again, err := st.Migrate(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second up = %v, %v; want nothing to apply", again, err)
	}

	down, err := st.MigrateDown(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantDown := allVersions()
	slices.Reverse(wantDown)
	if diff := cmp.Diff(wantDown, down); diff != "" {
		t.Fatalf("down applied mismatch (-want +got):\n%s", diff)
	}
	if v, err := st.SchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("schema version after down = %d, %v; want 0", v, err)
	}
	var leftovers []string
	for _, line := range catalogDump(t, dsn) {
		if !strings.Contains(line, "goose_db_version") {
			leftovers = append(leftovers, line)
		}
	}
	if len(leftovers) > 0 {
		t.Errorf("down to 0 left schema objects behind:\n%s", strings.Join(leftovers, "\n"))
	}

	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := schemaDumps(t, dsn)
	for kind := range first {
		if diff := cmp.Diff(first[kind], second[kind]); diff != "" {
			t.Errorf("%s after up → down → up differs (-first +second):\n%s", kind, diff)
		}
		t.Logf("compared %s: %d lines", kind, len(first[kind]))
	}
	if v, err := st.SchemaVersion(ctx); err != nil || v != db.NewestMigration() {
		t.Errorf("schema version = %d, %v; want %d", v, err, db.NewestMigration())
	}
}

// TestOPS36_ConcurrentMigrate: two concurrent migrate runs both succeed, and
// each migration is applied once.
func TestOPS36_ConcurrentMigrate(t *testing.T) {
	t.Parallel()
	dsn := dbtest.EmptyURL(t)
	stores := []*db.Store{open(t, dsn), open(t, dsn)}
	results := make([][]int64, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, st := range stores {
		wg.Go(func() { results[i], errs[i] = st.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrate run %d: %v", i, err)
		}
	}
	got := slices.Concat(results...)
	slices.Sort(got)
	if diff := cmp.Diff(allVersions(), got); diff != "" {
		t.Errorf("applied versions over both runs mismatch (-want +got):\n%s", diff)
	}

	conn := connect(t, dsn)
	rows, err := conn.Query(t.Context(),
		`SELECT version_id, count(*) FROM goose_db_version WHERE version_id > 0 GROUP BY version_id ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
		var vc [2]int64
		return vc, r.Scan(&vc[0], &vc[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	var want [][2]int64
	for _, v := range allVersions() {
		want = append(want, [2]int64{v, 1})
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("goose_db_version (version, times applied) mismatch (-want +got):\n%s", diff)
	}
}

// TestOPS37_BelowFloorRefuses: a database whose schema floor is newer than
// the binary's newest migration makes CheckFloor and Migrate refuse, naming
// both numbers.
func TestOPS37_BelowFloorRefuses(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	newest := db.NewestMigration()
	floor := newest + 3
	if err := db.ExecForTest(ctx, st, "UPDATE mcpbox_schema_floor SET version = $1", floor); err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func() error{
		"CheckFloor": func() error { return st.CheckFloor(ctx) },
		"Migrate":    func() error { _, err := st.Migrate(ctx); return err },
	} {
		err := run()
		var fe *db.FloorError
		if !errors.As(err, &fe) {
			t.Fatalf("%s error = %v, want *db.FloorError", name, err)
		}
		if fe.Floor != floor || fe.Binary != newest {
			t.Errorf("%s: FloorError = %+v, want Floor %d, Binary %d", name, fe, floor, newest)
		}
		msg := err.Error()
		if !strings.Contains(msg, strconv.FormatInt(floor, 10)) || !strings.Contains(msg, strconv.FormatInt(newest, 10)) {
			t.Errorf("%s: message %q does not name both %d and %d", name, msg, floor, newest)
		}
	}
	state, err := st.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !state.BelowFloor() {
		t.Errorf("Schema() = %+v, want BelowFloor", state)
	}
}

// TestOPS37_AheadWithinFloorWarns: a binary one migration behind the database
// but not below the floor starts; Schema reports Ahead so the caller warns.
func TestOPS37_AheadWithinFloorWarns(t *testing.T) {
	t.Parallel()
	st := dbtest.New(t)
	ctx := t.Context()
	newest := db.NewestMigration()
	// A newer release applied migration newest+1 (which this binary lacks)
	// without raising the floor.
	if err := db.ExecForTest(ctx, st,
		"INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", newest+1); err != nil {
		t.Fatal(err)
	}
	if err := st.CheckFloor(ctx); err != nil {
		t.Fatalf("CheckFloor = %v, want nil (within floor)", err)
	}
	applied, err := st.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("Migrate = %v, %v; want nothing applied and no error", applied, err)
	}
	state, err := st.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := db.SchemaState{Current: newest + 1, Newest: newest, Floor: 0}
	if diff := cmp.Diff(want, state); diff != "" {
		t.Errorf("Schema() mismatch (-want +got):\n%s", diff)
	}
	if !state.Ahead() || state.BelowFloor() || state.Pending() {
		t.Errorf("state %+v: want Ahead, not BelowFloor, not Pending", state)
	}
}

func TestSchema_PendingOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	st := open(t, dbtest.EmptyURL(t))
	state, err := st.Schema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := db.SchemaState{Current: 0, Newest: db.NewestMigration(), Floor: 0}
	if diff := cmp.Diff(want, state); diff != "" {
		t.Errorf("Schema() mismatch (-want +got):\n%s", diff)
	}
	if !state.Pending() || state.Ahead() || state.BelowFloor() {
		t.Errorf("state %+v: want Pending only", state)
	}
	if err := st.CheckFloor(t.Context()); err != nil {
		t.Errorf("CheckFloor on an empty database = %v, want nil", err)
	}
}

func TestNewestMigration(t *testing.T) {
	t.Parallel()
	if got := db.NewestMigration(); got < 5 {
		t.Errorf("NewestMigration() = %d, want at least the 5 foundation migrations", got)
	}
}

// schemaDumps returns the schema as pg_dump prints it (when a usable pg_dump
// exists) and as the catalog dump reads it.
func schemaDumps(t *testing.T, dsn string) map[string][]string {
	t.Helper()
	out := map[string][]string{"catalog dump": catalogDump(t, dsn)}
	if dump, ok := pgDump(t, dsn); ok {
		out["pg_dump --schema-only"] = dump
	}
	return out
}

// pgDump runs pg_dump --schema-only, dropping the lines that differ on every
// run (\restrict keys). It reports false, with a log line, when pg_dump is
// missing or older than the server; the catalog dump still compares.
func pgDump(t *testing.T, dsn string) ([]string, bool) {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Logf("pg_dump not found (%v); comparing the catalog dump only", err)
		return nil, false
	}
	cmd := exec.CommandContext(t.Context(), bin, "--schema-only", "--no-owner", "--no-privileges", "--dbname="+dsn)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "version mismatch") {
			t.Logf("pg_dump is older than the server; comparing the catalog dump only: %s", out)
			return nil, false
		}
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, `\restrict`) || strings.HasPrefix(line, `\unrestrict`) {
			continue
		}
		lines = append(lines, line)
	}
	return lines, true
}

// catalogDump lists every table (columns, types, nullability, defaults,
// identity), constraint, index, trigger and function of the public schema.
func catalogDump(t *testing.T, dsn string) []string {
	t.Helper()
	conn := connect(t, dsn)
	rows, err := conn.Query(t.Context(), `
SELECT 'table ' || c.relname || ' (' || string_agg(
         a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
         || CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END,
         ', ' ORDER BY a.attnum) || ')'
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
 GROUP BY c.relname
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// connect opens a plain pgx connection for catalog queries.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// TestMigrate_LogsEachMigration: with a logger, each applied migration is one
// INFO line using only keys of operations.md §3.1.
func TestMigrate_LogsEachMigration(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	st, err := db.Open(t.Context(), dbtest.EmptyURL(t), db.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var migrations []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		for key := range rec {
			if !slices.Contains([]string{"time", "level", "msg", "migration", "duration_ms"}, key) {
				t.Errorf("log line %q has key %q outside the operations.md §3.1 list", line, key)
			}
		}
		if rec["msg"] == "migration applied" {
			migrations = append(migrations, fmt.Sprint(rec["migration"]))
		}
	}
	if len(migrations) != int(db.NewestMigration()) || !strings.HasPrefix(migrations[0], "00001_") {
		t.Errorf("logged migrations %v, want one line per migration from 00001", migrations)
	}
}
