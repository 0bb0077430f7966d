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
func Routes(health *httpserve.Health, reg *prometheus.Registry, tokens *servicetoken.Checker) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, health, reg)
	mux.Handle("POST "+proto.PathSandboxExecute, tokens.Guard(http.HandlerFunc(httpserve.NotImplemented)))
	mux.Handle("POST "+proto.PathSandboxAnalyze, tokens.Guard(http.HandlerFunc(httpserve.NotImplemented)))
	mux.Handle("GET "+proto.PathSandboxPackages, tokens.Guard(http.HandlerFunc(httpserve.NotImplemented)))
	mux.Handle("POST "+proto.PathSandboxDiscover, tokens.Guard(http.HandlerFunc(httpserve.NotImplemented)))
	mux.Handle("POST "+proto.PathSandboxMCPCall, tokens.Guard(http.HandlerFunc(httpserve.NotImplemented)))
	mux.Handle("POST "+proto.PathSandboxFetch, tokens.Guard(http.HandlerFunc(httpserve.NotImplemented)))
	mux.HandleFunc("/", httpserve.NotFound)
	return mux
}
