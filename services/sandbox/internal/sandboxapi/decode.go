package sandboxapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/httpserve"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/strictjson"
)

// apiError is a refusal of a request: the HTTP status and the shared error
// body. Handlers return it; writeError sends it.
type apiError struct {
	Status int
	Err    proto.Error
}

func (e *apiError) Error() string { return e.Err.Code + ": " + e.Err.Message }

// invalid is a 400 invalid_request naming field and rule.
func invalid(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &apiError{Status: http.StatusBadRequest, Err: proto.Error{Code: proto.CodeInvalidRequest, Message: msg, Field: field}}
}

func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	httpserve.WriteError(w, r, e.Status, e.Err)
}

// readBody enforces Content-Type and the route's size limit (413 beyond it).
func readBody(r *http.Request, limit int64) ([]byte, *apiError) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, &apiError{Status: http.StatusUnsupportedMediaType, Err: proto.Error{
			Code: proto.CodeInvalidRequest, Message: "Content-Type must be application/json",
		}}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Err: proto.Error{
			Code: proto.CodeRequestTooLarge, Message: fmt.Sprintf("request body exceeds %d bytes; send less code or smaller arguments", limit),
		}}
	case err != nil:
		return nil, invalid("", "could not read the request body")
	}
	return body, nil
}

// adoptRequestID makes a request_id sent in the body the request's id (its
// logs and the X-Request-Id response header): the body wins over the
// header (sandbox.md §4.1). One that breaks the format is a 400.
func adoptRequestID(w http.ResponseWriter, r *http.Request, id string) *apiError {
	if id == "" {
		return nil
	}
	if !proto.ValidRequestID(id) {
		return invalid("request_id", "must be 1 to 128 characters from A-Z a-z 0-9 . _ : -")
	}
	obs.AdoptRequestID(r.Context(), w, id)
	return nil
}

// decodeStrict decodes body into v strictly and requires the given top-level
// keys to be present (a missing required field is a 400 naming it).
func decodeStrict(body []byte, v any, maxDepth int, required ...string) *apiError {
	if err := strictjson.Decode(body, v, strictjson.Options{MaxDepth: maxDepth}); err != nil {
		var se *strictjson.Error
		if errors.As(err, &se) {
			return invalid(se.Path, "%s", se.Rule)
		}
		return invalid("", "%v", err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		return invalid("", "the body must be a JSON object")
	}
	for _, k := range required {
		if _, ok := keys[k]; !ok {
			return invalid(k, "required")
		}
	}
	return nil
}
