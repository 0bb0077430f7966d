package deps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/tools/testrun/internal/testdb"
)

// nodeVersion matches `node --version` output such as "v20.20.2".
var nodeVersion = regexp.MustCompile(`^v(\d+)\.`)

// Probe reads the machine and the tree under root into Facts.
func Probe(ctx context.Context, root string) (Facts, error) {
	f := Facts{
		OnPath: map[string]bool{},
		Dpkg:   map[string]bool{},
		Files:  map[string]bool{},
	}
	gov, err := output(ctx, root, "go", "env", "GOVERSION")
	if err != nil {
		return Facts{}, fmt.Errorf("probe go version: %w", err)
	}
	f.GoVersion = gov
	if f.GoModCache, err = output(ctx, root, "go", "env", "GOMODCACHE"); err != nil {
		return Facts{}, fmt.Errorf("probe module cache: %w", err)
	}
	for _, c := range []string{"initdb", "chromium", "promtool", "node"} {
		if _, err := exec.LookPath(c); err == nil {
			f.OnPath[c] = true
		}
	}
	f.PostgresBin = testdb.NewestPostgresBin()
	for _, p := range []string{"chromium", "prometheus", "postgresql"} {
		if s, err := output(ctx, root, "dpkg-query", "-W", "-f=${Status}", p); err == nil && strings.HasSuffix(s, " installed") {
			f.Dpkg[p] = true
		}
	}
	if f.OnPath["node"] {
		if v, err := output(ctx, root, "node", "--version"); err == nil {
			if m := nodeVersion.FindStringSubmatch(v); m != nil {
				f.NodeMajor, _ = strconv.Atoi(m[1])
			}
		}
	}
	if f.Pins, err = ReadPins(root); err != nil {
		return Facts{}, err
	}
	if np, err := ReadNodePin(root); err == nil {
		f.NodePin = np
	} else if !errors.Is(err, os.ErrNotExist) {
		return Facts{}, err
	}
	for _, rel := range FilesToCheck(f.GoVersion, f.Pins) {
		if _, err := os.Stat(filepath.Join(root, rel)); err == nil {
			f.Files[rel] = true
		}
	}
	f.Consumers = Consumers{
		BrowserTests: len(BrowserTestDirs(root)) > 0,
		PromRules:    exists(filepath.Join(root, "deploy/prometheus")),
		NodeTests:    exists(filepath.Join(root, NodeTestsDir, "package.json")),
	}
	f.NodeModulesCurrent = nodeModulesCurrent(filepath.Join(root, NodeTestsDir))
	f.Privilege = privilege(ctx)
	return f, nil
}

// BrowserTestDirs returns the directories under root (services/ and tools/)
// holding a _test.go file with a `browser` build tag, sorted.
func BrowserTestDirs(root string) []string {
	seen := map[string]bool{}
	for _, top := range []string{"services", "tools"} {
		_ = filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil //nolint:nilerr // an unreadable directory has no test to find; keep walking
			}
			if d.IsDir() {
				if n := d.Name(); n == "node_modules" || n == "testdata" || strings.HasPrefix(n, ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, "_test.go") && hasBrowserTag(p) {
				seen[filepath.Dir(p)] = true
			}
			return nil
		})
	}
	dirs := make([]string, 0, len(seen))
	for d := range seen {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}

// browserConstraint matches a //go:build line that mentions the browser tag.
var browserConstraint = regexp.MustCompile(`^//go:build .*\bbrowser\b`)

func hasBrowserTag(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for i := 0; i < 20 && sc.Scan(); i++ {
		line := sc.Text()
		if strings.HasPrefix(line, "package ") {
			return false
		}
		if browserConstraint.MatchString(line) {
			return true
		}
	}
	return false
}

func nodeModulesCurrent(dir string) bool {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false
	}
	installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return false
	}
	return !installed.ModTime().Before(lock.ModTime())
}

func privilege(ctx context.Context) Privilege {
	if os.Geteuid() == 0 {
		return Root
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if exec.CommandContext(ctx, "sudo", "-n", "true").Run() == nil {
		return Sudo
	}
	return NoPrivilege
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func output(ctx context.Context, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(b)), nil
}
