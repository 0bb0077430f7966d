package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
	"github.com/mcpbox/mcpbox/services/backend/internal/servers"
)

// registerServers adds the server routes of backend.md §8.2.
func (h *handlers) registerServers(v1 *echo.Group) {
	signedIn := h.authenticate
	v1.GET("/servers", h.listServers, signedIn)
	v1.POST("/servers", h.createServer, signedIn)
	v1.GET("/servers/:id", h.getServer, signedIn)
	v1.PATCH("/servers/:id", h.updateServer, signedIn)
	v1.DELETE("/servers/:id", h.deleteServer, signedIn)
	v1.POST("/servers/:id/start", h.startServer, signedIn)
	v1.POST("/servers/:id/stop", h.stopServer, signedIn)
}

// timestampLayout is RFC 3339 in UTC with millisecond precision and Z
// (backend.md §2); encoding/json's time.Time format varies its precision.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// timestamp is a time on the wire: always UTC, always three fraction digits.
type timestamp time.Time

// MarshalJSON implements json.Marshaler.
func (t timestamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format(timestampLayout))
}

// serverJSON is the Server resource of backend.md §8.1.
type serverJSON struct {
	ID            uuid.UUID          `json:"id"`
	Name          string             `json:"name"`
	Description   string             `json:"description"`
	Status        proto.ServerStatus `json:"status"`
	ToolCount     int                `json:"tool_count"`
	LiveToolCount int                `json:"live_tool_count"`
	ApprovedHosts []string           `json:"approved_hosts"`
	CreatedBy     string             `json:"created_by"`
	CreatedAt     timestamp          `json:"created_at"`
	UpdatedAt     timestamp          `json:"updated_at"`
}

// serverChangeJSON is the answer of start and stop: the Server plus changed.
type serverChangeJSON struct {
	serverJSON
	Changed bool `json:"changed"`
}

// serverListJSON is a page of GET /servers.
type serverListJSON struct {
	Items      []serverJSON `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

func toServerJSON(s servers.Server) serverJSON {
	hosts := s.ApprovedHosts
	if hosts == nil {
		hosts = []string{}
	}
	return serverJSON{
		ID: s.ID, Name: s.Name, Description: s.Description, Status: s.Status,
		ToolCount: s.ToolCount, LiveToolCount: s.LiveToolCount, ApprovedHosts: hosts,
		CreatedBy: s.CreatedBy, CreatedAt: timestamp(s.CreatedAt), UpdatedAt: timestamp(s.UpdatedAt),
	}
}

// serversError maps the servers service's errors to the API's (§15.1).
func serversError(err error) error {
	var taken *servers.NameTakenError
	switch {
	case errors.Is(err, servers.ErrNotFound):
		return serverNotFound()
	case errors.As(err, &taken):
		e := fail(http.StatusConflict, proto.CodeNameTaken, "A server named '%s' already exists; pick another name.", taken.Name)
		e.body.Field = "name"
		return e
	}
	if e := ruleFailure(err); e != nil {
		return e
	}
	return err
}

func serverNotFound() *apiError {
	return fail(http.StatusNotFound, proto.CodeNotFound, "No such server; list the servers with GET /api/v1/servers.")
}

// ruleFailure turns rule errors (a *proto.RuleError or a join of them) into
// 400 validation_failed: the first names the field and gives the message,
// details list them all. It returns nil for any other error.
func ruleFailure(err error) *apiError {
	var rule *proto.RuleError
	if !errors.As(err, &rule) {
		return nil
	}
	e := fail(http.StatusBadRequest, proto.CodeValidationFailed, "%s", rule.Error())
	e.body.Field = rule.Field
	e.body.Details = proto.FieldErrors(err)
	return e
}

// serverID reads the :id path parameter; a malformed id is 404, as an
// unknown one is.
func serverID(c *echo.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, serverNotFound()
	}
	return id, nil
}

func auditOf(c *echo.Context) servers.Audit {
	return servers.Audit{Actor: principal(c).Actor(), RequestID: requestID(c)}
}

func (h *handlers) listServers(c *echo.Context) error {
	limit, err := page.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return serversError(err)
	}
	f := servers.Filter{Q: c.QueryParam("q"), Status: c.QueryParam("status")}
	res, err := h.d.Servers.List(c.Request().Context(), f, limit, c.QueryParam("cursor"))
	if err != nil {
		return serversError(err)
	}
	out := serverListJSON{Items: make([]serverJSON, len(res.Items))}
	for i, s := range res.Items {
		out.Items[i] = toServerJSON(s)
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) createServer(c *echo.Context) error {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decode(c, &in, "name"); err != nil {
		return err
	}
	s, err := h.d.Servers.Create(c.Request().Context(), auditOf(c), servers.CreateInput{Name: in.Name, Description: in.Description})
	if err != nil {
		return serversError(err)
	}
	return c.JSON(http.StatusCreated, toServerJSON(s))
}

func (h *handlers) getServer(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	s, err := h.d.Servers.Get(c.Request().Context(), id)
	if err != nil {
		return serversError(err)
	}
	return c.JSON(http.StatusOK, toServerJSON(s))
}

func (h *handlers) updateServer(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	var in struct {
		Name        json.RawMessage `json:"name"`
		Description json.RawMessage `json:"description"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	var up servers.UpdateInput
	if err := optionalString("name", in.Name, &up.Name); err != nil {
		return err
	}
	if err := optionalString("description", in.Description, &up.Description); err != nil {
		return err
	}
	res, err := h.d.Servers.Update(c.Request().Context(), auditOf(c), id, up)
	if err != nil {
		return serversError(err)
	}
	return c.JSON(http.StatusOK, toServerJSON(res.Server))
}

// optionalString reads a PATCH field that is not nullable (backend.md §2):
// absent leaves *dst nil, null is refused, anything but a string too.
func optionalString(field string, raw json.RawMessage, dst **string) error {
	if raw == nil {
		return nil
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return invalid(field, "must be a string")
	}
	if s == nil {
		return invalid(field, "must be a string, not null; omit the field to keep its value")
	}
	*dst = s
	return nil
}

func (h *handlers) deleteServer(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	if _, err := h.d.Servers.Delete(c.Request().Context(), auditOf(c), id); err != nil {
		return serversError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) startServer(c *echo.Context) error { return h.setServerStatus(c, h.d.Servers.Start) }

func (h *handlers) stopServer(c *echo.Context) error { return h.setServerStatus(c, h.d.Servers.Stop) }

func (h *handlers) setServerStatus(c *echo.Context, op func(ctx context.Context, a servers.Audit, id uuid.UUID) (servers.Result, error)) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	res, err := op(c.Request().Context(), auditOf(c), id)
	if err != nil {
		return serversError(err)
	}
	return c.JSON(http.StatusOK, serverChangeJSON{serverJSON: toServerJSON(res.Server), Changed: res.Changed})
}
