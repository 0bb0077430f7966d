package settings_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mcpbox/mcpbox/tools/devstack/internal/settings"
)

func TestResolveLayersAndDerives(t *testing.T) {
	t.Parallel()
	file := map[string]string{"MCPBOX_BACKEND_TOKEN": "from-file", "MCPBOX_LOG_LEVEL": "debug", "MCPBOX_SANDBOX_TOKEN": "f"}
	caller := map[string]string{
		"MCPBOX_LOG_LEVEL": "warn", "MCPBOX_SANDBOX_LISTEN": "127.0.0.1:7001", "PATH": "/bin",
		"MCPBOX_SANDBOX_TOKEN_FILE": "/run/secret",
	}
	v := settings.Resolve(settings.Defaults(0), file, caller)
	for k, want := range map[string]string{
		"MCPBOX_MODE":                    "dev",
		"MCPBOX_BACKEND_TOKEN":           "from-file", // dev.env over defaults
		"MCPBOX_LOG_LEVEL":               "warn",      // caller over dev.env
		"MCPBOX_SANDBOX_URL":             "http://127.0.0.1:7001",
		"MCPBOX_BACKEND_INTERNAL_URL":    "http://127.0.0.1:8004",
		"MCPBOX_LOCAL_MCP_URL":           "http://127.0.0.1:8002/mcp",
		"MCPBOX_EDGE_UPSTREAM_URL":       "http://127.0.0.1:8003",
		"MCPBOX_EDGE_ISSUER":             "http://127.0.0.1:9400",
		"MCPBOX_EDGE_PUBLIC_URL":         "http://127.0.0.1:8080",
		"MCPBOX_EDGE_INSECURE_DEV":       "true",
		"MCPBOX_GATEWAY_SESSION_MODE":    "hybrid",
		"MCPBOX_BACKEND_LISTEN":          "127.0.0.1:8000",
		"MCPBOX_BACKEND_INTERNAL_LISTEN": "127.0.0.1:8004",
		"MCPBOX_EDGE_ADMIN_LISTEN":       "127.0.0.1:9080",
		"MCPBOX_DEV_PG_PORT":             "15432",
		"MCPBOX_SANDBOX_TOKEN_FILE":      "/run/secret",
	} {
		if v[k] != want {
			t.Errorf("%s = %q, want %q", k, v[k], want)
		}
	}
	if _, ok := v["PATH"]; ok {
		t.Error("non-MCPBOX variable layered")
	}
	if _, ok := v["MCPBOX_SANDBOX_TOKEN"]; ok {
		t.Error("caller's _FILE did not displace dev.env's value")
	}
}

func TestDefaultsMoveWithOffset(t *testing.T) {
	t.Parallel()
	v := settings.Resolve(settings.Defaults(10000), nil, nil)
	for k, want := range map[string]string{
		"MCPBOX_BACKEND_LISTEN": "127.0.0.1:18000", "MCPBOX_GATEWAY_REMOTE_LISTEN": "127.0.0.1:18003",
		"MCPBOX_DEVIDP_ADDR": "127.0.0.1:19400", "MCPBOX_DEV_PG_PORT": "25432",
		"MCPBOX_EDGE_ISSUER": "http://127.0.0.1:19400", "MCPBOX_EDGE_PUBLIC_URL": "http://127.0.0.1:18080",
	} {
		if v[k] != want {
			t.Errorf("%s = %q, want %q", k, v[k], want)
		}
	}
}

