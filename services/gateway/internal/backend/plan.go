package backend

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/proto"
)

// Plan fetches GET /internal/v1/tools/{id}/plan?version=N (backend.md
// §9.4) within 10 s, once: a failed plan fetch fails that one call
// (gateway.md §7.1). Failures: 404 → *NotCallableError; 409 →
// *PlanRefusedError with the backend's code and message; another status →
// *HTTPError; a plan for another tool or version → *MalformedError. The
// hash is not checked here: the plan cache compares it with the catalog's.
// The plan holds secret values: never log it.
func (c *Client) Plan(ctx context.Context, toolID uuid.UUID, version int) (p proto.Plan, err error) {
	defer func() { c.observe(ctx, EndpointPlan, err) }()
	a, err := c.do(ctx, call{
		endpoint: EndpointPlan, method: http.MethodGet,
		path:    strings.Replace(proto.PathInternalPlan, "{id}", toolID.String(), 1),
		query:   url.Values{"version": {strconv.Itoa(version)}},
		timeout: c.readTimeout, maxBody: maxAnswerBytes,
	})
	if err != nil {
		return proto.Plan{}, err
	}
	switch a.status {
	case http.StatusOK:
	case http.StatusNotFound:
		e := newHTTPError(EndpointPlan, a.status, a.body)
		return proto.Plan{}, &NotCallableError{ToolID: toolID, Version: version, Message: e.Message}
	case http.StatusConflict:
		e := newHTTPError(EndpointPlan, a.status, a.body)
		if e.Code == "" {
			return proto.Plan{}, e // not the envelope of backend.md §9.4: nothing to show the client
		}
		return proto.Plan{}, &PlanRefusedError{ToolID: toolID, Version: version, Code: e.Code, Message: e.Message}
	default:
		return proto.Plan{}, newHTTPError(EndpointPlan, a.status, a.body)
	}
	if err := decodeJSON(EndpointPlan, a, &p); err != nil {
		return proto.Plan{}, err
	}
	if got, perr := uuid.Parse(p.ToolID); perr != nil || got != toolID || p.Version != version {
		return proto.Plan{}, &MalformedError{
			Endpoint: EndpointPlan, Status: a.status,
			Err: fmt.Errorf("asked for tool %s v%d, got tool %q v%d", toolID, version, p.ToolID, p.Version),
		}
	}
	return p, nil
}
