package devenv_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/devenv"
)

// allKeys is every key of operations.md §1.3 step 3, as devstack writes them for a private cluster.
func entries(t *testing.T) []devenv.Entry {
	t.Helper()
	secrets, err := devenv.Secrets()
	if err != nil {
		t.Fatal(err)
	}
	return append(secrets,
		devenv.Entry{Key: devenv.DevDB, Value: "private"},
		devenv.Entry{Key: devenv.DatabaseURL, Value: "postgres://mcpbox:x@127.0.0.1:15432/mcpbox?sslmode=disable"})
}

// OPS-4: dev.env has mode 0600 and every §1.3 key, each passing the strength check; a re-run leaves it
// byte-identical; a deleted key returns.
func TestOPS4_DevEnvKeysModeAndAppendOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dev.env")
	added, err := devenv.Ensure(path, "# header\n", entries(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		devenv.BackendToken, devenv.SandboxToken, devenv.GatewayToken, devenv.EncryptionKey, devenv.EncryptionKeyID,
		devenv.SetupCode, devenv.DevDB, devenv.DatabaseURL,
	}
	if !slices.Equal(added, want) {
		t.Errorf("wrote %v, want %v", added, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", fi.Mode().Perm())
	}
	vals, err := devenv.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range want {
		if vals[k] == "" {
			t.Errorf("%s missing", k)
		}
	}
	for _, k := range []string{devenv.BackendToken, devenv.SandboxToken, devenv.GatewayToken} {
		if err := envcfg.CheckStrength(vals[k], envcfg.MinTokenBytes); err != nil {
			t.Errorf("%s: %v", k, err)
		}
		if len(vals[k]) != 64 || strings.Trim(vals[k], "0123456789abcdef") != "" {
			t.Errorf("%s = %q, want 32 random bytes as hex", k, vals[k])
		}
	}
	if err := envcfg.CheckKeyHex(vals[devenv.EncryptionKey]); err != nil {
		t.Errorf("%s: %v", devenv.EncryptionKey, err)
	}
	if vals[devenv.EncryptionKeyID] != "1" {
		t.Errorf("key id %q", vals[devenv.EncryptionKeyID])
	}
	if code := vals[devenv.SetupCode]; len(code) != 16 || envcfg.CheckStrength(code, devenv.MinSetupCodeChars) != nil {
		t.Errorf("setup code %q: want 16 characters passing the strength check", code)
	}
	secretNames := []string{devenv.BackendToken, devenv.SandboxToken, devenv.GatewayToken, devenv.EncryptionKey, devenv.SetupCode}
	if err := devenv.CheckDistinct(secretNames, vals); err != nil {
		t.Error(err)
	}

	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	added, err = devenv.Ensure(path, "# header\n", entries(t)) // fresh values: none may replace a stored one
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 0 || string(after) != string(before) {
		t.Errorf("re-run changed the file (added %v)", added)
	}

	// Delete one line (and the final newline, as an editor might): only it returns, the rest is untouched.
	var kept []string
	for _, l := range strings.Split(strings.TrimSuffix(string(before), "\n"), "\n") {
		if !strings.HasPrefix(l, devenv.SandboxToken+"=") {
			kept = append(kept, l)
		}
	}
	edited := strings.Join(kept, "\n")
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	added, err = devenv.Ensure(path, "# header\n", entries(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(added, []string{devenv.SandboxToken}) {
		t.Errorf("added %v, want only %s", added, devenv.SandboxToken)
	}
	final, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(final), edited+"\n"+devenv.SandboxToken+"=") {
		t.Errorf("existing lines changed:\n%s", final)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after append: %v %v", fi.Mode().Perm(), err)
	}
	vals2, err := devenv.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if vals2[devenv.BackendToken] != vals[devenv.BackendToken] || vals2[devenv.SandboxToken] == vals[devenv.SandboxToken] {
		t.Error("kept value changed, or the deleted token came back with its old value")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	got := devenv.Parse([]byte("# c\n\nA=1\nexport B = x\nC=\"q v\"\nD='s'\nbad line\nA=2\nE=a=b\n"))
	want := map[string]string{"A": "2", "B": " x", "C": "q v", "D": "s", "E": "a=b"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
}

func TestSecretsAreStrongAcrossManyDraws(t *testing.T) {
	t.Parallel()
	for range 200 {
		code, err := devenv.NewSetupCode()
		if err != nil {
			t.Fatal(err)
		}
		if err := envcfg.CheckStrength(code, devenv.MinSetupCodeChars); err != nil || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("setup code %q: %v", code, err)
		}
	}
}
