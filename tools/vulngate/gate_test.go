package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

// dbVersion names the fixture database directory like the pinned vulndb.
const dbVersion = "v0.0.0-20261105234957-e22db6528018"

// testNow is the fixed "today" of the fixtures.
func testNow() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }

// findings decodes testdata/findings.json: trimmed output of the real
// govulncheck over the canary, with GO-2021-0113 at module, package and
// symbol level and GO-2022-1059 at module and package level only.
func findings(t *testing.T) Output {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	out, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func exceptions(t *testing.T, name string) []Exception {
	t.Helper()
	path := filepath.Join("testdata", "exceptions", name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	excs, err := ParseExceptions(path, f)
	if err != nil {
		t.Fatal(err)
	}
	return excs
}

// TestOPS41_ExceptedFindingPasses: a reachable finding listed with a reason
// and a future expiry passes, and the module- and package-level findings
// (code that is only required or imported) never fail the gate.
func TestOPS41_ExceptedFindingPasses(t *testing.T) {
	t.Parallel()
	out := findings(t)
	if out.Config.ScanLevel != "symbol" || out.Config.ScannerVersion != "v1.9.0" {
		t.Errorf("config = %+v, want a symbol-level scan by govulncheck v1.9.0", out.Config)
	}
	r := Evaluate(out.Findings, exceptions(t, "excepted.yaml"), testNow())
	if !r.OK() {
		t.Fatalf("problems: %q", r.Problems)
	}
	if len(r.Excepted) != 1 || !strings.Contains(r.Excepted[0], "GO-2021-0113") || !strings.Contains(r.Excepted[0], "golang.org/x/text/language.Parse") {
		t.Errorf("excepted = %q, want GO-2021-0113 through language.Parse", r.Excepted)
	}
	if r.Reachable != 1 || r.Informational != 4 {
		t.Errorf("reachable = %d, informational = %d; want 1 and 4", r.Reachable, r.Informational)
	}
	// The last day of an exception still holds.
	if r := Evaluate(out.Findings, exceptions(t, "excepted.yaml"), time.Date(2027, 6, 30, 23, 0, 0, 0, time.UTC)); !r.OK() {
		t.Errorf("on its expiry day: %q", r.Problems)
	}
}

// TestOPS41_UnexceptedFindingFails: a reachable finding no exception lists
// fails, naming the advisory and the module; an exception for the same id in
// another module does not accept it.
func TestOPS41_UnexceptedFindingFails(t *testing.T) {
	t.Parallel()
	out := findings(t)
	for _, tt := range []struct {
		name string
		excs []Exception
	}{
		{"none", nil},
		{"wrong module", exceptions(t, "wrongmodule.yaml")},
	} {
		r := Evaluate(out.Findings, tt.excs, testNow())
		if !hasProblem(r, "reachable finding GO-2021-0113 in module golang.org/x/text", "not listed in "+ExceptionsFile) {
			t.Errorf("%s: problems = %q, want GO-2021-0113 in golang.org/x/text not listed", tt.name, r.Problems)
		}
		if hasProblem(r, "GO-2022-1059") {
			t.Errorf("%s: the unreached GO-2022-1059 failed the gate: %q", tt.name, r.Problems)
		}
	}
}

// TestOPS41_BadExceptionsFail: an exception that has expired, has no reason,
// or matches no finding fails, naming its id, its module and the rule.
func TestOPS41_BadExceptionsFail(t *testing.T) {
	t.Parallel()
	out := findings(t)
	for _, tt := range []struct {
		file string
		want []string
	}{
		{"expired.yaml", []string{"exception GO-2021-0113 (module golang.org/x/text)", "expired on 2026-10-31"}},
		{"noreason.yaml", []string{"exception GO-2021-0113 (module golang.org/x/text)", "has no reason"}},
		{"unmatched.yaml", []string{"exception GO-2099-0001 (module golang.org/x/net)", "matches no reachable finding"}},
		{"wrongmodule.yaml", []string{"exception GO-2021-0113 (module golang.org/x/net)", "matches no reachable finding"}},
	} {
		r := Evaluate(out.Findings, exceptions(t, tt.file), testNow())
		if r.OK() || !hasProblem(r, tt.want...) {
			t.Errorf("%s: problems = %q, want one containing %q", tt.file, r.Problems, tt.want)
		}
	}
}

// TestOPS41_ExceptionsFileSyntax: the exceptions file is decoded strictly:
// what it does not understand fails naming the line and the field instead of
// being ignored.
func TestOPS41_ExceptionsFileSyntax(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ text, want string }{
		{"", "no `exceptions:` key"},
		{"exception: []\n", "line 1: field exception not found"},
		{"exceptions: []\n  - id: X\n", "yaml: line 1:"},
		{"exceptions:\n  - id: GO-1\n    modul: x\n", "line 3: field modul not found"},
		{"exceptions:\n  - id: GO-1\n    expires: 31.1.2027\n", ":2: field expires: \"31.1.2027\" is not a date"},
		{"exceptions:\n  - id: GO-1\n    reason: x\n", ":2: field expires: \"\" is not a date"},
		{"exceptions:\n  - id: GO-1\n    id: GO-2\n", "line 3: mapping key \"id\" already defined"},
		{"exceptions:\n  - id: GO-1\n\treason: x\n", "found a tab character"},
		{"exceptions:\n  - id: GO-1\n    reason: [a, b]\n", "line 3: cannot unmarshal !!seq into string"},
		{"exceptions:\nid: GO-1\n", "line 2: field id not found"},
	} {
		_, err := ParseExceptions("f.yaml", strings.NewReader(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.text, err, tt.want)
		}
	}
	excs, err := ParseExceptions("f.yaml", strings.NewReader("exceptions: # none yet\n  - id: GO-1 # c\n    module: m\n    reason: \"a # b\"\n    expires: 2027-01-02\n"))
	if err != nil || len(excs) != 1 || excs[0].Reason != "a # b" || excs[0].Line != 2 || excs[0].Expires.Day() != 2 {
		t.Errorf("parse = %+v, %v", excs, err)
	}
}

// TestOPS41_RepositoryExceptionsValid: the committed exceptions file parses,
// and each entry has a module, a reason and an expiry that has not passed.
// (Whether each still matches a finding is the vuln stage's real scan.)
func TestOPS41_RepositoryExceptionsValid(t *testing.T) {
	t.Parallel()
	root, err := repo.RootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, ExceptionsFile)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	excs, err := ParseExceptions(path, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Evaluate(nil, excs, time.Now()).Problems {
		if !strings.Contains(p, "matches no reachable finding") {
			t.Error(p)
		}
	}
}

// TestOPS41_SnapshotDateAndAgeWarning: the snapshot date comes from the
// vulndb pseudo-version naming the database (its OSV files carry no dates);
// past 90 days vulngate warns.
func TestOPS41_SnapshotDateAndAgeWarning(t *testing.T) {
	t.Parallel()
	snap, err := Snapshot(filepath.Join(".cache", "vulndb", dbVersion), "0001-01-01T00:00:00Z")
	if err != nil || snap.Format(time.DateOnly) != "2026-11-05" {
		t.Fatalf("snapshot = %v, %v; want 2026-11-05", snap, err)
	}
	if later, err := Snapshot("db", "2026-12-01T00:00:00Z"); err != nil || later.Format(time.DateOnly) != "2026-12-01" {
		t.Errorf("snapshot from the index = %v, %v", later, err)
	}
	if _, err := Snapshot("db", "0001-01-01T00:00:00Z"); err == nil {
		t.Error("a database without any date has a snapshot")
	}
	if w := AgeWarning(snap, snap.AddDate(0, 0, 90)); w != "" {
		t.Errorf("90 days: %q", w)
	}
	if w := AgeWarning(snap, snap.AddDate(0, 0, 91)); !strings.Contains(w, "91 days old") || !strings.Contains(w, "tools/pins/vulndb") {
		t.Errorf("91 days: %q", w)
	}
}

// TestOPS41_GateCommand: the command reads saved govulncheck output, prints
// the snapshot date, exits 1 naming an unexcepted finding and 0 once it is
// excepted.
func TestOPS41_GateCommand(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), dbVersion)
	if err := os.MkdirAll(filepath.Join(db, "index"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(db, "index", "db.json"), []byte(`{"modified":"0001-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join("testdata", "findings.json")
	for _, tt := range []struct {
		exceptions string
		code       int
		want       string
	}{
		{"wrongmodule.yaml", 1, "reachable finding GO-2021-0113 in module golang.org/x/text"},
		{"excepted.yaml", 0, "vulngate: ok"},
	} {
		var out bytes.Buffer
		args := []string{"-root", ".", "-db", db, "-input", input, "-exceptions", filepath.Join("testdata", "exceptions", tt.exceptions)}
		code := run(t.Context(), args, nil, &out, testNow())
		if code != tt.code || !strings.Contains(out.String(), tt.want) || !strings.Contains(out.String(), "snapshot 2026-11-05") {
			t.Errorf("%s: exit %d, want %d, output:\n%s", tt.exceptions, code, tt.code, out.String())
		}
	}
	var out bytes.Buffer
	if code := run(t.Context(), []string{"-root", ".", "-db", t.TempDir(), "-input", input}, nil, &out, testNow()); code != 1 || !strings.Contains(out.String(), "is not indexed") {
		t.Errorf("unindexed database: exit %d, output:\n%s", code, out.String())
	}
}

func hasProblem(r Result, parts ...string) bool {
	for _, p := range r.Problems {
		all := true
		for _, s := range parts {
			all = all && strings.Contains(p, s)
		}
		if all {
			return true
		}
	}
	return false
}
