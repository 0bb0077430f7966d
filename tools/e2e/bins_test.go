package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

// services are the four service binaries.
func services() []string { return []string{"backend", "gateway", "sandbox", "edge"} }

// binDir returns the directory with the built binaries: MCPBOX_BIN_DIR, or
// <repo>/bin when the binaries are there. A missing directory fails the
// test (a skip would hide it).
func binDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MCPBOX_BIN_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "bin")
	}
	if _, err := os.Stat(filepath.Join(dir, "backend")); err != nil {
		t.Fatalf("no service binaries in %s (run `make build`, or set MCPBOX_BIN_DIR): %v", dir, err)
	}
	return dir
}

// repoRoot is the directory above the working directory that holds go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := repo.RootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// command returns an exec.Cmd for a binary of bin/ with exactly env (plus
// PATH) as its environment.
func command(t *testing.T, name string, env map[string]string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), filepath.Join(binDir(t), name), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}
