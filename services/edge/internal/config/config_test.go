package config_test

import (
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/services/edge/internal/config"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func base() map[string]string {
	return map[string]string{
		"MCPBOX_GATEWAY_TOKEN":   "e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312e9d8c7b6a5f40312",
		"MCPBOX_EDGE_PUBLIC_URL": "https://mcp.example.com",
		"MCPBOX_EDGE_ISSUER":     "https://idp.example.com/",
	}
}

func TestDerivedResourceAndAudience(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(base()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Resource != "https://mcp.example.com/mcp" || len(c.Audiences) != 1 || c.Audiences[0] != c.Resource {
		t.Errorf("resource %q audiences %q", c.Resource, c.Audiences)
	}
	if c.ShutdownDelay.String() != "5s" || c.ShutdownTimeout.String() != "25s" || c.MaxBody != 1<<20 {
		t.Errorf("edge defaults: %+v", c)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	cases := map[string]struct{ key, value, want string }{
		"http public url":  {"MCPBOX_EDGE_PUBLIC_URL", "http://mcp.example.com", "MCPBOX_EDGE_PUBLIC_URL: must use https://"},
		"path in url":      {"MCPBOX_EDGE_PUBLIC_URL", "https://mcp.example.com/x", "MCPBOX_EDGE_PUBLIC_URL: must be https://host[:port]"},
		"foreign audience": {"MCPBOX_EDGE_AUDIENCES", "https://other.example.com/mcp", "MCPBOX_EDGE_AUDIENCES: entry"},
		"wildcard cors":    {"MCPBOX_EDGE_CORS_ORIGINS", "*", "MCPBOX_EDGE_CORS_ORIGINS: entry"},
		"insecure in prod": {"MCPBOX_EDGE_INSECURE_DEV", "true", "MCPBOX_EDGE_INSECURE_DEV: only allowed with MCPBOX_MODE=dev"},
		"burst below rate": {"MCPBOX_EDGE_SUBJECT_BURST", "5", "MCPBOX_EDGE_SUBJECT_BURST: must be at least"},
		"half tls":         {"MCPBOX_EDGE_TLS_CERT_FILE", "/tls/cert.pem", "MCPBOX_EDGE_TLS_KEY_FILE: set both"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			kv := base()
			kv[tc.key] = tc.value
			if _, err := config.Load(env(kv)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestInsecureDevOnLoopback(t *testing.T) {
	t.Parallel()
	kv := base()
	kv["MCPBOX_MODE"] = "dev"
	kv["MCPBOX_EDGE_INSECURE_DEV"] = "true"
	kv["MCPBOX_EDGE_PUBLIC_URL"] = "http://127.0.0.1:8080"
	kv["MCPBOX_EDGE_ISSUER"] = "http://127.0.0.1:9400"
	kv["MCPBOX_EDGE_LISTEN"] = "127.0.0.1:8080"
	kv["MCPBOX_EDGE_ADMIN_LISTEN"] = "127.0.0.1:9080"
	if _, err := config.Load(env(kv)); err != nil {
		t.Fatalf("dev stack config refused: %v", err)
	}
}
