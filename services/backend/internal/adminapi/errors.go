package adminapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
)

// apiError is a refusal in the one error shape of backend.md §15.1: the
// HTTP status, the body, and a Retry-After in seconds for 429 and 503.
type apiError struct {
	status     int
	body       proto.Error
	retryAfter int
}

func (e *apiError) Error() string { return e.body.Code + ": " + e.body.Message }

// fail returns an apiError with the status and code.
func fail(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, body: proto.Error{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// invalid is 400 validation_failed naming field; the message is prefixed
// with the field, as every validation message is ("password: must be …").
func invalid(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	e := fail(http.StatusBadRequest, proto.CodeValidationFailed, "%s", msg)
	e.body.Field = field
	e.body.Details = []proto.FieldError{{Field: field, Message: msg}}
	return e
}

// withRetryAfter sets the Retry-After seconds of a 429 or 503.
func (e *apiError) withRetryAfter(seconds int) *apiError {
	e.retryAfter = max(seconds, 1)
	return e
}

// errorHandler writes every error of the API in the shared shape. An
// apiError is sent as is; echo's own errors (unknown route, method) become
// not_found and method_not_allowed; anything else is logged and answered
// 500 internal without its text.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(c *echo.Context, err error) {
		if resp, uerr := echo.UnwrapResponse(c.Response()); uerr == nil && resp.Committed {
			return
		}
		r := c.Request()
		var ae *apiError
		var sc echo.HTTPStatusCoder
		switch {
		case errors.As(err, &ae):
		case errors.As(err, &sc) && sc.StatusCode() == http.StatusNotFound:
			ae = fail(http.StatusNotFound, proto.CodeNotFound, "No such route: %s %s; see the API reference for the paths /api/v1 serves.", r.Method, r.URL.Path)
		case errors.As(err, &sc) && sc.StatusCode() == http.StatusMethodNotAllowed:
			ae = fail(http.StatusMethodNotAllowed, proto.CodeMethodNotAllowed, "%s is not allowed on %s.", r.Method, r.URL.Path)
			if allow, err := echo.ContextGet[string](c, echo.ContextKeyHeaderAllow); err == nil && allow != "" {
				c.Response().Header().Set("Allow", allow)
			}
		default:
			id := obs.RequestID(r.Context())
			log.ErrorContext(r.Context(), "request failed", obs.KeyError, err.Error())
			ae = fail(http.StatusInternalServerError, proto.CodeInternal, "Internal error (request %s).", id)
		}
		h := c.Response().Header()
		if ae.retryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(ae.retryAfter))
		}
		if ae.status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", "Bearer")
		}
		body := ae.body
		body.RequestID = obs.RequestID(r.Context())
		if err := c.JSON(ae.status, proto.ErrorBody{Error: body}); err != nil {
			log.DebugContext(r.Context(), "error response not written", obs.KeyError, err.Error())
		}
	}
}
