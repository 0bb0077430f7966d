package envcfg

import (
	"slices"
	"strings"
)

// Known returns every MCPBOX_* variable any MCPbox program reads
// (contracts.md §6 and operations.md §2.7), sorted. A service warns about an
// MCPBOX_* variable outside this list, naming the nearest known one, so a
// typo never silently falls back to a default. Each service's tests check
// that its Config declares only names from this list.
func Known() []string {
	k := []string{
		// every service
		"MCPBOX_MODE", "MCPBOX_LOG_LEVEL", "MCPBOX_LOG_FORMAT", "MCPBOX_SHUTDOWN_DELAY", "MCPBOX_SHUTDOWN_TIMEOUT",
		// tokens
		"MCPBOX_BACKEND_TOKEN", "MCPBOX_BACKEND_TOKEN_PREVIOUS", "MCPBOX_SANDBOX_TOKEN", "MCPBOX_SANDBOX_TOKEN_PREVIOUS",
		"MCPBOX_GATEWAY_TOKEN", "MCPBOX_GATEWAY_TOKEN_PREVIOUS",
		// backend
		"MCPBOX_BACKEND_LISTEN", "MCPBOX_BACKEND_INTERNAL_LISTEN", "MCPBOX_DATABASE_URL", "MCPBOX_ENCRYPTION_KEY",
		"MCPBOX_ENCRYPTION_KEY_ID", "MCPBOX_ENCRYPTION_OLD_KEYS", "MCPBOX_SANDBOX_URL", "MCPBOX_PUBLIC_ORIGIN",
		"MCPBOX_TRUSTED_PROXIES", "MCPBOX_SETUP_CODE", "MCPBOX_COOKIE_SECURE", "MCPBOX_SESSION_IDLE", "MCPBOX_SESSION_MAX",
		"MCPBOX_LOCAL_MCP_URL", "MCPBOX_DB_MAX_CONNS", "MCPBOX_HASH_CONCURRENCY", "MCPBOX_TEST_RUN_CONCURRENCY",
		"MCPBOX_MIGRATE_ON_START",
		// gateway
		"MCPBOX_GATEWAY_LOCAL_LISTEN", "MCPBOX_GATEWAY_REMOTE_LISTEN", "MCPBOX_GATEWAY_LOCAL_ALLOW_NONLOOPBACK",
		"MCPBOX_GATEWAY_LOCAL_HOSTS", "MCPBOX_GATEWAY_LOCAL_ORIGINS", "MCPBOX_GATEWAY_LOCAL_RPM",
		"MCPBOX_GATEWAY_REMOTE_ORIGINS", "MCPBOX_BACKEND_INTERNAL_URL", "MCPBOX_GATEWAY_SESSION_MODE",
		"MCPBOX_GATEWAY_SESSION_IDLE", "MCPBOX_GATEWAY_MAX_SESSIONS", "MCPBOX_GATEWAY_MAX_SESSIONS_PER_CALLER",
		"MCPBOX_GATEWAY_SSE_KEEPALIVE", "MCPBOX_GATEWAY_PROGRESS_INTERVAL", "MCPBOX_GATEWAY_MAX_BODY_BYTES",
		"MCPBOX_GATEWAY_AUTH_FAILURES", "MCPBOX_GATEWAY_CATALOG_POLL", "MCPBOX_GATEWAY_MAX_STALENESS",
		"MCPBOX_GATEWAY_PLAN_CACHE", "MCPBOX_GATEWAY_EXEC_MARGIN", "MCPBOX_GATEWAY_BREAKER_FAILURES",
		"MCPBOX_GATEWAY_BREAKER_OPEN", "MCPBOX_GATEWAY_RECORD_QUEUE", "MCPBOX_GATEWAY_RECORD_QUEUE_BYTES",
		"MCPBOX_GATEWAY_METRICS_MAX_TOOLS",
		// sandbox
		"MCPBOX_SANDBOX_LISTEN", "MCPBOX_SANDBOX_WARM_WORKERS", "MCPBOX_SANDBOX_MAX_CONCURRENT",
		"MCPBOX_SANDBOX_SPAWN_CONCURRENCY", "MCPBOX_SANDBOX_WORKER_PROCS", "MCPBOX_SANDBOX_MEMORY_BUDGET_MB",
		"MCPBOX_SANDBOX_MAX_MEMORY_MB", "MCPBOX_SANDBOX_QUEUE_MAX", "MCPBOX_SANDBOX_QUEUE_WAIT_MS",
		"MCPBOX_SANDBOX_WORKER_MAX_IDLE", "MCPBOX_SANDBOX_EGRESS_DENY", "MCPBOX_SANDBOX_DNS", "MCPBOX_SANDBOX_CGROUP",
		"MCPBOX_SANDBOX_INSECURE_DEV", "MCPBOX_SANDBOX_TEST_WORKER",
		"MCPBOX_SANDBOX_E2E_LOOPBACK", // builds tagged e2e only (sandbox.md §12.3)
		// edge
		"MCPBOX_EDGE_LISTEN", "MCPBOX_EDGE_ADMIN_LISTEN", "MCPBOX_EDGE_PUBLIC_URL", "MCPBOX_EDGE_RESOURCE",
		"MCPBOX_EDGE_AUDIENCES", "MCPBOX_EDGE_ISSUER", "MCPBOX_EDGE_JWKS_URL", "MCPBOX_EDGE_JWKS_REFRESH",
		"MCPBOX_EDGE_JWKS_MIN_REFETCH", "MCPBOX_EDGE_JWKS_MAX_STALE", "MCPBOX_EDGE_CLOCK_SKEW",
		"MCPBOX_EDGE_REQUIRED_SCOPES", "MCPBOX_EDGE_SCOPES_SUPPORTED", "MCPBOX_EDGE_ALLOWED_CLIENTS",
		"MCPBOX_EDGE_EMAIL_CLAIM", "MCPBOX_EDGE_REQUIRE_EMAIL_VERIFIED", "MCPBOX_EDGE_UPSTREAM_URL",
		"MCPBOX_EDGE_UPSTREAM_CA_FILE", "MCPBOX_EDGE_CORS_ORIGINS", "MCPBOX_EDGE_TRUSTED_PROXIES",
		"MCPBOX_EDGE_MAX_BODY", "MCPBOX_EDGE_MAX_HEADER_BYTES", "MCPBOX_EDGE_READ_HEADER_TIMEOUT",
		"MCPBOX_EDGE_BODY_TIMEOUT", "MCPBOX_EDGE_WRITE_STALL_TIMEOUT", "MCPBOX_EDGE_IDLE_TIMEOUT",
		"MCPBOX_EDGE_UPSTREAM_DIAL_TIMEOUT", "MCPBOX_EDGE_UPSTREAM_HEADER_TIMEOUT", "MCPBOX_EDGE_MAX_EXCHANGE",
		"MCPBOX_EDGE_IP_RPS", "MCPBOX_EDGE_IP_BURST", "MCPBOX_EDGE_SUBJECT_RPS", "MCPBOX_EDGE_SUBJECT_BURST",
		"MCPBOX_EDGE_AUTH_FAILURES_PER_MIN", "MCPBOX_EDGE_SUBJECT_MAX_STREAMS", "MCPBOX_EDGE_MAX_INFLIGHT",
		"MCPBOX_EDGE_TLS_CERT_FILE", "MCPBOX_EDGE_TLS_KEY_FILE", "MCPBOX_EDGE_INSECURE_DEV",
		// developer programs (operations.md §2.7, §1.3)
		"MCPBOX_DEV_PG_PORT", "MCPBOX_DEV_DB", "MCPBOX_TEST_DATABASE_URL", "MCPBOX_SQLC_DATABASE_URL",
		"MCPBOX_BIN_DIR", "MCPBOX_VERSION",
		// the browser checks of the admin UI (admin-ui.md §15)
		"MCPBOX_UI_TESTS", "MCPBOX_CHROMIUM", "MCPBOX_UI_ARTIFACTS", "MCPBOX_UI_MATRIX",
	}
	slices.Sort(k)
	return k
}

// Unknown is an MCPBOX_* variable no MCPbox program reads.
type Unknown struct {
	Name    string
	Nearest string // the known variable with the smallest edit distance
}

// UnknownVariables returns each MCPBOX_* variable of environ ("NAME=value"
// entries) that no MCPbox program reads, with the nearest known name.
// X_FILE is known when X is.
func UnknownVariables(environ []string) []Unknown {
	known := Known()
	var out []Unknown
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "MCPBOX_") {
			continue
		}
		if isKnown(known, name) || isKnown(known, strings.TrimSuffix(name, "_FILE")) {
			continue
		}
		out = append(out, Unknown{Name: name, Nearest: nearest(name, known)})
	}
	return out
}

func nearest(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		if d := levenshtein(name, k); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func isKnown(known []string, name string) bool {
	_, ok := slices.BinarySearch(known, name)
	return ok
}
