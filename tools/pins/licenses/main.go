// Command licenses is the licence check of `make vuln` (operations.md §7,
// OPS-42). It scans, with github.com/google/licensecheck v0.3.1, the licence
// files of every module in the workspace's build list:
//
//   - a module compiled into a service binary (`go list -deps` over each
//     services/* module) needs a LICENSE, COPYING or NOTICE file recognised,
//     with coverage ≥ 80 %, as Apache-2.0, MIT, BSD-2-Clause, BSD-3-Clause,
//     ISC, MPL-2.0, Zlib, Unlicense, CC0-1.0 or 0BSD, or an entry for its
//     exact version in deploy/security/licenses.yaml (module, version, spdx,
//     note);
//   - AGPL, GPL, LGPL, SSPL, BUSL and the Commons Clause fail anywhere in the
//     build list (`go list -m all` in each workspace module), reviewed or not;
//   - an entry of licenses.yaml that accepts nothing fails as stale.
//
// The repository's own modules are skipped. A build-list module that is not
// in the module cache (only its go.mod was ever needed) cannot be read: the
// check names how many, and -download fetches them first with
// `go mod download` (about 60 modules, from the Go module proxy).
//
//	licenses [-root DIR] [-download]
//
// It lives in its own pin module (tools/pins/licenses) so that licensecheck
// never enters tools/go.mod; make builds it into .cache/bin like the other
// pinned tools.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Environ(), os.Stdout))
}

func run(ctx context.Context, args, environ []string, out io.Writer) int {
	fs := flag.NewFlagSet("licenses", flag.ContinueOnError)
	fs.SetOutput(out)
	root := fs.String("root", ".", "repository root (the directory holding go.work)")
	download := fs.Bool("download", false, "go mod download build-list modules missing from the module cache, so that every licence is read")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		_, _ = fmt.Fprintf(out, "licenses: %v\n", err)
		return 2
	}
	// The workspace's build lists need go.work: a caller's GOWORK=off (tools/
	// and deploy/ use it) must not leak in.
	environ = slices.DeleteFunc(slices.Clone(environ), func(kv string) bool { return strings.HasPrefix(kv, "GOWORK=") })
	r, err := checkRepo(ctx, abs, environ, *download)
	if err != nil {
		_, _ = fmt.Fprintf(out, "licenses: FAIL: %v\n", err)
		return 1
	}
	for _, p := range r.Problems {
		_, _ = fmt.Fprintln(out, "licenses: "+p)
	}
	_, _ = fmt.Fprintf(out, "licenses: %d compiled modules recognised, %d accepted by %s, %d other build-list modules free of forbidden licences\n",
		r.Accepted, r.Reviewed, ListFile, r.Checked)
	if len(r.Absent) > 0 {
		_, _ = fmt.Fprintf(out, "licenses: %d build-list modules are not in the module cache and were not read (never compiled; -download reads them): %s\n",
			len(r.Absent), strings.Join(r.Absent, " "))
	}
	if len(r.Problems) > 0 {
		_, _ = fmt.Fprintf(out, "licenses: FAIL: %d problems\n", len(r.Problems))
		return 1
	}
	_, _ = fmt.Fprintln(out, "licenses: ok")
	return 0
}

// checkRepo lists the build lists of the workspace at root and checks them.
func checkRepo(ctx context.Context, root string, environ []string, download bool) (Report, error) {
	f, err := os.Open(filepath.Join(root, ListFile))
	if err != nil {
		return Report{}, err
	}
	list, err := ParseList(ListFile, f)
	_ = f.Close()
	if err != nil {
		return Report{}, err
	}
	mods, err := buildList(ctx, root, environ)
	if err != nil {
		return Report{}, err
	}
	if download {
		if err := downloadAbsent(ctx, root, environ, mods); err != nil {
			return Report{}, err
		}
		if mods, err = buildList(ctx, root, environ); err != nil {
			return Report{}, err
		}
	}
	return Check(mods, list, ScanDir), nil
}

// buildList returns every module of every workspace module's build list,
// sorted, outside the repository, marking those a service binary compiles.
func buildList(ctx context.Context, root string, environ []string) ([]Module, error) {
	dirs, err := goLines(ctx, root, environ, "list", "-m", "-f", "{{.Dir}}")
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("go list -m in %s lists no go.work modules", root)
	}
	modCache, err := goLines(ctx, root, environ, "env", "GOMODCACHE")
	if err != nil {
		return nil, err
	}
	if len(modCache) != 1 {
		return nil, fmt.Errorf("go env GOMODCACHE printed %q, want one directory", modCache)
	}
	byKey := map[string]*Module{}
	add := func(line string, compiled bool) {
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[1] == "" || inside(root, f[2]) {
			return // the repository's own modules have no version
		}
		m := byKey[f[0]+"@"+f[1]]
		if m == nil {
			m = &Module{Path: f[0], Version: f[1], Dir: f[2]}
			if m.Dir == "" {
				m.Dir = cacheDir(modCache[0], m.Path, m.Version)
			}
			byKey[f[0]+"@"+f[1]] = m
		}
		m.Compiled = m.Compiled || compiled
	}
	for _, d := range dirs {
		all, err := goLines(ctx, d, environ, "list", "-m", "-f", "{{.Path}}\t{{.Version}}\t{{.Dir}}", "all")
		if err != nil {
			return nil, err
		}
		for _, l := range all {
			add(l, false)
		}
		if !inside(filepath.Join(root, "services"), d) {
			continue
		}
		deps, err := goLines(ctx, d, environ, "list", "-deps", "-f", "{{with .Module}}{{.Path}}\t{{.Version}}\t{{.Dir}}{{end}}", "./...")
		if err != nil {
			return nil, err
		}
		for _, l := range deps {
			add(l, true)
		}
	}
	mods := make([]Module, 0, len(byKey))
	for _, m := range byKey {
		mods = append(mods, *m)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].String() < mods[j].String() })
	return mods, nil
}

// cacheDir is where the module cache would hold path@version, or "" when it
// does not.
func cacheDir(modCache, path, version string) string {
	var b strings.Builder
	for _, r := range path {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	dir := filepath.Join(modCache, b.String()+"@"+version)
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

func downloadAbsent(ctx context.Context, root string, environ []string, mods []Module) error {
	args := []string{"mod", "download"}
	for _, m := range mods {
		if m.Dir == "" {
			args = append(args, m.String())
		}
	}
	if len(args) == 2 {
		return nil
	}
	_, err := goLines(ctx, root, environ, args...)
	return err
}

func inside(root, dir string) bool {
	rel, err := filepath.Rel(root, dir)
	return dir != "" && err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// goLines runs go with args in dir and returns its non-empty output lines.
func goLines(ctx context.Context, dir string, environ []string, args ...string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	var stdout, stderr bytes.Buffer
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, environ, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("(cd %s && go %s): %w: %s", dir, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var lines []string
	for l := range strings.Lines(stdout.String()) {
		if l = strings.TrimRight(l, "\r\n"); strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}
