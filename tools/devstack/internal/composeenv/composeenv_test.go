package composeenv_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/composeenv"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/devenv"
	"github.com/mcpbox/mcpbox/tools/internal/repo"
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

// OPS-32 (§5.1, like dev.env's OPS-4): a key deleted from deploy/compose/.env
// returns on the next run with a fresh value, and every other line stays
// byte-identical.
func TestOPS32_DeletedKeyReturnsOthersUntouched(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), ".env")
	if _, err := composeenv.Write(path, "v1"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if !strings.HasPrefix(line, devenv.SandboxToken+"=") {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(kept, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	added, err := composeenv.Write(path, "v2")
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(added, []string{devenv.SandboxToken}) || !strings.HasPrefix(string(after), strings.Join(kept, "")) {
		t.Errorf("re-run added %v; want only %s appended after the untouched lines", added, devenv.SandboxToken)
	}
	vals, err := devenv.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := envcfg.CheckStrength(vals[devenv.SandboxToken], envcfg.MinTokenBytes); err != nil {
		t.Errorf("%s: %v", devenv.SandboxToken, err)
	}
}

// OPS-32: compose-env writes every variable that deploy/compose/compose.yaml
// requires (each ${VAR:?…}), so `docker compose up` never stops for one
// after it ran.
func TestOPS32_WritesEveryVariableComposeRequires(t *testing.T) {
	t.Parallel()
	root, err := repo.RootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	compose, err := os.ReadFile(filepath.Join(root, "deploy", "compose", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), ".env")
	if _, err := composeenv.Write(path, "v1"); err != nil {
		t.Fatal(err)
	}
	vals, err := devenv.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	required := regexp.MustCompile(`\$\{([A-Z0-9_]+):\?`)
	found := 0
	for _, line := range strings.Split(string(compose), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") { // prose, not YAML
			continue
		}
		for _, m := range required.FindAllStringSubmatch(line, -1) {
			found++
			if vals[m[1]] == "" {
				t.Errorf("compose.yaml requires %s, which compose-env does not write", m[1])
			}
		}
	}
	if found == 0 {
		t.Error("compose.yaml has no ${VAR:?…} interpolation; the secrets must be required")
	}
}
