// Package adminapi is the backend's main listener: the web UI, the admin
// REST API /api/v1 and health. /internal/* and /metrics answer 404 here, with
// or without a token, so exposing the admin UI never exposes the gateway's
// API or the metrics (backend.md §3).
//
// The admin API and the UI are not built yet: their routes answer 501
// not_implemented, never a fake success.
package adminapi

import (
	"net/http"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
)

// Routes lists every route of the main listener.
func Routes(health *httpserve.Health) *http.ServeMux {
	mux := http.NewServeMux()
	httpserve.Ops(mux, health, nil)
	mux.HandleFunc(proto.PathAdminAPIPrefix+"/", httpserve.NotImplemented)
	mux.HandleFunc("GET /{$}", httpserve.NotImplemented)
	mux.HandleFunc(proto.PathInternalPrefix, httpserve.NotFound)
	mux.HandleFunc(proto.PathMetrics, httpserve.NotFound)
	mux.HandleFunc("/", httpserve.NotFound)
	return mux
}
