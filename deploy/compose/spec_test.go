package compose_test

// The tables of spec/operations.md §5.1 (and §2 for the variable sets) that
// compose.yaml must match. They are functions, not package variables
// (gochecknoglobals), and every check in rules_test.go reads them.

// mcpboxServices are the four MCPbox services built from deploy/docker/Dockerfile.
func mcpboxServices() []string { return []string{"backend", "gateway", "sandbox", "edge"} }

// allServices is every service of the project, the edge profile included.
func allServices() []string { return append([]string{"postgres"}, mcpboxServices()...) }

// requiredVars are the variables compose refuses to start without (each a
// ${VAR:?…} interpolation): the image tag and every required secret.
func requiredVars() []string {
	return []string{
		"MCPBOX_VERSION", "MCPBOX_BACKEND_TOKEN", "MCPBOX_SANDBOX_TOKEN", "MCPBOX_GATEWAY_TOKEN",
		"MCPBOX_ENCRYPTION_KEY", "MCPBOX_POSTGRES_PASSWORD",
	}
}

// optionalSecrets are the secrets used only during a rotation (§6.4, §6.5):
// each is ${VAR:-}, empty unless the operator sets it.
func optionalSecrets() []string {
	return []string{
		"MCPBOX_BACKEND_TOKEN_PREVIOUS", "MCPBOX_SANDBOX_TOKEN_PREVIOUS", "MCPBOX_GATEWAY_TOKEN_PREVIOUS",
		"MCPBOX_ENCRYPTION_OLD_KEYS",
	}
}

// secretSources maps an environment key that holds a secret to the .env
// variable it must interpolate; postgres's POSTGRES_PASSWORD and the
// backend's database URL come from MCPBOX_POSTGRES_PASSWORD.
func secretSources() map[string]string {
	out := map[string]string{"POSTGRES_PASSWORD": "MCPBOX_POSTGRES_PASSWORD", "MCPBOX_DATABASE_URL": "MCPBOX_POSTGRES_PASSWORD"}
	for _, v := range append(requiredVars()[1:], optionalSecrets()...) {
		if v != "MCPBOX_POSTGRES_PASSWORD" {
			out[v] = v
		}
	}
	return out
}

// wantEnv is each service's exact variable set (§2: only what it needs).
func wantEnv() map[string][]string {
	return map[string][]string{
		"postgres": {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"},
		"sandbox":  {"MCPBOX_SANDBOX_TOKEN", "MCPBOX_SANDBOX_TOKEN_PREVIOUS", "MCPBOX_SANDBOX_EGRESS_DENY"},
		"backend": {
			"MCPBOX_DATABASE_URL", "MCPBOX_BACKEND_TOKEN", "MCPBOX_BACKEND_TOKEN_PREVIOUS", "MCPBOX_SANDBOX_URL",
			"MCPBOX_SANDBOX_TOKEN", "MCPBOX_ENCRYPTION_KEY", "MCPBOX_ENCRYPTION_KEY_ID", "MCPBOX_ENCRYPTION_OLD_KEYS",
		},
		"gateway": {
			"MCPBOX_GATEWAY_LOCAL_LISTEN", "MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK", "MCPBOX_GATEWAY_SESSION_MODE",
			"MCPBOX_GATEWAY_TOKEN", "MCPBOX_GATEWAY_TOKEN_PREVIOUS", "MCPBOX_BACKEND_INTERNAL_URL",
			"MCPBOX_BACKEND_TOKEN", "MCPBOX_SANDBOX_URL", "MCPBOX_SANDBOX_TOKEN",
		},
		"edge": {"MCPBOX_EDGE_PUBLIC_URL", "MCPBOX_EDGE_ISSUER", "MCPBOX_EDGE_UPSTREAM_URL", "MCPBOX_GATEWAY_TOKEN"},
	}
}

// sandboxForbidden are the variables the sandbox must never receive (§2.5).
func sandboxForbidden() []string {
	return []string{
		"MCPBOX_DATABASE_URL", "MCPBOX_ENCRYPTION_KEY", "MCPBOX_ENCRYPTION_OLD_KEYS", "MCPBOX_BACKEND_TOKEN",
		"MCPBOX_BACKEND_TOKEN_PREVIOUS", "MCPBOX_GATEWAY_TOKEN", "MCPBOX_GATEWAY_TOKEN_PREVIOUS",
		"MCPBOX_POSTGRES_PASSWORD", "POSTGRES_PASSWORD",
	}
}

// wantNetworks is each service's exact network membership.
func wantNetworks() map[string][]string {
	return map[string][]string{
		"postgres": {"backplane"},
		"backend":  {"admin", "backplane"},
		"sandbox":  {"backplane", "sandbox-egress"},
		"gateway":  {"backplane", "mcp-local"},
		"edge":     {"backplane", "public"},
	}
}

// wantDependsOn is what each service waits for, every one service_healthy.
func wantDependsOn() map[string][]string {
	return map[string][]string{
		"backend": {"postgres", "sandbox"},
		"gateway": {"backend", "sandbox"},
		"edge":    {"gateway"},
	}
}

// netParams are the interpolated network settings; defaults() are §5.1's.
type netParams struct {
	backplane, local, gatewayIP, edgeBind string
}

func defaultNet() netParams {
	return netParams{backplane: "172.31.253.0/24", local: "172.31.254.0/29", gatewayIP: "172.31.254.2", edgeBind: "0.0.0.0"}
}

// wantPorts is each service's exact published ports as host_ip:published:target.
func wantPorts(n netParams) map[string][]string {
	return map[string][]string{
		"backend": {"127.0.0.1:8000:8000"},
		"gateway": {"127.0.0.1:8002:8002"},
		"edge":    {n.edgeBind + ":8080:8080"},
	}
}

// wantValues are the non-secret values §5.1 fixes.
func wantValues(n netParams) map[string]map[string]string {
	return map[string]map[string]string{
		"postgres": {"POSTGRES_USER": "mcpbox", "POSTGRES_DB": "mcpbox"},
		"sandbox":  {"MCPBOX_SANDBOX_EGRESS_DENY": n.backplane + "," + n.local},
		"backend":  {"MCPBOX_SANDBOX_URL": "http://sandbox:8001"},
		"gateway": {
			"MCPBOX_GATEWAY_LOCAL_LISTEN":            n.gatewayIP + ":8002",
			"MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK": "true",
			"MCPBOX_BACKEND_INTERNAL_URL":            "http://backend:8004",
			"MCPBOX_SANDBOX_URL":                     "http://sandbox:8001",
			"MCPBOX_GATEWAY_SESSION_MODE":            "hybrid",
		},
		"edge": {"MCPBOX_EDGE_UPSTREAM_URL": "http://gateway:8003"},
	}
}
