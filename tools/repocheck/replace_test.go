package repocheck

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// outsideReplaces returns a problem for each replace directive of a go.mod
// or go.work file (path, its text) whose target leaves the repository at
// root: a module path (a fork fetched from elsewhere) or a directory outside
// root (operations.md §7). A directory inside the repository is fine.
func outsideReplaces(root, path string, text []byte) []string {
	var problems []string
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "//")
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case inBlock && f[0] == ")":
			inBlock = false
			continue
		case f[0] == "replace" && len(f) == 2 && f[1] == "(":
			inBlock = true
			continue
		case f[0] == "replace":
			f = f[1:]
		case !inBlock:
			continue
		}
		arrow := slices.Index(f, "=>")
		if arrow < 0 || arrow+1 >= len(f) {
			problems = append(problems, fmt.Sprintf("%s:%d: cannot read replace directive %q", path, n, strings.TrimSpace(line)))
			continue
		}
		target := f[arrow+1]
		if !isLocalPath(target) {
			problems = append(problems, fmt.Sprintf("%s:%d: replace %s => %s points outside the repository (a module, not a directory in it)", path, n, f[0], strings.Join(f[arrow+1:], " ")))
			continue
		}
		dir := target
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(path), dir)
		}
		if rel, err := filepath.Rel(root, dir); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			problems = append(problems, fmt.Sprintf("%s:%d: replace %s => %s points outside the repository (%s)", path, n, f[0], target, dir))
		}
	}
	return problems
}

// isLocalPath reports whether a replacement target is a directory, which
// go.mod spells with a leading ./, ../ or /.
func isLocalPath(target string) bool {
	return target == "." || target == ".." || strings.HasPrefix(target, "./") || strings.HasPrefix(target, "../") || filepath.IsAbs(target)
}

// TestOPS41_NoReplaceOutsideTheRepository: no go.mod or go.work in the
// repository (testdata aside) replaces a module with anything outside it.
func TestOPS41_NoReplaceOutsideTheRepository(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	n, replaces := 0, 0
	walkRepo(t, root, func(p string) {
		if base := filepath.Base(p); (base != "go.mod" && base != "go.work") || strings.Contains(filepath.ToSlash(p), "/testdata/") {
			return
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return
		}
		n++
		replaces += bytes.Count(b, []byte("=>"))
		for _, problem := range outsideReplaces(root, p, b) {
			t.Error(problem)
		}
	})
	if n < 10 || replaces == 0 {
		t.Errorf("read %d go.mod/go.work files with %d replace targets; want every module (workspace, tools, deploy, pins), and tools/go.mod replaces proto", n, replaces)
	}
}

// TestOPS41_OutsideReplaceFails: the negative fixture's replace by a
// directory above the repository and by a module fork both fail, naming the
// file, line and module; replaces into the repository pass.
func TestOPS41_OutsideReplaceFails(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	read := func(name string) (string, []byte) {
		p := filepath.Join(root, "tools", "repocheck", "testdata", "replace", name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return p, b
	}
	p, b := read("outside.go.mod")
	got := outsideReplaces(root, p, b)
	want := []string{
		p + ":12: replace example.com/a => ../../../../../elsewhere/a points outside the repository",
		p + ":15: replace example.com/b => github.com/someone/b-fork v1.0.1 points outside the repository (a module, not a directory in it)",
	}
	if len(got) != len(want) {
		t.Fatalf("problems = %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	if p, b := read("inside.go.mod"); len(outsideReplaces(root, p, b)) != 0 {
		t.Errorf("inside.go.mod: %q", outsideReplaces(root, p, b))
	}
}
