package catalog

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// CatalogHandler serves GET /internal/v1/catalog (backend.md §9.3) with
// ETag "<revision>"; If-None-Match naming the current revision gets 304
// without building the snapshot. Mount it behind the service-token guard.
func (s *Service) CatalogHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			rev, err := s.Revision(ctx)
			if err != nil {
				s.internal(w, r, "catalog: revision", err)
				return
			}
			if matchesETag(inm, ETag(rev)) {
				w.Header().Set("ETag", ETag(rev))
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		c, err := s.Snapshot(ctx)
		if err != nil {
			s.internal(w, r, "catalog: snapshot", err)
			return
		}
		w.Header().Set("ETag", ETag(c.Revision))
		s.writeJSON(w, r, c)
	})
}

// PlanHandler serves GET /internal/v1/tools/{id}/plan?version=N (backend.md
// §9.4) with Cache-Control: no-store. It reads {id} with r.PathValue, so
// mount it on the proto.PathInternalPlan pattern of a ServeMux, behind the
// service-token guard.
func (s *Service) PlanHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		rawID := r.PathValue("id")
		id, err := uuid.Parse(rawID)
		if err != nil {
			httpserve.WriteError(w, r, http.StatusNotFound, proto.Error{
				Code: proto.CodeNotFound, Message: "Tool " + strconv.Quote(rawID) + " not found; tool ids are UUIDs from the catalog.",
			})
			return
		}
		version, ok := parseVersion(r.URL.Query()["version"])
		if !ok {
			httpserve.WriteError(w, r, http.StatusBadRequest, proto.Error{
				Code: proto.CodeValidationFailed, Field: "version",
				Message: "version: required query parameter, once: the approved version number from the catalog (an integer ≥ 1).",
			})
			return
		}
		p, err := s.Plan(r.Context(), id, version, obs.RequestID(r.Context()))
		var re *RefusedError
		switch {
		case errors.As(err, &re):
			httpserve.WriteError(w, r, re.Status, proto.Error{Code: re.Code, Message: re.Message})
		case err != nil:
			s.internal(w, r, "plan", err)
		default:
			s.writeJSON(w, r, p)
		}
	})
}

// parseVersion reads the version query parameter: exactly one plain
// decimal integer from 1 to the largest int32.
func parseVersion(values []string) (int, bool) {
	if len(values) != 1 || values[0] == "" || values[0][0] < '1' || values[0][0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseInt(values[0], 10, 32)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

// internal logs err and answers 500 internal with the request id only.
func (s *Service) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.ErrorContext(r.Context(), what, slog.String(obs.KeyError, err.Error()))
	httpserve.WriteError(w, r, http.StatusInternalServerError, proto.Error{
		Code: proto.CodeInternal, Message: "Internal error (request " + obs.RequestID(r.Context()) + ").",
	})
}

// writeJSON answers 200 with v as JSON.
func (s *Service) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.internal(w, r, "encode", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
}
