package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/proto/envcfg"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/composeenv"
	"github.com/mcpbox/mcpbox/tools/devstack/internal/devenv"
)

// §5.1: compose-env writes deploy/compose/.env (0600) when missing, with strong secrets, and leaves a
// complete file alone.
func TestComposeEnvWritesSecretsOnce(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.work"), []byte("go 1.26.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"compose-env", "-root", root, "-version", "v1.2.3"}, nil, &out, &out, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "deploy", "compose", ".env")
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
	if vals[composeenv.Version] != "v1.2.3" || vals[devenv.EncryptionKeyID] != "1" {
		t.Errorf("version %q, key id %q", vals[composeenv.Version], vals[devenv.EncryptionKeyID])
	}
	names := []string{devenv.BackendToken, devenv.SandboxToken, devenv.GatewayToken, composeenv.PostgresPassword}
	for _, k := range names {
		if err := envcfg.CheckStrength(vals[k], envcfg.MinTokenBytes); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if err := envcfg.CheckKeyHex(vals[devenv.EncryptionKey]); err != nil {
		t.Errorf("encryption key: %v", err)
	}
	if err := devenv.CheckDistinct(append(names, devenv.EncryptionKey), vals); err != nil {
		t.Error(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run([]string{"compose-env", "-root", root}, nil, &out, &out, nil); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) || !strings.Contains(out.String(), "left unchanged") {
		t.Errorf("second run changed the file or said %q", out.String())
	}
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.work"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"compose-env", "extra"}} {
		err := run(args, nil, &out, &out, nil)
		var ex exitError
		if !asExit(err, &ex) || ex.code != 2 {
			t.Errorf("%v: %v, want exit 2", args, err)
		}
	}
	err := run([]string{"-root", root}, []string{"MCPBOX_DEV_PORT_OFFSET=ten"}, &out, &out, nil)
	if !strings.Contains(errString(err), "MCPBOX_DEV_PORT_OFFSET") {
		t.Errorf("bad offset: %v", err)
	}
}

func asExit(err error, ex *exitError) bool { return errors.As(err, ex) }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestStopTimeout(t *testing.T) {
	t.Parallel()
	for vars, want := range map[[2]string]string{
		{"", ""}:        "25s",
		{"0s", "10s"}:   "15s",
		{"5s", "25s"}:   "35s",
		{"bad", "-1s"}:  "25s",
		{"1s", "500ms"}: "6.5s",
	} {
		got := stopTimeout(map[string]string{"MCPBOX_SHUTDOWN_DELAY": vars[0], "MCPBOX_SHUTDOWN_TIMEOUT": vars[1]})
		if got.String() != want {
			t.Errorf("delay %q timeout %q: %s, want %s", vars[0], vars[1], got, want)
		}
	}
}
