package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// nodeDir is tools/e2e/ts: the pinned Node clients (package.json and its
// committed package-lock.json; node_modules is not committed).
func nodeDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "tools", "e2e", "ts")
}

// nodeModules is installed at most once per test binary.
var nodeModules struct {
	once sync.Once
	err  error
	out  []byte
}

// needNode returns the node binary from PATH after making sure
// tools/e2e/ts/node_modules matches the lockfile: make test's deps stage
// runs `npm ci` there, and a test run without it (go test ./e2e/... by hand)
// runs it here. A missing node or a failed install fails the test.
func needNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (make test's deps stage installs Node 22): %v", err)
	}
	dir := nodeDir(t)
	nodeModules.once.Do(func() {
		if nodeModulesCurrent(dir) {
			return
		}
		cmd := exec.CommandContext(t.Context(), "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		nodeModules.out, nodeModules.err = cmd.CombinedOutput()
	})
	if nodeModules.err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, nodeModules.err, nodeModules.out)
	}
	return node
}

// nodeModulesCurrent reports whether dir/node_modules was installed from
// dir's current package-lock.json (npm writes node_modules/.package-lock.json
// last; testrun's deps stage uses the same rule).
func nodeModulesCurrent(dir string) bool {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false
	}
	installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	return err == nil && !installed.ModTime().Before(lock.ModTime())
}
