// Package mcpapi is the gateway's HTTP surface: /mcp on the local listener
// (trusted by its loopback bind) and on the remote listener (behind the
// edge, service token required), each with health and metrics.
// The MCP protocol itself is not built yet: /mcp answers 501 with a
// JSON-RPC error, never a fake success.
package mcpapi

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
)

// JSON-RPC error codes of the gateway (contracts.md §5).
const (
	codeInternal   = -32603
	codeAuthFailed = -32083
)

// LocalRoutes lists the routes of the local listener. A request carrying a
// service token is refused (403, -32083): an edge pointed here by mistake
// must not turn remote users into the trusted local caller (gateway.md §3.1).
func LocalRoutes(health *httpserve.Health, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, health, reg)
	mux.HandleFunc(proto.PathMCP, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(proto.HeaderServiceToken) != "" {
			writeRPCError(w, http.StatusForbidden, codeAuthFailed, "Authentication failed")
			return
		}
		notImplemented(w, r)
	})
	mux.HandleFunc("/", httpserve.NotFound)
	return mux
}

// RemoteRoutes lists the routes of the remote listener: /mcp requires the
// edge's service token (403, -32083 otherwise; never 401).
func RemoteRoutes(health *httpserve.Health, reg *prometheus.Registry, tokens *servicetoken.Checker) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, health, reg)
	mux.Handle(proto.PathMCP, tokens.Require(func(w http.ResponseWriter, _ *http.Request, _ servicetoken.Result) {
		writeRPCError(w, http.StatusForbidden, codeAuthFailed, "Authentication failed")
	}, http.HandlerFunc(notImplemented)))
	mux.HandleFunc("/", httpserve.NotFound)
	return mux
}

func notImplemented(w http.ResponseWriter, _ *http.Request) {
	writeRPCError(w, http.StatusNotImplemented, codeInternal, "The MCP endpoint is not implemented in this build of MCPbox.")
}

type rpcError struct {
	JSONRPC string `json:"jsonrpc"`
	ID      any    `json:"id"`
	Error   struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeRPCError(w http.ResponseWriter, status, code int, msg string) {
	body := rpcError{JSONRPC: "2.0"}
	body.Error.Code, body.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
