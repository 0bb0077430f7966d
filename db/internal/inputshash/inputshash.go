// Package inputshash records what `sqlc generate` read and wrote, so that
// `make test` can tell whether db/dbq is current without building sqlc
// (spec/operations.md §1.4, OPS-10).
//
// The record, db/dbq/INPUTS.sha256, holds the pinned sqlc version and the
// SHA-256 of sqlc.yaml, every migration, every query file and every generated
// file. `make generate` rewrites it after sqlc ran; a check recomputes it and
// names each file that no longer matches (edited, added or removed), so a
// stale or hand-edited generated file fails and is named.
package inputshash

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// RecordPath is where the record lives, relative to the db module.
const RecordPath = "dbq/INPUTS.sha256"

// sqlcModule is the module whose version tools/go.mod pins.
const sqlcModule = "github.com/sqlc-dev/sqlc"

// inputGlobs returns the files sqlc reads and writes, relative to the db module.
func inputGlobs() []string {
	return []string{"sqlc.yaml", "migrations/*.sql", "queries/*.sql", "dbq/*.go"}
}

const header = "# Inputs and outputs of `sqlc generate` in db/, written by `make generate`\n" +
	"# (go run ./cmd/inputshash write); `go run ./cmd/inputshash check` names the stale files.\n"

// Record is the pinned sqlc version and the hash of each file, by its
// slash-separated path relative to the db module.
type Record struct {
	SQLCVersion string
	Files       map[string]string
}

// Compute hashes the files of the db module in dbDir, with the sqlc version
// pinned by the go.mod at toolsGoMod.
func Compute(dbDir, toolsGoMod string) (Record, error) {
	gomod, err := os.ReadFile(toolsGoMod) //nolint:gosec // a path the developer chose, read-only
	if err != nil {
		return Record{}, fmt.Errorf("read sqlc pin: %w", err)
	}
	version, err := SQLCVersion(gomod)
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", toolsGoMod, err)
	}
	fsys := os.DirFS(dbDir)
	rec := Record{SQLCVersion: version, Files: map[string]string{}}
	for _, pattern := range inputGlobs() {
		names, err := fs.Glob(fsys, pattern)
		if err != nil {
			return Record{}, fmt.Errorf("list %s: %w", pattern, err)
		}
		for _, name := range names {
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return Record{}, fmt.Errorf("hash inputs: %w", err)
			}
			sum := sha256.Sum256(data)
			rec.Files[name] = hex.EncodeToString(sum[:])
		}
	}
	if len(rec.Files) == 0 {
		return Record{}, fmt.Errorf("hash inputs: no sqlc inputs under %s", dbDir)
	}
	return rec, nil
}

// SQLCVersion returns the version of sqlc that a tools go.mod requires.
func SQLCVersion(gomod []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == sqlcModule {
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read go.mod: %w", err)
	}
	return "", errors.New("no requirement of " + sqlcModule)
}

// Marshal renders the record: a header, `sqlc <version>`, then
// `<sha256>  <path>` lines sorted by path (the sha256sum format).
func (r Record) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(header)
	fmt.Fprintf(&b, "sqlc %s\n", r.SQLCVersion)
	for _, name := range slices.Sorted(maps.Keys(r.Files)) {
		fmt.Fprintf(&b, "%s  %s\n", r.Files[name], name)
	}
	return b.Bytes()
}

// Parse reads a record written by Marshal.
func Parse(data []byte) (Record, error) {
	rec := Record{Files: map[string]string{}}
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "sqlc "):
			rec.SQLCVersion = strings.TrimPrefix(line, "sqlc ")
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != sha256.Size*2 || name == "" || path.Clean(name) != name {
			return Record{}, fmt.Errorf("line %d: want `<sha256>  <path>`, got %q", i+1, line)
		}
		rec.Files[name] = sum
	}
	if rec.SQLCVersion == "" {
		return Record{}, errors.New("no `sqlc <version>` line")
	}
	return rec, nil
}

// Stale compares a recorded and a current record and returns, sorted, the
// names that differ: "sqlc version", changed files, files added since the
// record ("(new)") and files gone from disk ("(removed)").
func Stale(recorded, current Record) []string {
	var out []string
	if recorded.SQLCVersion != current.SQLCVersion {
		out = append(out, fmt.Sprintf("sqlc version (recorded %s, pinned %s)", recorded.SQLCVersion, current.SQLCVersion))
	}
	for _, name := range slices.Sorted(maps.Keys(current.Files)) {
		sum, ok := recorded.Files[name]
		switch {
		case !ok:
			out = append(out, name+" (new)")
		case sum != current.Files[name]:
			out = append(out, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(recorded.Files)) {
		if _, ok := current.Files[name]; !ok {
			out = append(out, name+" (removed)")
		}
	}
	return out
}

// Check recomputes the record of the db module in dbDir and returns the stale
// names; a missing or unreadable record makes everything stale.
func Check(dbDir, toolsGoMod string) ([]string, error) {
	current, err := Compute(dbDir, toolsGoMod)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dbDir, filepath.FromSlash(RecordPath))) //nolint:gosec // fixed path under the module
	if errors.Is(err, fs.ErrNotExist) {
		return []string{RecordPath + " (missing)"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	recorded, err := Parse(data)
	if err != nil {
		return []string{fmt.Sprintf("%s (unreadable: %v)", RecordPath, err)}, nil
	}
	return Stale(recorded, current), nil
}

// Write computes the record of the db module in dbDir and writes it.
func Write(dbDir, toolsGoMod string) error {
	rec, err := Compute(dbDir, toolsGoMod)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dbDir, filepath.FromSlash(RecordPath)), rec.Marshal(), 0o644); err != nil { //nolint:gosec // a committed source file, world-readable like the rest
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}
