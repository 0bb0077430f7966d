package adminapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/strictjson"
)

// maxBody is the body limit of /api/v1 unless a route says otherwise
// (backend.md §2).
const maxBody = 1 << 20

// decode reads a JSON body into v strictly (backend.md §2): a body that is
// not application/json is 415, one over maxBody bytes 413, malformed JSON,
// trailing data or a duplicate key 400 invalid_json, an unknown field, a
// wrong type or a missing required key 400 validation_failed naming it.
func decode(c *echo.Context, v any, required ...string) error {
	body, err := readJSON(c, maxBody)
	if err != nil {
		return err
	}
	if err := strictjson.Decode(body, v, strictjson.Options{}); err != nil {
		var se *strictjson.Error
		if errors.As(err, &se) && !se.Syntax {
			return invalid(se.Path, "%s", se.Rule)
		}
		return fail(http.StatusBadRequest, proto.CodeInvalidJSON, "The request body is not valid JSON: %v.", err)
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

// readJSON reads a JSON request body of at most limit bytes: a body that
// is not application/json is 415, a longer one 413.
func readJSON(c *echo.Context, limit int64) ([]byte, error) {
	r := c.Request()
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, fail(http.StatusUnsupportedMediaType, proto.CodeUnsupportedMediaType,
			"Content-Type must be application/json.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fail(http.StatusRequestEntityTooLarge, proto.CodeRequestTooLarge,
			"The request body is over %d bytes; send less.", limit)
	case err != nil:
		return nil, fail(http.StatusBadRequest, proto.CodeInvalidJSON, "The request body could not be read.")
	}
	return body, nil
}
