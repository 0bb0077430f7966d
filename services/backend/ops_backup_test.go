package main

import (
	"maps"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/db/dbtest"
	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/lifecycle/lifecycletest"
)

// OPS-35: a backup round trip as operations.md §6.1 runs it. A database
// seeded with a server, a Go tool, a secret with a value, an external
// source, an OAuth flow and execution records (posted to the running
// backend's internal API) is dumped with `pg_dump --format=custom
// --no-owner --no-privileges` and restored with `pg_restore
// --exit-on-error --no-owner` into an empty database (without --role: the
// test database has no separate app role). `backend migrate` and `backend
// migrate check` then pass, every table holds as many rows as in the
// original, the secrets open with the original key and the backend starts
// with it. With another key the start fails cleanly, naming key id 1: a
// different key under id 1 does not match the key check, and a new key id
// without key 1 names its 5 rows.
func TestOPS35_BackupRoundTrip(t *testing.T) {
	t.Parallel()
	pgDump, pgRestore := postgresTool(t, "pg_dump"), postgresTool(t, "pg_restore")
	url := dbtest.URL(t)
	env := testEnv(url)
	stored := seedForBackup(t, env)

	dump := filepath.Join(t.TempDir(), "mcpbox-"+time.Now().UTC().Format("20060102T150405Z")+".dump")
	runTool(t, pgDump, "--format=custom", "--no-owner", "--no-privileges", "--file="+dump, url)
	restored := dbtest.EmptyURL(t)
	runTool(t, pgRestore, "--exit-on-error", "--no-owner", "--dbname="+restored, dump)

	restoredEnv := maps.Clone(env)
	restoredEnv["MCPBOX_DATABASE_URL"] = restored
	for _, args := range [][]string{{"migrate"}, {"migrate", "check"}} {
		if logs, err := lifecycletest.Run(t, run, args, restoredEnv); err != nil {
			t.Fatalf("backend %s on the restored database: %v\n%s", strings.Join(args, " "), err, logs.String())
		}
	}

	original, copied := tableRowCounts(t, url), tableRowCounts(t, restored)
	if !maps.Equal(original, copied) {
		t.Errorf("row counts after the restore %v, want %v", copied, original)
	}
	for table, want := range map[string]int{
		"servers": 1, "tools": 1, "tool_versions": 1, "server_secrets": 1, "external_mcp_sources": 1,
		"oauth_flows": 1, "execution_records": 3, "signing_keys": 1,
	} {
		if copied[table] != want {
			t.Errorf("restored %s holds %d rows, want %d", table, copied[table], want)
		}
	}

	// The original key opens every value, and the backend starts with it.
	checkStored(t, restored, stored, newKeyring(t, 1, env["MCPBOX_ENCRYPTION_KEY"]))
	startOnce(t, restoredEnv)

	// Another key fails cleanly (an error, not a panic), naming key id 1.
	otherKey := maps.Clone(restoredEnv)
	otherKey["MCPBOX_ENCRYPTION_KEY"] = newKeyHex
	otherID := maps.Clone(otherKey)
	otherID["MCPBOX_ENCRYPTION_KEY_ID"] = "2"
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"another key under id 1", otherKey, "MCPBOX_ENCRYPTION_KEY does not match the key this database was created with (key id 1)"},
		{"another key id", otherID, "key id 1 in 5 rows"},
	} {
		if logs, err := lifecycletest.Run(t, run, nil, c.env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("start with %s: %v, want an error containing %q\n%s", c.name, err, c.want, logs.String())
		}
	}
	other := newKeyring(t, 1, newKeyHex)
	for _, s := range stored {
		var ct []byte
		dbtest.QueryRow(t, restored, s.query, []any{&ct}, s.args...)
		if _, err := other.Open(s.purpose, ct); err == nil || !strings.Contains(err.Error(), "key id 1") {
			t.Errorf("%s opened with another key: %v, want an error naming key id 1", s.purpose, err)
		}
	}
}

