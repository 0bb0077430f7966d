package repocheck

import (
	"bufio"
	"bytes"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

// pin is the toolchain of operations.md §1.1.
const pin = "1.27.3"

// repoRoot is the directory above the working directory that holds go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := repo.RootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// walkRepo calls fn for every file under root, skipping VCS, caches, data,
// dependencies and build output.
func walkRepo(t *testing.T, root string, fn func(path string)) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".cache", ".data", "node_modules", "bin":
				if p != root {
					return filepath.SkipDir
				}
			}
			return nil
		}
		fn(p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// goDirective matches a go.mod or go.work `go` line.
var goDirective = regexp.MustCompile(`(?m)^go\s+(\d+)\.(\d+)`)

// TestOPS1_ToolchainPinnedEverywhere: the Makefile, .ci/run, the README and
// the Dockerfile all name Go 1.27.3; go.work adds toolchain go1.27.3; no go
// directive is 1.27 or later (OPS-1).
func TestOPS1_ToolchainPinnedEverywhere(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	makefile := readRepoFile(t, "Makefile")
	if first, _, _ := strings.Cut(makefile, "\n"); first != "export GOTOOLCHAIN := go"+pin {
		t.Errorf("Makefile starts with %q, want %q", first, "export GOTOOLCHAIN := go"+pin)
	}
	tests := []struct {
		file string
		want *regexp.Regexp
	}{
		{"Makefile", regexp.MustCompile(`(?m)^GO_PIN\s*:= go` + regexp.QuoteMeta(pin) + `$`)},
		{".ci/run", regexp.MustCompile(`(?m)^export GOTOOLCHAIN=go` + regexp.QuoteMeta(pin) + `$`)},
		{"README.md", regexp.MustCompile(`GOTOOLCHAIN=go` + regexp.QuoteMeta(pin))},
		{"deploy/docker/Dockerfile", regexp.MustCompile(`(?m)^ARG GO_VERSION=` + regexp.QuoteMeta(pin) + `$`)},
		{"go.work", regexp.MustCompile(`(?m)^toolchain go` + regexp.QuoteMeta(pin) + `$`)},
	}
	for _, tt := range tests {
		if !tt.want.MatchString(readRepoFile(t, tt.file)) {
			t.Errorf("%s does not match %s", tt.file, tt.want)
		}
	}
	// Other versions named next to the pin would be a second source of truth.
	other := regexp.MustCompile(`GOTOOLCHAIN[ :]*=\s*go(\d+\.\d+\.\d+)|GO_VERSION=(\d+\.\d+\.\d+)`)
	for _, f := range []string{"Makefile", ".ci/run", "README.md", "deploy/docker/Dockerfile"} {
		for _, m := range other.FindAllStringSubmatch(readRepoFile(t, f), -1) {
			if v := m[1] + m[2]; v != pin {
				t.Errorf("%s names Go %s, want only %s", f, v, pin)
			}
		}
	}

	n := 0
	walkRepo(t, root, func(p string) {
		if base := filepath.Base(p); base != "go.mod" && base != "go.work" {
			return
		}
		if strings.Contains(filepath.ToSlash(p), "/testdata/") {
			return // fixtures are not built as modules
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return
		}
		n++
		m := goDirective.FindSubmatch(b)
		if m == nil {
			t.Errorf("%s has no go directive", p)
			return
		}
		major, _ := strconv.Atoi(string(m[1]))
		minor, _ := strconv.Atoi(string(m[2]))
		if major > 1 || minor >= 27 {
			t.Errorf("%s says go %s.%s; the language floor stays below 1.27 (operations.md §1.1)", p, m[1], m[2])
		}
	})
	if n < 3 {
		t.Errorf("found %d go.mod/go.work files, want the workspace, tools and deploy", n)
	}
}

// TestOPS1_MakefileGuardTripsOnAnotherToolchain runs make with a `go` that
// reports another version: the guard stops make with a one-line explanation
// before any recipe (OPS-1).
func TestOPS1_MakefileGuardTripsOnAnotherToolchain(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	fake := t.TempDir()
	script := "#!/bin/sh\nif [ \"$1 $2\" = \"env GOVERSION\" ]; then echo go1.26.8; exit 0; fi\necho \"fake go: $*\" >&2; exit 1\n"
	if err := os.WriteFile(filepath.Join(fake, "go"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-C", root, "-n", "help")
	cmd.Env = append(os.Environ(), "PATH="+fake+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("make with go1.26.8: err = %v, want a non-zero exit\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 {
		t.Errorf("guard printed %d lines, want one:\n%s", len(lines), out)
	}
	for _, want := range []string{"go1." + pin[2:], "go1.26.8", "GOTOOLCHAIN"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("guard message lacks %q: %s", want, out)
		}
	}
	if strings.Contains(string(out), "fake go:") {
		t.Errorf("make ran go for more than the guard: %s", out)
	}
}

// TestOPS1_MakefileGuardPassesWithThePin: the real toolchain passes the guard.
func TestOPS1_MakefileGuardPassesWithThePin(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-C", repoRoot(t), "help")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	for _, target := range []string{"help", "run", "test", "build", "lint", "vuln", "generate", "check-generate", "fuzz", "clean-data"} {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(target) + ` `).Match(out) {
			t.Errorf("make help does not list %s:\n%s", target, out)
		}
	}
}

// TestOPS8_CIRun reads .ci/run: it exports the toolchain, prints the machine's
// size and go version, and runs make test under a 3600 s timeout, nothing
// else (OPS-8).
func TestOPS8_CIRun(t *testing.T) {
	t.Parallel()
	script := readRepoFile(t, ".ci/run")
	info, err := os.Stat(filepath.Join(repoRoot(t), ".ci/run"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&0o111 == 0 {
		t.Error(".ci/run is not executable")
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(script))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Fatal(".ci/run is empty")
	}
	for _, want := range []string{"set -euo pipefail", "export GOTOOLCHAIN=go" + pin, "go version"} {
		if !containsLine(lines, want) {
			t.Errorf(".ci/run lacks the line %q", want)
		}
	}
	for _, want := range []string{"nproc", "free", "df"} {
		if !strings.Contains(script, want) {
			t.Errorf(".ci/run does not print %s", want)
		}
	}
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^exec timeout (--kill-after=\S+ )?3600 make test$`).MatchString(last) {
		t.Errorf(".ci/run ends with %q, want `exec timeout --kill-after=30s 3600 make test`", last)
	}
	makes := 0
	for _, l := range lines {
		if strings.Contains(l, "make ") {
			makes++
		}
	}
	if makes != 1 {
		t.Errorf(".ci/run runs make %d times; it must run make test once and nothing else that make test does not do", makes)
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// nolintDirective matches a comment that golangci-lint reads as a directive.
var nolintDirective = regexp.MustCompile(`^//\s*nolint\b`)

// nolintOK is the only accepted form: specific linters and a reason.
var nolintOK = regexp.MustCompile(`^//nolint:([a-z0-9-]+(?:,[a-z0-9-]+)*) // \S`)

// badNolint reports whether comment is a //nolint directive without specific
// linters or without a reason.
func badNolint(comment string) bool {
	if !nolintDirective.MatchString(comment) {
		return false
	}
	m := nolintOK.FindStringSubmatch(comment)
	return m == nil || slices.Contains(strings.Split(m[1], ","), "all")
}

func TestBadNolint(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"//nolint":                                  true,
		"// nolint:errcheck // reason":              true,
		"//nolint:errcheck":                         true,
		"//nolint:errcheck //":                      true,
		"//nolint:all // reason":                    true,
		"//nolint:errcheck // reason":               false,
		"//nolint:errcheck,gosec // closing a pipe": false,
		"// an ordinary comment about nolint":       false,
		"//nolintlint is a linter":                  false,
	}
	for comment, want := range tests {
		if got := badNolint(comment); got != want {
			t.Errorf("badNolint(%q) = %v, want %v", comment, got, want)
		}
	}
}

// TestOPS40_NoBareNolintInTheRepository scans every Go file's comments: a
// //nolint must name its linters and give a reason (OPS-40).
func TestOPS40_NoBareNolintInTheRepository(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	files := 0
	walkRepo(t, root, func(p string) {
		if !strings.HasSuffix(p, ".go") || strings.Contains(filepath.ToSlash(p), "/testdata/") {
			return
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return // a file that does not parse fails its own package's build
		}
		for _, g := range f.Comments {
			for _, c := range g.List {
				if badNolint(c.Text) {
					rel, _ := filepath.Rel(root, fset.Position(c.Pos()).Filename)
					t.Errorf("%s:%d: %q: write //nolint:<linter> // <reason>", rel, fset.Position(c.Pos()).Line, c.Text)
				}
			}
		}
	})
	if files == 0 {
		t.Error("found no Go files")
	}
}

// golangciLint returns the pinned binary built by make test's deps stage (or
// make tools), or "" when it has not been built.
func golangciLint(t *testing.T, root string) string {
	t.Helper()
	gomod := readRepoFile(t, "tools/pins/golangci-lint/go.mod")
	m := regexp.MustCompile(`(?m)^\s*github\.com/golangci/golangci-lint/v2 (v\S+)`).FindStringSubmatch(gomod)
	if m == nil {
		t.Fatal("tools/pins/golangci-lint/go.mod does not require github.com/golangci/golangci-lint/v2")
	}
	if m[1] != "v2.15.0" {
		t.Errorf("golangci-lint is pinned at %s, want v2.15.0 (operations.md §7)", m[1])
	}
	out, err := exec.CommandContext(t.Context(), "go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, ".cache", "bin", "golangci-lint-"+m[1]+"-"+strings.TrimSpace(string(out)))
	if _, err := os.Stat(bin); err != nil {
		return ""
	}
	return bin
}

// TestOPS40_GolangciLintRejectsBareNolint runs the pinned golangci-lint with
// the repository's configuration on a fixture module: a bare //nolint and a
// //nolint without a reason fail; a specific one with a reason passes (OPS-40).
func TestOPS40_GolangciLintRejectsBareNolint(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	bin := golangciLint(t, root)
	if bin == "" {
		t.Skip("the pinned golangci-lint is not in .cache/bin; make tools (or make test's deps stage) builds it")
	}
	tests := []struct {
		name      string
		directive string
		wantFail  string // "" means the lint passes
	}{
		{name: "bare", directive: "//nolint", wantFail: "should mention specific linter"},
		{name: "no reason", directive: "//nolint:errcheck,gosec", wantFail: "should provide explanation"},
		{name: "specific with a reason", directive: "//nolint:errcheck,gosec // the fixture ignores the error on purpose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := "// Package fixture is a lint fixture.\npackage fixture\n\nimport \"os\"\n\n" +
				"// Remove ignores an error.\nfunc Remove() {\n\tos.Remove(\"x\") " + tt.directive + "\n}\n"
			for name, content := range map[string]string{"go.mod": "module example.com/fixture\n\ngo 1.26.0\n", "fixture.go": src} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// The configuration resolves paths from the git root.
			if out, err := exec.CommandContext(t.Context(), "git", "init", "-q", dir).CombinedOutput(); err != nil {
				t.Fatalf("git init: %v\n%s", err, out)
			}
			// Several runs share golangci-lint's cache; its lock would refuse the parallel subtests.
			cmd := exec.CommandContext(t.Context(), bin, "run", "--allow-parallel-runners", "--config", filepath.Join(root, ".golangci.yml"), "./...")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOWORK=off")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			switch {
			case tt.wantFail == "" && err != nil:
				t.Errorf("golangci-lint failed on %q: %v\n%s", tt.directive, err, out.String())
			case tt.wantFail != "" && err == nil:
				t.Errorf("golangci-lint accepted %q\n%s", tt.directive, out.String())
			case tt.wantFail != "" && !strings.Contains(out.String(), tt.wantFail):
				t.Errorf("golangci-lint output lacks %q:\n%s", tt.wantFail, out.String())
			}
		})
	}
}
