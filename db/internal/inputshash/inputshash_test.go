package inputshash_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mcpbox/mcpbox/db/internal/inputshash"
)

// tree writes a minimal db module and a tools go.mod pinning sqlc version.
func tree(t *testing.T, version string) (dbDir, toolsMod string) {
	t.Helper()
	root := t.TempDir()
	dbDir = filepath.Join(root, "db")
	files := map[string]string{
		"db/sqlc.yaml":              "version: \"2\"\n",
		"db/migrations/00001_a.sql": "-- +goose Up\n",
		"db/queries/a.sql":          "-- name: A :one\nSELECT 1;\n",
		"db/dbq/db.go":              "package dbq\n",
		"db/dbq/a.sql.go":           "package dbq\n",
		"db/migrations/ignored.txt": "not an input\n",
		"tools/go.mod":              "module x\n\nrequire (\n\tgithub.com/sqlc-dev/sqlc " + version + " // indirect\n)\n",
	}
	for name, body := range files {
		write(t, filepath.Join(root, name), body)
	}
	return dbDir, filepath.Join(root, "tools", "go.mod")
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(t *testing.T, dbDir, toolsMod string)
		want   []string
	}{
		{"unchanged", func(*testing.T, string, string) {}, nil},
		{"hand-edited generated file", func(t *testing.T, dbDir, _ string) {
			write(t, filepath.Join(dbDir, "dbq", "a.sql.go"), "package dbq // edited\n")
		}, []string{"dbq/a.sql.go"}},
		{"edited migration and new query", func(t *testing.T, dbDir, _ string) {
			write(t, filepath.Join(dbDir, "migrations", "00001_a.sql"), "-- +goose Up\nSELECT 1;\n")
			write(t, filepath.Join(dbDir, "queries", "b.sql"), "-- name: B :one\nSELECT 2;\n")
		}, []string{"migrations/00001_a.sql", "queries/b.sql (new)"}},
		{"removed generated file", func(t *testing.T, dbDir, _ string) {
			if err := os.Remove(filepath.Join(dbDir, "dbq", "db.go")); err != nil {
				t.Fatal(err)
			}
		}, []string{"dbq/db.go (removed)"}},
		{"sqlc upgraded", func(t *testing.T, _, toolsMod string) {
			write(t, toolsMod, "module x\n\nrequire github.com/sqlc-dev/sqlc v1.99.0\n")
		}, []string{"sqlc version (recorded v1.31.1, pinned v1.99.0)"}},
		{"sqlc.yaml edited", func(t *testing.T, dbDir, _ string) {
			write(t, filepath.Join(dbDir, "sqlc.yaml"), "version: \"2\"\n# changed\n")
		}, []string{"sqlc.yaml"}},
		{"record missing", func(t *testing.T, dbDir, _ string) {
			if err := os.Remove(filepath.Join(dbDir, filepath.FromSlash(inputshash.RecordPath))); err != nil {
				t.Fatal(err)
			}
		}, []string{"dbq/INPUTS.sha256 (missing)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dbDir, toolsMod := tree(t, "v1.31.1")
			if err := inputshash.Write(dbDir, toolsMod); err != nil {
				t.Fatal(err)
			}
			tt.change(t, dbDir, toolsMod)
			got, err := inputshash.Check(dbDir, toolsMod)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stale mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A second write changes nothing (OPS-10: a second `make generate` is a no-op).
func TestWriteIsDeterministic(t *testing.T) {
	t.Parallel()
	dbDir, toolsMod := tree(t, "v1.31.1")
	record := filepath.Join(dbDir, filepath.FromSlash(inputshash.RecordPath))
	var outputs [2][]byte
	for i := range outputs {
		if err := inputshash.Write(dbDir, toolsMod); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(record)
		if err != nil {
			t.Fatal(err)
		}
		outputs[i] = data
	}
	if diff := cmp.Diff(string(outputs[0]), string(outputs[1])); diff != "" {
		t.Errorf("second write differs (-first +second):\n%s", diff)
	}
	rec, err := inputshash.Parse(outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	if rec.SQLCVersion != "v1.31.1" || len(rec.Files) != 5 {
		t.Errorf("record = %+v, want sqlc v1.31.1 and 5 files", rec)
	}
}

func TestSQLCVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		gomod, want string
		ok          bool
	}{
		{"require github.com/sqlc-dev/sqlc v1.31.1\n", "v1.31.1", true},
		{"require (\n\tgithub.com/sqlc-dev/sqlc v1.2.3 // indirect\n)\n", "v1.2.3", true},
		{"require github.com/sqlc-dev/sqlcx v1.0.0\n", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := inputshash.SQLCVersion([]byte(tt.gomod))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("SQLCVersion(%q) = %q, %v; want %q, ok=%v", tt.gomod, got, err, tt.want, tt.ok)
		}
	}
}