func TestServiceEnvKeepsSecretsApart(t *testing.T) {
	t.Parallel()
	v := settings.Resolve(settings.Defaults(0), map[string]string{
		"MCPBOX_BACKEND_TOKEN": "b", "MCPBOX_SANDBOX_TOKEN": "s", "MCPBOX_GATEWAY_TOKEN": "g", "MCPBOX_ENCRYPTION_KEY": "k",
		"MCPBOX_ENCRYPTION_KEY_ID": "1", "MCPBOX_SETUP_CODE": "c", "MCPBOX_DATABASE_URL": "postgres://", "MCPBOX_DEV_DB": "private",
	}, nil)
	names := func(service string) []string {
		var out []string
		for _, kv := range settings.ServiceEnv(service, v) {
			k, _, _ := strings.Cut(kv, "=")
			out = append(out, k)
		}
		return out
	}
	cases := map[string]struct{ has, lacks []string }{
		settings.Sandbox: {
			has:   []string{"MCPBOX_MODE", "MCPBOX_SANDBOX_LISTEN", "MCPBOX_SANDBOX_TOKEN", "MCPBOX_SHUTDOWN_TIMEOUT"},
			lacks: []string{"MCPBOX_DATABASE_URL", "MCPBOX_ENCRYPTION_KEY", "MCPBOX_BACKEND_TOKEN", "MCPBOX_GATEWAY_TOKEN", "MCPBOX_SANDBOX_URL"},
		},
		settings.Backend: {
			has: []string{
				"MCPBOX_DATABASE_URL", "MCPBOX_ENCRYPTION_KEY", "MCPBOX_ENCRYPTION_KEY_ID", "MCPBOX_BACKEND_TOKEN",
				"MCPBOX_SANDBOX_TOKEN", "MCPBOX_SANDBOX_URL", "MCPBOX_SETUP_CODE", "MCPBOX_BACKEND_LISTEN", "MCPBOX_BACKEND_INTERNAL_LISTEN", "MCPBOX_LOCAL_MCP_URL",
			},
			lacks: []string{"MCPBOX_GATEWAY_TOKEN", "MCPBOX_BACKEND_INTERNAL_URL", "MCPBOX_DEV_DB", "MCPBOX_DEVIDP_ADDR", "MCPBOX_EDGE_ISSUER"},
		},
		settings.Gateway: {
			has: []string{
				"MCPBOX_GATEWAY_TOKEN", "MCPBOX_BACKEND_TOKEN", "MCPBOX_SANDBOX_TOKEN", "MCPBOX_BACKEND_INTERNAL_URL",
				"MCPBOX_SANDBOX_URL", "MCPBOX_GATEWAY_SESSION_MODE", "MCPBOX_GATEWAY_LOCAL_LISTEN", "MCPBOX_GATEWAY_REMOTE_LISTEN",
			},
			lacks: []string{"MCPBOX_DATABASE_URL", "MCPBOX_ENCRYPTION_KEY", "MCPBOX_SETUP_CODE"},
		},
		settings.Edge: {
			has: []string{
				"MCPBOX_GATEWAY_TOKEN", "MCPBOX_EDGE_ISSUER", "MCPBOX_EDGE_PUBLIC_URL", "MCPBOX_EDGE_INSECURE_DEV",
				"MCPBOX_EDGE_UPSTREAM_URL", "MCPBOX_EDGE_LISTEN", "MCPBOX_EDGE_ADMIN_LISTEN",
			},
			lacks: []string{"MCPBOX_DATABASE_URL", "MCPBOX_BACKEND_TOKEN", "MCPBOX_SANDBOX_TOKEN", "MCPBOX_GATEWAY_SESSION_MODE"},
		},
	}
	for service, c := range cases {
		got := names(service)
		for _, k := range c.has {
			if !slices.Contains(got, k) {
				t.Errorf("%s lacks %s", service, k)
			}
		}
		for _, k := range c.lacks {
			if slices.Contains(got, k) {
				t.Errorf("%s receives %s", service, k)
			}
		}
	}
	if got := names(settings.DevIDP); strings.Join(got, ",") != "MCPBOX_MODE,MCPBOX_SHUTDOWN_DELAY,MCPBOX_SHUTDOWN_TIMEOUT" {
		t.Errorf("devidp gets %v", got)
	}
}

func TestListenersAndReadyURLs(t *testing.T) {
	t.Parallel()
	v := settings.Resolve(settings.Defaults(0), nil, map[string]string{"MCPBOX_GATEWAY_LOCAL_LISTEN": "off"})
	var got []string
	for _, l := range settings.Listeners(v) {
		got = append(got, l.Service+"="+l.Var)
	}
	want := "sandbox=MCPBOX_SANDBOX_LISTEN,backend=MCPBOX_BACKEND_LISTEN,backend=MCPBOX_BACKEND_INTERNAL_LISTEN," +
		"gateway=MCPBOX_GATEWAY_REMOTE_LISTEN,devidp=MCPBOX_DEVIDP_ADDR,edge=MCPBOX_EDGE_LISTEN,edge=MCPBOX_EDGE_ADMIN_LISTEN"
	if strings.Join(got, ",") != want {
		t.Errorf("listeners %v", got)
	}
	for service, want := range map[string]string{
		settings.Backend: "http://127.0.0.1:8000/readyz,http://127.0.0.1:8004/readyz",
		settings.Gateway: "http://127.0.0.1:8003/readyz",
		settings.Edge:    "http://127.0.0.1:9080/readyz",
		settings.DevIDP:  "http://127.0.0.1:9400/.well-known/openid-configuration",
		settings.Sandbox: "http://127.0.0.1:8001/readyz",
	} {
		if got := strings.Join(settings.ReadyURLs(service, v), ","); got != want {
			t.Errorf("%s: %s, want %s", service, got, want)
		}
	}
	if got := settings.DialAddr(":8001"); got != "127.0.0.1:8001" {
		t.Errorf("DialAddr(:8001) = %s", got)
	}
	if !slices.Equal(settings.Order(), []string{"sandbox", "backend", "gateway", "devidp", "edge"}) {
		t.Errorf("order %v", settings.Order())
	}
}
