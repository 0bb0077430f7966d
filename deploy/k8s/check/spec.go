package check

import "fmt"

// Component is what operations.md §4.2 and §4.3 fix for one MCPbox workload.
type Component struct {
	// Name is the app.kubernetes.io/component value; the workload is named mcpbox-<Name>.
	Name string
	// Kind is Deployment, or Job for migrate.
	Kind string
	// Image is the image repository the container runs.
	Image string
	// ProbePort is the container port name the probes use ("" for the Job).
	ProbePort string
	// Ports are the Service's named ports and their numbers (nil for the Job).
	Ports map[string]int32
	// Requests and Limits are cpu and memory quantities.
	Requests, Limits [2]string
	// Grace is terminationGracePeriodSeconds (0 for the Job, which keeps the default).
	Grace int64
	// MaxSurge is the RollingUpdate surge.
	MaxSurge string
	// GoMemLimit is a fixed GOMEMLIMIT, or "" for resourceFieldRef limits.memory.
	GoMemLimit string
	// MemoryTmp says /tmp is memory-backed.
	MemoryTmp bool
	// Secrets maps each mcpbox-secrets key the component references to whether it is optional.
	Secrets map[string]bool
	// Settings are environment values the component must have (from its ConfigMap or env).
	Settings map[string]string
	// HPA is the prod autoscaling range and CPU target, or zero when the component has no HPA.
	HPA struct{ Min, Max, CPU int32 }
}

// Components returns the §4.2/§4.3 table, one entry per MCPbox workload.
func Components() []Component {
	common := map[string]string{"MCPBOX_SHUTDOWN_DELAY": "5s", "MCPBOX_MODE": "prod"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	backend := Component{
		Name: "backend", Kind: "Deployment", Image: "mcpbox/backend", ProbePort: "internal",
		Ports:    map[string]int32{"http": 8000, "internal": 8004},
		Requests: [2]string{"100m", "128Mi"}, Limits: [2]string{"1", "512Mi"}, Grace: 30, MaxSurge: "1",
		Secrets: map[string]bool{
			"database-url": false, "backend-token": false, "backend-token-previous": true,
			"sandbox-token": false, "encryption-key": false, "encryption-old-keys": true,
		},
		Settings: with(map[string]string{
			"MCPBOX_MIGRATE_ON_START": "false", "MCPBOX_SANDBOX_URL": "http://mcpbox-sandbox:8001",
			"MCPBOX_BACKEND_LISTEN": ":8000", "MCPBOX_BACKEND_INTERNAL_LISTEN": ":8004",
		}),
	}
	gateway := Component{
		Name: "gateway", Kind: "Deployment", Image: "mcpbox/gateway", ProbePort: "remote",
		Ports:    map[string]int32{"http": 8003},
		Requests: [2]string{"100m", "64Mi"}, Limits: [2]string{"1", "256Mi"}, Grace: 75, MaxSurge: "1",
		Secrets: map[string]bool{
			"backend-token": false, "sandbox-token": false, "gateway-token": false, "gateway-token-previous": true,
		},
		Settings: with(map[string]string{
			"MCPBOX_SHUTDOWN_TIMEOUT": "60s", "MCPBOX_GATEWAY_LOCAL_LISTEN": "off",
			"MCPBOX_GATEWAY_SESSION_MODE": "stateless", "MCPBOX_BACKEND_INTERNAL_URL": "http://mcpbox-backend:8004",
			"MCPBOX_SANDBOX_URL": "http://mcpbox-sandbox:8001", "MCPBOX_GATEWAY_REMOTE_LISTEN": ":8003",
		}),
	}
	gateway.HPA.Min, gateway.HPA.Max, gateway.HPA.CPU = 3, 10, 70
	sandbox := Component{
		Name: "sandbox", Kind: "Deployment", Image: "mcpbox/sandbox", ProbePort: "http",
		Ports:    map[string]int32{"http": 8001},
		Requests: [2]string{"250m", "512Mi"}, Limits: [2]string{"2", "3Gi"}, Grace: 75, MaxSurge: "25%",
		GoMemLimit: "128MiB", MemoryTmp: true,
		Secrets:  map[string]bool{"sandbox-token": false, "sandbox-token-previous": true},
		Settings: with(map[string]string{"MCPBOX_SHUTDOWN_TIMEOUT": "60s", "MCPBOX_SANDBOX_LISTEN": ":8001"}),
	}
	sandbox.HPA.Min, sandbox.HPA.Max, sandbox.HPA.CPU = 3, 20, 60
	edge := Component{
		Name: "edge", Kind: "Deployment", Image: "mcpbox/edge", ProbePort: "admin",
		Ports:    map[string]int32{"http": 8080, "admin": 9080},
		Requests: [2]string{"50m", "32Mi"}, Limits: [2]string{"500m", "128Mi"}, Grace: 75, MaxSurge: "1",
		Secrets: map[string]bool{"gateway-token": false},
		Settings: with(map[string]string{
			"MCPBOX_SHUTDOWN_TIMEOUT": "60s", "MCPBOX_EDGE_UPSTREAM_URL": "http://mcpbox-gateway:8003",
			"MCPBOX_EDGE_LISTEN": ":8080", "MCPBOX_EDGE_ADMIN_LISTEN": ":9080",
		}),
	}
	migrate := Component{
		Name: "migrate", Kind: "Job", Image: "mcpbox/backend",
		Requests: [2]string{"100m", "64Mi"}, Limits: [2]string{"500m", "256Mi"},
		Secrets:  map[string]bool{"database-url": false, "encryption-key": false},
		Settings: map[string]string{"MCPBOX_MODE": "prod"},
	}
	return []Component{backend, gateway, sandbox, edge, migrate}
}

// ObjectName is the name every object of a component carries.
func (c Component) ObjectName() string { return "mcpbox-" + c.Name }

// DevPostgresSecrets are the keys the dev-only PostgreSQL may reference; §4.3 does not list it, so its superuser
// password is the one extra key, and only in overlays that include components/postgres-dev.
func DevPostgresSecrets() map[string]bool { return map[string]bool{"postgres-password": false} }

// SecretVariables are the environment variables that hold secrets (operations.md §2); no ConfigMap may set one.
func SecretVariables() []string {
	return []string{
		"MCPBOX_DATABASE_URL", "MCPBOX_BACKEND_TOKEN", "MCPBOX_BACKEND_TOKEN_PREVIOUS", "MCPBOX_SANDBOX_TOKEN",
		"MCPBOX_SANDBOX_TOKEN_PREVIOUS", "MCPBOX_GATEWAY_TOKEN", "MCPBOX_GATEWAY_TOKEN_PREVIOUS",
		"MCPBOX_ENCRYPTION_KEY", "MCPBOX_ENCRYPTION_OLD_KEYS", "MCPBOX_SETUP_CODE", "POSTGRES_PASSWORD",
	}
}

// SecretName is the operator-created Secret every secretKeyRef names (operations.md §4.3).
const SecretName = "mcpbox-secrets" //nolint:gosec // the Secret's name, not a credential

// problems collects "Kind/name: rule" lines.
type problems []string

func (p *problems) addf(ref, format string, args ...any) {
	*p = append(*p, ref+": "+fmt.Sprintf(format, args...))
}
