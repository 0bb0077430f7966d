package internalapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// getPolicy answers GET /internal/v1/policy (backend.md §9.7): the eight
// security-policy settings with their defaults filled, and the policy
// revision they were read at (one snapshot), as proto.Policy. The gateway
// refetches it on policy_changed (§9.2), so it is never cached.
func (h handlers) getPolicy(w http.ResponseWriter, r *http.Request) {
	p, rev, err := h.policy.Current(r.Context())
	if err != nil {
		h.log.ErrorContext(r.Context(), "internal policy: read the policy", slog.String(obs.KeyError, err.Error()))
		httpserve.WriteError(w, r, http.StatusInternalServerError, proto.Error{
			Code: proto.CodeInternal, Message: "Internal error (request " + obs.RequestID(r.Context()) + ").",
		})
		return
	}
	body, err := json.Marshal(p.Proto(rev))
	if err != nil {
		h.log.ErrorContext(r.Context(), "internal policy: encode", slog.String(obs.KeyError, err.Error()))
		httpserve.WriteError(w, r, http.StatusInternalServerError, proto.Error{
			Code: proto.CodeInternal, Message: "Internal error (request " + obs.RequestID(r.Context()) + ").",
		})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}
