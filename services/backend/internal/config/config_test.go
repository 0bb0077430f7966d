package config_test

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/services/backend/internal/config"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

const key = "9c1e5f2a7b3d8c4e0f6a1b7c2d8e3f9a4b0c5d1e6f2a7b3c8d4e9f0a5b1c6d2e"

func base() map[string]string {
	return map[string]string{
		"MCPBOX_DATABASE_URL":   "postgres://mcpbox:pw@127.0.0.1:5432/mcpbox",
		"MCPBOX_ENCRYPTION_KEY": key,
		"MCPBOX_BACKEND_TOKEN":  "b7e1c2d3a4f5061728394a5b6c7d8e9fb7e1c2d3a4f5061728394a5b6c7d8e9f",
		"MCPBOX_SANDBOX_TOKEN":  "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
	}
}

func TestMigrateNeedsOnlyTheStoreVariables(t *testing.T) {
	t.Parallel()
	kv := map[string]string{"MCPBOX_DATABASE_URL": base()["MCPBOX_DATABASE_URL"], "MCPBOX_ENCRYPTION_KEY": key}
	if _, err := config.LoadMigrate(env(kv)); err != nil {
		t.Fatalf("migrate config: %v", err)
	}
	if _, err := config.Load(env(kv)); err == nil {
		t.Fatal("serve config accepted without tokens")
	}
}

func TestOldKeys(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"2:" + strings.Repeat("ab", 32):   "",
		"1:" + strings.Repeat("ab", 32):   "appears twice",
		"x:" + strings.Repeat("ab", 32):   "each entry must be id:hex64",
		"2:abc":                           "key id 2: must be exactly 64 hex characters",
		"300:" + strings.Repeat("ab", 32): "each entry must be id:hex64 with id 1–255 (entry with id 300)",
	}
	for value, want := range cases {
		kv := base()
		kv["MCPBOX_ENCRYPTION_OLD_KEYS"] = value
		_, err := config.Load(env(kv))
		switch {
		case want == "" && err != nil:
			t.Errorf("%.10s: %v", value, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%.10s: err = %v, want %q", value, err, want)
		}
		if err != nil && strings.Contains(err.Error(), strings.Repeat("ab", 32)) {
			t.Errorf("error echoes key material: %v", err)
		}
	}
}

func TestListenersMustDiffer(t *testing.T) {
	t.Parallel()
	kv := base()
	kv["MCPBOX_BACKEND_INTERNAL_LISTEN"] = ":8000"
	if _, err := config.Load(env(kv)); err == nil || !strings.Contains(err.Error(), "MCPBOX_BACKEND_INTERNAL_LISTEN: must differ") {
		t.Errorf("err = %v", err)
	}
}
