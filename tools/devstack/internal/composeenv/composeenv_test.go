package composeenv_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/composeenv"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/devenv"
)

func TestWriteCreatesThenOnlyCompletes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "deploy", "compose", ".env")
	added, err := composeenv.Write(path, "v1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		composeenv.Version, devenv.BackendToken, devenv.SandboxToken, devenv.GatewayToken,
		devenv.EncryptionKey, devenv.EncryptionKeyID, composeenv.PostgresPassword,
	}
	if !slices.Equal(added, want) {
		t.Errorf("wrote %v, want %v", added, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi, err)
	}
	added, err = composeenv.Write(path, "v2")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := devenv.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 0 || vals[composeenv.Version] != "v1" {
		t.Errorf("second write added %v, version %q; an existing file keeps its values", added, vals[composeenv.Version])
	}
}
