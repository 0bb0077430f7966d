package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Parallel()
	// A copy of the real db module's sqlc inputs, so write and check can be
	// exercised without touching the tree.
	root := t.TempDir()
	dbDir := filepath.Join(root, "db")
	for _, pattern := range []string{"sqlc.yaml", "migrations/*.sql", "queries/*.sql", "dbq/*.go"} {
		matches, err := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(pattern)))
		if err != nil || len(matches) == 0 {
			t.Fatalf("glob %s: %v (%d files)", pattern, err, len(matches))
		}
		for _, src := range matches {
			rel, err := filepath.Rel(filepath.Join("..", ".."), src)
			if err != nil {
				t.Fatal(err)
			}
			copyFile(t, src, filepath.Join(dbDir, rel))
		}
	}
	copyFile(t, filepath.Join("..", "..", "..", "tools", "go.mod"), filepath.Join(root, "tools", "go.mod"))

	tests := []struct {
		name     string
		args     []string
		edit     string // file under dbDir to change before running
		wantCode int
		wantOut  string
	}{
		{"usage", []string{"-dir", dbDir}, "", 2, ""},
		{"unknown mode", []string{"-dir", dbDir, "frobnicate"}, "", 2, ""},
		{"check before write", []string{"-dir", dbDir, "check"}, "", 1, "dbq/INPUTS.sha256 (missing)"},
		{"write", []string{"-dir", dbDir, "write"}, "", 0, ""},
		{"check after write", []string{"-dir", dbDir, "check"}, "", 0, ""},
		{"hand-edited output", []string{"-dir", dbDir, "check"}, "dbq/querier.go", 1, "  dbq/querier.go\n"},
	}
	for _, tt := range tests { // in order: each step builds on the previous one
		if tt.edit != "" {
			path := filepath.Join(dbDir, filepath.FromSlash(tt.edit))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, append(data, "// edited\n"...), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var stdout, stderr bytes.Buffer
		code := run(tt.args, &stdout, &stderr)
		if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) {
			t.Errorf("%s: run(%q) = %d, stdout %q, stderr %q; want %d and stdout containing %q",
				tt.name, tt.args, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut)
		}
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
