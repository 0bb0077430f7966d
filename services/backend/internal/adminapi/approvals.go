package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// registerApprovals adds the approval and request routes of backend.md §8.2.
func (h *handlers) registerApprovals(v1 *echo.Group) {
	signedIn := h.authenticate
	v1.POST("/tools/:id/submit", h.submitTool, signedIn)
	v1.POST("/tools/:id/approve", h.approveTool, signedIn)
	v1.POST("/tools/:id/reject", h.rejectTool, signedIn)
	v1.POST("/tools/:id/revoke", h.revokeTool, signedIn)
	v1.GET("/approvals/summary", h.approvalSummary, signedIn)
	v1.GET("/approvals/tools", h.approvalTools, signedIn)
	v1.POST("/approvals/bulk", h.bulkDecide, signedIn)
	for _, k := range []approvals.Kind{approvals.KindNetwork, approvals.KindPackage} {
		base := "/" + string(k) + "-requests"
		v1.GET(base, h.listRequests(k), signedIn)
		v1.POST(base+"/:id/approve", h.approveRequest(k), signedIn)
		v1.POST(base+"/:id/reject", h.rejectRequest(k), signedIn)
		v1.POST(base+"/:id/revoke", h.revokeRequest(k), signedIn)
		v1.DELETE(base+"/:id", h.deleteRequest(k), signedIn)
	}
	v1.POST("/servers/:id/network-requests", h.createNetworkRequest, signedIn)
	v1.POST("/package-requests", h.createPackageRequest, signedIn)
}

// requestJSON is the NetworkRequest or PackageRequest resource (§8.1).
type requestJSON struct {
	ID              uuid.UUID  `json:"id"`
	ServerID        *uuid.UUID `json:"server_id"`
	ServerName      *string    `json:"server_name"`
	ToolID          *uuid.UUID `json:"tool_id"`
	ToolName        *string    `json:"tool_name"`
	Host            *string    `json:"host,omitempty"`
	Port            *int       `json:"port,omitempty"`
	Package         *string    `json:"package,omitempty"`
	Justification   string     `json:"justification"`
	Status          string     `json:"status"`
	Source          string     `json:"source"`
	RequestedBy     string     `json:"requested_by"`
	ReviewedBy      *string    `json:"reviewed_by"`
	ReviewedAt      *timestamp `json:"reviewed_at"`
	RejectionReason *string    `json:"rejection_reason"`
	CreatedAt       timestamp  `json:"created_at"`
}

// networkRequestJSON always carries port (null = any port).
type networkRequestJSON struct {
	requestJSON
	Host string `json:"host"`
	Port *int   `json:"port"`
}

func toRequestJSON(r approvals.Request) any {
	out := requestJSON{
		ID: r.ID, ServerID: r.ServerID, ServerName: r.ServerName, ToolID: r.ToolID, ToolName: r.ToolName,
		Justification: r.Justification, Status: r.Status, Source: r.Source(), RequestedBy: r.RequestedBy,
		ReviewedBy: r.ReviewedBy, ReviewedAt: stamp(r.ReviewedAt), RejectionReason: r.RejectionReason,
		CreatedAt: timestamp(r.CreatedAt),
	}
	if r.Kind == approvals.KindPackage {
		out.Package = &r.Package
		return out
	}
	return networkRequestJSON{requestJSON: out, Host: r.Host, Port: r.Port}
}

type grantedJSON struct {
	Hosts    []string `json:"hosts"`
	Packages []string `json:"packages"`
}

type revokedToolJSON struct {
	ID          uuid.UUID `json:"id"`
	ExposedName string    `json:"exposed_name"`
}

