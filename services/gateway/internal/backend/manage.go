package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// Manage forwards one management call: POST /internal/v1/manage/{tool}
// with req (backend.md §9.5), bounded by timeout (DefaultManageTimeout when
// ≤ 0). It is never retried: the operation may not be idempotent. A 200
// returns the backend's answer, ok or not (a tool-level error is the
// caller's to render). Every failure is a *ManageError whose Kind is the
// class of gateway.md §10.2: ManageNotSent (nothing changed),
// ManageUnconfirmed (timeout, lost connection, 5xx, unreadable 200: it may
// have been applied), ManageUnknownTool (404 unknown_tool) or ManageRefused
// (another 4xx). A name that is not one of the 30 management tools is
// ManageUnknownTool without a request.
func (c *Client) Manage(ctx context.Context, tool proto.ManagementTool, req proto.ManageRequest, timeout time.Duration) (resp proto.ManageResponse, err error) {
	if !tool.Valid() {
		return proto.ManageResponse{}, &ManageError{
			Tool: tool, Kind: ManageUnknownTool, Cause: "not a management tool",
			Err: fmt.Errorf("%q is not one of the management tools", tool),
		}
	}
	if timeout <= 0 {
		timeout = DefaultManageTimeout
	}
	if len(req.Arguments) == 0 {
		req.Arguments = json.RawMessage(`{}`)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return proto.ManageResponse{}, &ManageError{
			Tool: tool, Kind: ManageNotSent, Cause: "the request could not be encoded",
			Err: &RequestError{Endpoint: EndpointManage, Err: fmt.Errorf("encode the request: %w", err)},
		}
	}
	var a answer
	defer func() { c.observe(ctx, EndpointManage, err) }()
	a, err = c.do(ctx, call{
		endpoint: EndpointManage, method: http.MethodPost,
		path: strings.Replace(proto.PathInternalManage, "{tool}", string(tool), 1),
		body: body, timeout: timeout, maxBody: maxAnswerBytes,
	})
	if err != nil {
		return proto.ManageResponse{}, manageError(tool, timeout, err)
	}
	if a.status != http.StatusOK {
		return proto.ManageResponse{}, manageError(tool, timeout, newHTTPError(EndpointManage, a.status, a.body))
	}
	if err := decodeJSON(EndpointManage, a, &resp); err != nil {
		return proto.ManageResponse{}, manageError(tool, timeout, err)
	}
	if err := checkManageResponse(resp); err != nil {
		return proto.ManageResponse{}, manageError(tool, timeout, &MalformedError{Endpoint: EndpointManage, Status: a.status, Err: err})
	}
	return resp, nil
}

// checkManageResponse checks the 200 body of backend.md §9.5: ok with a
// result, or not ok with an error that has a code and a message.
func checkManageResponse(r proto.ManageResponse) error {
	switch {
	case r.OK && len(r.Result) == 0:
		return errors.New(`"ok": true without "result"`)
	case !r.OK && (r.Error == nil || r.Error.Code == "" || r.Error.Message == ""):
		return errors.New(`"ok": false without an "error" that has a code and a message`)
	}
	return nil
}

// manageError classifies a failed management call.
func manageError(tool proto.ManagementTool, timeout time.Duration, err error) *ManageError {
	me := &ManageError{Tool: tool, Err: err}
	var (
		te *TransportError
		he *HTTPError
	)
	switch {
	case errors.As(err, &te) && !te.Sent && errors.Is(te.Err, context.Canceled):
		me.Kind, me.Cause = ManageNotSent, "the call was cancelled"
	case errors.As(err, &te) && !te.Sent:
		me.Kind, me.Cause = ManageNotSent, "backend unreachable"
	case errors.As(err, &te) && te.Timeout && errors.Is(te.Err, errCallTimeout):
		me.Kind, me.Cause = ManageUnconfirmed, "no answer within "+timeout.String()
	case errors.As(err, &te) && te.Timeout:
		me.Kind, me.Cause = ManageUnconfirmed, "no answer before the deadline"
	case errors.As(err, &te) && errors.Is(te.Err, context.Canceled):
		me.Kind, me.Cause = ManageUnconfirmed, "the call was cancelled"
	case errors.As(err, &te):
		me.Kind, me.Cause = ManageUnconfirmed, "the connection was lost"
	case errors.As(err, &he) && he.Status == http.StatusNotFound && he.Code == proto.CodeUnknownTool:
		me.Kind, me.Cause = ManageUnknownTool, "HTTP 404 unknown_tool"
	case errors.As(err, &he) && he.Permanent():
		me.Kind, me.Cause = ManageRefused, httpCause(he)
	case errors.As(err, &he):
		me.Kind, me.Cause = ManageUnconfirmed, httpCause(he)
	default: // *MalformedError: the backend processed the request
		me.Kind, me.Cause = ManageUnconfirmed, "unreadable answer"
	}
	return me
}

// httpCause names an answer's status and code: "HTTP 503 unavailable".
func httpCause(he *HTTPError) string {
	s := fmt.Sprintf("HTTP %d", he.Status)
	if he.Code != "" {
		s += " " + he.Code
	}
	return s
}
