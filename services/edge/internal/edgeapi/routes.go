// Package edgeapi is the edge's HTTP surface (spec/edge.md §4): the public
// listener passes exactly /mcp, /health and the protected-resource metadata
// documents, and answers 404 for everything else; the admin listener serves
// health, readiness and metrics. Token verification and proxying are not
// built yet: those routes answer 501, never a fake success.
package edgeapi

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
)

// PublicRoutes lists every route of the public listener.
func PublicRoutes(health *httpserve.Health) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+proto.PathEdgeHealth, health.Healthz)
	notBuilt := func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotImplemented, "not_implemented", "This endpoint is not implemented in this build of MCPbox.")
	}
	mux.HandleFunc(proto.PathMCP, notBuilt)
	mux.HandleFunc("GET "+proto.PathProtectedResource, notBuilt)
	mux.HandleFunc("GET "+proto.PathProtectedResourceMCP, notBuilt)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "Not found.")
	})
	return mux
}

// AdminRoutes lists the routes of the admin listener.
func AdminRoutes(health *httpserve.Health, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, health, reg)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "Not found.")
	})
	return mux
}

// writeError writes the edge's own OAuth-style error body (contracts.md §5):
// a fixed description, never internal text.
func writeError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