// approvalsError maps the approvals service's errors to the API's (§15.1).
func approvalsError(err error) error {
	var (
		state     *approvals.InvalidStateError
		changed   *approvals.VersionChangedError
		covered   *approvals.AlreadyCoveredError
		rejected  *approvals.AlreadyRejectedError
		forbidden *approvals.PackageForbiddenError
	)
	switch {
	case errors.Is(err, approvals.ErrNotFound):
		return toolNotFound()
	case errors.Is(err, approvals.ErrServerNotFound):
		return serverNotFound()
	case errors.Is(err, approvals.ErrRequestNotFound):
		return fail(http.StatusNotFound, proto.CodeNotFound, "No such request; list them with GET /api/v1/network-requests or /api/v1/package-requests.")
	case errors.Is(err, approvals.ErrSourcesUnsupported):
		return fail(http.StatusNotImplemented, proto.CodeNotImplemented, "Sources are not decided in bulk in this build; approve or reject the source on its own page.")
	case errors.As(err, &state):
		return fail(http.StatusConflict, proto.CodeInvalidState, "%s", state.Message)
	case errors.As(err, &changed):
		return fail(http.StatusConflict, proto.CodeVersionChanged, "%s", changed.Message)
	case errors.As(err, &covered):
		return fail(http.StatusConflict, proto.CodeAlreadyCovered, "%s", covered.Message)
	case errors.As(err, &rejected):
		return fail(http.StatusConflict, proto.CodeAlreadyRejected, "%s", rejected.Message)
	case errors.As(err, &forbidden):
		e := fail(http.StatusBadRequest, proto.CodePackageForbidden, "%s", forbidden.Error())
		e.body.Field = "package"
		return e
	}
	if e := ruleFailure(err); e != nil {
		return e
	}
	return err
}

func approvalAudit(c *echo.Context) approvals.Audit {
	return approvals.Audit{Actor: principal(c).Actor(), RequestID: requestID(c)}
}

// toolAfter answers with the tool as it is after a decision.
func (h *handlers) toolAfter(c *echo.Context, id uuid.UUID) (tools.Tool, error) {
	t, err := h.d.Tools.Get(c.Request().Context(), id)
	if err != nil {
		return tools.Tool{}, toolsError(err)
	}
	return t, nil
}

func (h *handlers) submitTool(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	var in struct {
		Notes json.RawMessage `json:"notes"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	var notes *string
	if err := optionalString("notes", in.Notes, &notes); err != nil {
		return err
	}
	res, err := h.d.Approvals.Submit(c.Request().Context(), approvalAudit(c), id, notes)
	if err != nil {
		return approvalsError(err)
	}
	t, err := h.toolAfter(c, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		toolJSON
		Missing grantedJSON `json:"missing"`
	}{toToolJSON(t), grantedJSON{Hosts: res.Missing.Hosts, Packages: res.Missing.Packages}})
}

func (h *handlers) approveTool(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	var in struct {
		Version int    `json:"version"`
		Hash    string `json:"hash"`
	}
	if err := decode(c, &in, "version", "hash"); err != nil {
		return err
	}
	g, err := h.d.Approvals.Approve(c.Request().Context(), approvalAudit(c), id, in.Version, in.Hash)
	if err != nil {
		return approvalsError(err)
	}
	t, err := h.toolAfter(c, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		toolJSON
		Granted grantedJSON `json:"granted"`
	}{toToolJSON(t), grantedJSON(g)})
}

func (h *handlers) rejectTool(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	var in struct {
		Version int    `json:"version"`
		Reason  string `json:"reason"`
	}
	if err := decode(c, &in, "version", "reason"); err != nil {
		return err
	}
	if err := h.d.Approvals.Reject(c.Request().Context(), approvalAudit(c), id, in.Version, in.Reason); err != nil {
		return approvalsError(err)
	}
	t, err := h.toolAfter(c, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toToolJSON(t))
}

func (h *handlers) revokeTool(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	var in struct {
		Reason json.RawMessage `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	var reason *string
	if err := optionalString("reason", in.Reason, &reason); err != nil {
		return err
	}
	if err := h.d.Approvals.Revoke(c.Request().Context(), approvalAudit(c), id, reason); err != nil {
		return approvalsError(err)
	}
	t, err := h.toolAfter(c, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toToolJSON(t))
}

func (h *handlers) approvalSummary(c *echo.Context) error {
	s, err := h.d.Approvals.Summary(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"pending": map[string]int64{
			"tools": s.PendingTools, "network": s.PendingNetwork, "packages": s.PendingPackages, "sources": s.PendingSources,
		},
		"approved_last_7d": s.ApprovedLast7d,
		"rejected_last_7d": s.RejectedLast7d,
	})
}

