package httpserve

import (
	"net/http"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// WriteError writes the shared error shape {"error": {...}} with the request
// id of r's context.
func WriteError(w http.ResponseWriter, r *http.Request, status int, e proto.Error) {
	e.RequestID = obs.RequestID(r.Context())
	writeJSON(w, status, proto.ErrorBody{Error: e})
}

// NotImplemented answers 501 not_implemented: the route exists in the
// contract but this build does not serve it yet. It never pretends success.
func NotImplemented(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, http.StatusNotImplemented, proto.Error{
		Code:    proto.CodeNotImplemented,
		Message: r.Method + " " + r.URL.Path + " is not implemented in this build of MCPbox.",
	})
}

// NotFound answers 404 not_found in the shared error shape.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, http.StatusNotFound, proto.Error{
		Code: proto.CodeNotFound, Message: "No such route; see the API reference for the paths this service serves.",
	})
}

// Unauthenticated answers 401 unauthenticated: a service-token refusal of
// the backend's /internal/v1 and the sandbox's /v1.
func Unauthenticated(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, http.StatusUnauthorized, proto.Error{
		Code:    proto.CodeUnauthenticated,
		Message: "Missing or wrong " + proto.HeaderServiceToken + " header; send the callee's service token.",
	})
}
