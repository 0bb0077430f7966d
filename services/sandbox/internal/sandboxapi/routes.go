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
)

// Routes lists every route of the sandbox with the guard that protects it.
// maxMemoryMB is MCPBOX_SANDBOX_MAX_MEMORY_MB.
func Routes(health *httpserve.Health, reg *prometheus.Registry, tokens *servicetoken.Checker, maxMemoryMB int) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, health, reg)
	mux.Handle("POST "+proto.PathSandboxExecute, tokens.Guard(execute(maxMemoryMB)))
	// Not built yet: 501 behind the token guard, so the contract and its guard are in place.
	for _, pattern := range []string{
		"POST " + proto.PathSandboxAnalyze,
		"GET " + proto.PathSandboxPackages,
		"POST " + proto.PathSandboxDiscover,
		"POST " + proto.PathSandboxMCPCall,
		"POST " + proto.PathSandboxFetch,
	} {
		mux.Handle(pattern, tokens.Guard(http.HandlerFunc(httpserve.NotImplemented)))
	}
	mux.HandleFunc("/", httpserve.NotFound)
	return mux
}