// queueToolJSON is an item of the approval queue: Tool + diff_base.
type queueToolJSON struct {
	toolJSON
	DiffBase *int `json:"diff_base"`
}

func (h *handlers) approvalTools(c *echo.Context) error {
	limit, err := page.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return approvalsError(err)
	}
	res, err := h.d.Approvals.ListTools(c.Request().Context(), c.QueryParam("status"), c.QueryParam("q"), limit, c.QueryParam("cursor"))
	if err != nil {
		return approvalsError(err)
	}
	items := make([]queueToolJSON, 0, len(res.IDs))
	for _, id := range res.IDs {
		t, err := h.d.Tools.Get(c.Request().Context(), id)
		if errors.Is(err, tools.ErrNotFound) {
			continue // deleted since the page was read
		} else if err != nil {
			return toolsError(err)
		}
		items = append(items, queueToolJSON{toolJSON: toToolJSON(t), DiffBase: diffBase(t)})
	}
	var next *string
	if res.NextCursor != "" {
		next = &res.NextCursor
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}

// diffBase is the version the latest is reviewed against: the approved
// version when it is another one, else the previous version, else none.
func diffBase(t tools.Tool) *int {
	switch {
	case t.ApprovedVersion != nil && *t.ApprovedVersion != t.LatestVersion:
		return t.ApprovedVersion
	case t.LatestVersion > 1:
		n := t.LatestVersion - 1
		return &n
	}
	return nil
}

func (h *handlers) bulkDecide(c *echo.Context) error {
	var in struct {
		Action string          `json:"action"`
		Reason json.RawMessage `json:"reason"`
		Items  []struct {
			Kind    string    `json:"kind"`
			ID      uuid.UUID `json:"id"`
			Version *int      `json:"version"`
			Hash    *string   `json:"hash"`
		} `json:"items"`
	}
	if err := decode(c, &in, "action", "items"); err != nil {
		return err
	}
	var reason *string
	if err := optionalString("reason", in.Reason, &reason); err != nil {
		return err
	}
	items := make([]approvals.BulkItem, len(in.Items))
	for i, it := range in.Items {
		items[i] = approvals.BulkItem{Kind: it.Kind, ID: it.ID, Version: it.Version, Hash: it.Hash}
	}
	res, err := h.d.Approvals.Bulk(c.Request().Context(), approvalAudit(c), in.Action, reason, items)
	if err != nil {
		return approvalsError(err)
	}
	type itemResult struct {
		Kind  string       `json:"kind"`
		ID    uuid.UUID    `json:"id"`
		OK    bool         `json:"ok"`
		Error *proto.Error `json:"error,omitempty"`
	}
	out := make([]itemResult, len(res))
	for i, r := range res {
		out[i] = itemResult{Kind: r.Kind, ID: r.ID, OK: r.Err == nil}
		if r.Err == nil {
			continue
		}
		var ae *apiError
		if errors.As(bulkItemError(r), &ae) {
			out[i].Error = &proto.Error{Code: ae.body.Code, Message: ae.body.Message, Field: ae.body.Field}
			continue
		}
		h.d.Log.ErrorContext(c.Request().Context(), "bulk item failed", "kind", r.Kind, "id", r.ID.String(), "error", r.Err.Error())
		out[i].Error = &proto.Error{Code: proto.CodeInternal, Message: "Internal error (request " + requestID(c) + "); this item was not changed."}
	}
	return c.JSON(http.StatusOK, map[string]any{"results": out})
}

// requestID reads the :id path parameter of a request route; a malformed
// id is 404.
func requestPathID(c *echo.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, approvalsError(approvals.ErrRequestNotFound)
	}
	return id, nil
}

// optionalUUID reads an optional uuid query parameter.
func optionalUUID(c *echo.Context, name string) (*uuid.UUID, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return nil, nil //nolint:nilnil // absent filter
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return nil, invalid(name, "must be a UUID")
	}
	return &id, nil
}

