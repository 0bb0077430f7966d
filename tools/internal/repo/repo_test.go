package repo_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mcpbox/mcpbox/tools/internal/repo"
)

func TestRoot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Root(deep); err == nil {
		t.Error("found a root without go.work")
	}
	if err := os.WriteFile(filepath.Join(root, "go.work"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := repo.Root(deep); err != nil || got != root {
		t.Errorf("Root = %q, %v; want %q", got, err, root)
	}
	if got, err := repo.RootFromWD(); err != nil || filepath.Base(got) == "tools" {
		t.Errorf("RootFromWD = %q, %v", got, err)
	}
}
