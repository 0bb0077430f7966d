package proto

// Paths served by every service (contracts.md §1). They never need a token.
const (
	PathHealthz = "/healthz"
	PathReadyz  = "/readyz"
	PathMetrics = "/metrics"
)

// Backend internal API, served only on the internal listener (contracts.md §3).
const (
	PathInternalCatalog    = "/internal/v1/catalog"
	PathInternalPolicy     = "/internal/v1/policy"
	PathInternalEvents     = "/internal/v1/events"
	PathInternalPlan       = "/internal/v1/tools/{id}/plan"
	PathInternalManage     = "/internal/v1/manage/{tool}"
	PathInternalExecutions = "/internal/v1/executions"
)

// Sandbox API (contracts.md §3).
const (
	PathSandboxExecute  = "/v1/execute"
	PathSandboxAnalyze  = "/v1/analyze"
	PathSandboxPackages = "/v1/packages"
	PathSandboxDiscover = "/v1/mcp/discover"
	PathSandboxMCPCall  = "/v1/mcp/call"
	PathSandboxFetch    = "/v1/fetch"
)

// MCP endpoint of the gateway and the edge, and the edge's public documents.
const (
	PathMCP                  = "/mcp"
	PathEdgeHealth           = "/health"
	PathProtectedResource    = "/.well-known/oauth-protected-resource"
	PathProtectedResourceMCP = "/.well-known/oauth-protected-resource/mcp"
	PathAdminAPIPrefix       = "/api/v1"
	PathInternalAPIPrefix    = "/internal/v1"
	PathInternalPrefix       = "/internal/"
)
