// Package sandboxapi is the sandbox's HTTP surface (spec/sandbox.md §4):
// every /v1 route behind the service token, plus health and metrics.
// Routes whose behaviour is not built yet answer 501 not_implemented.
package sandboxapi

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/analyze"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/egress"
)

// Deps are what the routes use, built by run.
type Deps struct {
	Health *httpserve.Health
	Reg    *prometheus.Registry
	Tokens *servicetoken.Checker
	// MaxMemoryMB is MCPBOX_SANDBOX_MAX_MEMORY_MB.
	MaxMemoryMB int
	Analyzer    *analyze.Analyzer
	Broker      *egress.Broker
	// Pool runs jobs in workers; nil answers 501 after every check passed.
	Pool Executor
	// MCP is the external MCP client.
	MCP MCPClient
}

// Routes lists every route of the sandbox with the guard that protects it.
func Routes(d Deps) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, d.Health, d.Reg)
	guard := d.Tokens.Guard
	mux.Handle("POST "+proto.PathSandboxExecute, guard(executeHandler(d)))
	mux.Handle("POST "+proto.PathSandboxAnalyze, guard(analyzeHandler(d.Analyzer, d.Pool)))
	mux.Handle("GET "+proto.PathSandboxPackages, guard(packagesHandler(d.Analyzer.CatalogueVersion())))
	mux.Handle("POST "+proto.PathSandboxFetch, guard(fetchHandler(d.Broker)))
	mux.Handle("POST "+proto.PathSandboxDiscover, guard(discoverHandler(d.MCP)))
	mux.Handle("POST "+proto.PathSandboxMCPCall, guard(callHandler(d.MCP)))
	mux.HandleFunc("/", httpserve.NotFound)
	return mux
}
