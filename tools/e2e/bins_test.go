package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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

// repoRoot walks up from the working directory to the directory of go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the working directory")
		}
		dir = parent
	}
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