func (h *handlers) listRequests(kind approvals.Kind) echo.HandlerFunc {
	return func(c *echo.Context) error {
		limit, err := page.ParseLimit(c.QueryParam("limit"))
		if err != nil {
			return approvalsError(err)
		}
		f := approvals.RequestFilter{Status: c.QueryParam("status"), Q: c.QueryParam("q")}
		if f.ServerID, err = optionalUUID(c, "server_id"); err != nil {
			return err
		}
		if f.ToolID, err = optionalUUID(c, "tool_id"); err != nil {
			return err
		}
		res, err := h.d.Approvals.ListRequests(c.Request().Context(), kind, f, limit, c.QueryParam("cursor"))
		if err != nil {
			return approvalsError(err)
		}
		items := make([]any, len(res.Items))
		for i, r := range res.Items {
			items[i] = toRequestJSON(r)
		}
		var next *string
		if res.NextCursor != "" {
			next = &res.NextCursor
		}
		return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": next})
	}
}

func (h *handlers) createNetworkRequest(c *echo.Context) error {
	sid, err := serverID(c)
	if err != nil {
		return err
	}
	var in struct {
		Host          string          `json:"host"`
		Port          json.RawMessage `json:"port"`
		Justification string          `json:"justification"`
	}
	if err := decode(c, &in, "host"); err != nil {
		return err
	}
	var port *int
	if err := optionalValue("port", "an integer from 1 to 65535", in.Port, &port); err != nil {
		return err
	}
	r, err := h.d.Approvals.CreateNetwork(c.Request().Context(), approvalAudit(c), sid, in.Host, port, in.Justification)
	if err != nil {
		return approvalsError(err)
	}
	return c.JSON(http.StatusCreated, toRequestJSON(r))
}

func (h *handlers) createPackageRequest(c *echo.Context) error {
	var in struct {
		Package       string `json:"package"`
		Justification string `json:"justification"`
	}
	if err := decode(c, &in, "package"); err != nil {
		return err
	}
	r, err := h.d.Approvals.CreatePackage(c.Request().Context(), approvalAudit(c), in.Package, in.Justification)
	if err != nil {
		return approvalsError(err)
	}
	return c.JSON(http.StatusCreated, toRequestJSON(r))
}

func (h *handlers) approveRequest(kind approvals.Kind) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := requestPathID(c)
		if err != nil {
			return err
		}
		r, err := h.d.Approvals.ApproveRequest(c.Request().Context(), approvalAudit(c), kind, id)
		if err != nil {
			return approvalsError(err)
		}
		return c.JSON(http.StatusOK, toRequestJSON(r))
	}
}

func (h *handlers) rejectRequest(kind approvals.Kind) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := requestPathID(c)
		if err != nil {
			return err
		}
		var in struct {
			Reason string `json:"reason"`
		}
		if err := decode(c, &in, "reason"); err != nil {
			return err
		}
		r, err := h.d.Approvals.RejectRequest(c.Request().Context(), approvalAudit(c), kind, id, in.Reason)
		if err != nil {
			return approvalsError(err)
		}
		return c.JSON(http.StatusOK, toRequestJSON(r))
	}
}

func (h *handlers) revokeRequest(kind approvals.Kind) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := requestPathID(c)
		if err != nil {
			return err
		}
		r, revoked, err := h.d.Approvals.RevokeRequest(c.Request().Context(), approvalAudit(c), kind, id)
		if err != nil {
			return approvalsError(err)
		}
		list := make([]revokedToolJSON, len(revoked))
		for i, t := range revoked {
			list[i] = revokedToolJSON(t)
		}
		return c.JSON(http.StatusOK, map[string]any{"request": toRequestJSON(r), "revoked_tools": list})
	}
}

func (h *handlers) deleteRequest(kind approvals.Kind) echo.HandlerFunc {
	return func(c *echo.Context) error {
		id, err := requestPathID(c)
		if err != nil {
			return err
		}
		if err := h.d.Approvals.DeleteRequest(c.Request().Context(), approvalAudit(c), kind, id); err != nil {
			return approvalsError(err)
		}
		return c.NoContent(http.StatusNoContent)
	}
}