// seedForBackup starts the backend on env (key check and signing key),
// stores a ciphertext in every other column and a Go tool with its version,
// posts three execution records to the running backend, and stops it. It
// returns the stored ciphertexts.
func seedForBackup(t *testing.T, env map[string]string) []sealed {
	t.Helper()
	url := env["MCPBOX_DATABASE_URL"]
	svc := lifecycletest.Start(t, run, nil, env)
	internal := "http://" + svc.Logs.WaitListening(t, "internal")
	stored := storeCiphertexts(t, url, newKeyring(t, 1, env["MCPBOX_ENCRYPTION_KEY"]))
	var serverID uuid.UUID
	dbtest.QueryRow(t, url, "SELECT id FROM servers", []any{&serverID})
	toolID := uuid.New()
	hash := "sha256:" + strings.Repeat("ab", 32)
	dbtest.Exec(t, url, `WITH tool AS (INSERT INTO tools (id, server_id, name) VALUES ($1, $2, 'forecast'))
		INSERT INTO tool_versions (tool_id, version, code, manifest, hash) VALUES ($1, 1, 'package tool', '{}', $3)`,
		toolID, serverID, hash)

	batch := proto.ExecutionBatch{}
	for i := range 3 {
		batch.Records = append(batch.Records, proto.ExecutionRecord{
			ID: uuid.NewString(), ToolID: toolID.String(), ServerID: serverID.String(), ToolVersion: 1, ToolHash: hash,
			ExposedName: "weather__forecast", Via: proto.ViaDirect, Caller: proto.Caller{Kind: proto.CallerLocal},
			Success: true, Result: []byte(`{"day":` + strconv.Itoa(i+1) + `}`), DurationMS: 12, StartedAt: time.Now().UTC(),
		})
	}
	var res proto.ExecutionBatchResult
	if code := postJSONWith(t, internal+proto.PathInternalExecutions, batch, &res, proto.HeaderServiceToken, backendToken); code != 200 || res.Accepted != 3 {
		t.Fatalf("POST %s: %d %+v", proto.PathInternalExecutions, code, res)
	}
	if err := svc.Stop(); err != nil {
		t.Fatalf("backend stop: %v\n%s", err, svc.Logs.String())
	}
	return stored
}

// postgresTool returns the path of a PostgreSQL client program: from PATH,
// else from the newest /usr/lib/postgresql/<major>/bin. Its absence fails
// the test (`make test` installs PostgreSQL); a backup test that skips
// proves nothing.
func postgresTool(t *testing.T, name string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	found, _ := filepath.Glob(filepath.Join("/usr/lib/postgresql", "*", "bin", name))
	best, bestMajor := "", -1
	for _, path := range found {
		major, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
		if err == nil && major > bestMajor {
			best, bestMajor = path, major
		}
	}
	if best == "" {
		t.Fatalf("%s: not on PATH nor in /usr/lib/postgresql/<major>/bin; install the PostgreSQL client programs", name)
	}
	return best
}

// runTool runs a PostgreSQL client program, failing the test with its
// output when it fails.
func runTool(t *testing.T, path string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), path, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
}

// tableRowCounts counts the rows of every table of the public schema.
func tableRowCounts(t *testing.T, url string) map[string]int {
	t.Helper()
	var tables []string
	dbtest.QueryRow(t, url, `SELECT coalesce(array_agg(table_name::text ORDER BY table_name), '{}')
		FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`, []any{&tables})
	if len(tables) == 0 {
		t.Fatalf("no tables in %s", url)
	}
	out := make(map[string]int, len(tables))
	for _, table := range tables {
		var n int
		dbtest.QueryRow(t, url, "SELECT count(*) FROM public."+quoteIdent(table), []any{&n})
		out[table] = n
	}
	return out
}

// quoteIdent quotes a table name read from the catalog for SQL.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
