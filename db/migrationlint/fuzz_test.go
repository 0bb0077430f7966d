package migrationlint

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzLint feeds arbitrary text to the lexer and the rules: they must not
// panic or loop, must be deterministic, and must place every statement and
// finding on a line of the input.
func FuzzLint(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.sql"))
	real, _ := filepath.Glob(filepath.Join("..", "migrations", "*.sql"))
	for _, path := range append(seeds, real...) {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src))
	}
	for _, s := range []string{
		"", ";", "$", "$$", "$a$", "'", "E'\\", "\"", "/*", "/* /* */", "--", "-- +goose Up\n",
		"-- +goose Up\nSET LOCAL lock_timeout = '1e400';", "CREATE INDEX ON", "ALTER TABLE", "ALTER TABLE x ALTER",
		"-- +goose Down\n-- +goose Up\nDROP", "\xff\xfe", "$1$", "x$y$z", "SET lock_timeout TO DEFAULT",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lines := strings.Count(src, "\n") + 1
		for _, st := range splitStatements(src, 1) {
			if len(st.tokens) == 0 {
				t.Fatalf("empty statement at line %d", st.line)
			}
			prev := 0
			for _, tok := range st.tokens {
				if tok.line < prev || tok.line < 1 || tok.line > lines {
					t.Fatalf("token %q at line %d (previous %d, %d lines)", tok.text, tok.line, prev, lines)
				}
				prev = tok.line
			}
		}
		first := Lint("00001_fuzz.sql", []byte(src))
		for _, fd := range first {
			if fd.File != "00001_fuzz.sql" || fd.Line < 1 || fd.Line > lines || fd.Rule == "" || fd.Message == "" {
				t.Fatalf("bad finding %+v for %d lines", fd, lines)
			}
		}
		if again := Lint("00001_fuzz.sql", []byte(src)); !slices.Equal(first, again) {
			t.Fatalf("not deterministic:\n%v\n%v", first, again)
		}
	})
}

// The fuzz seeds include the real migrations; make sure the glob finds them.
func TestFuzzSeedsIncludeMigrations(t *testing.T) {
	t.Parallel()
	matches, err := fs.Glob(os.DirFS(filepath.Join("..", "migrations")), "*.sql")
	if err != nil || len(matches) == 0 {
		t.Fatalf("no migrations found for the fuzz seed corpus: %v", err)
	}
}
