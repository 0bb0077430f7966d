package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/approvals"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
	"github.com/mcpbox/mcpbox/services/backend/internal/sources"
)

// registerSources adds the external-source routes of backend.md §8.2 (the
// OAuth routes are in oauth.go). Discovery waits on the sandbox, so it is
// in the long write-deadline class (§3).
func (h *handlers) registerSources(v1 *echo.Group) {
	signedIn := h.authenticate
	v1.GET("/servers/:id/external-sources", h.listServerSources, signedIn)
	v1.POST("/servers/:id/external-sources", h.createSource, signedIn)
	v1.GET("/external-sources", h.listSources, signedIn)
	v1.GET("/external-sources/:id", h.getSource, signedIn)
	v1.PATCH("/external-sources/:id", h.updateSource, signedIn)
	v1.DELETE("/external-sources/:id", h.deleteSource, signedIn)
	v1.POST("/external-sources/:id/approve", h.approveSource, signedIn)
	v1.POST("/external-sources/:id/reject", h.rejectSource, signedIn)
	v1.POST("/external-sources/:id/discover", h.discover, signedIn, h.long(activity.OpDiscover))
	v1.POST("/external-sources/:id/import", h.importSourceTools, signedIn)
}

// sourceJSON is the Source resource of backend.md §8.1.
type sourceJSON struct {
	ID                  uuid.UUID            `json:"id"`
	ServerID            uuid.UUID            `json:"server_id"`
	Name                string               `json:"name"`
	URL                 string               `json:"url"`
	Transport           proto.Transport      `json:"transport"`
	AuthType            proto.SourceAuthType `json:"auth_type"`
	AuthSecretName      *string              `json:"auth_secret_name"`
	AuthHeaderName      *string              `json:"auth_header_name"`
	Status              proto.SourceStatus   `json:"status"`
	LastError           *string              `json:"last_error"`
	OAuthAuthenticated  bool                 `json:"oauth_authenticated"`
	OAuthIssuer         *string              `json:"oauth_issuer"`
	OAuthClientID       *string              `json:"oauth_client_id"`
	DiscoveredAt        *timestamp           `json:"discovered_at"`
	DiscoveredToolCount int                  `json:"discovered_tool_count"`
	ImportedToolCount   int                  `json:"imported_tool_count"`
	ApprovedBy          *string              `json:"approved_by"`
	ApprovedAt          *timestamp           `json:"approved_at"`
	CreatedBy           string               `json:"created_by"`
	CreatedAt           timestamp            `json:"created_at"`
	UpdatedAt           timestamp            `json:"updated_at"`
}

// sourceWithServerJSON is an item of GET /external-sources: Source +
// server_name.
type sourceWithServerJSON struct {
	sourceJSON
	ServerName string `json:"server_name"`
}

type sourceListJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

type discoveredToolJSON struct {
	Name            string          `json:"name"`
	Description     string          `json:"description"`
	InputSchema     json.RawMessage `json:"input_schema"`
	Annotations     json.RawMessage `json:"annotations"`
	ImportName      string          `json:"import_name"`
	AlreadyImported bool            `json:"already_imported"`
	NameTaken       bool            `json:"name_taken"`
}

type changedToolJSON struct {
	ToolID       uuid.UUID          `json:"tool_id"`
	Name         string             `json:"name"`
	ExposedName  string             `json:"exposed_name"`
	Version      int                `json:"version"`
	ReviewStatus proto.ReviewStatus `json:"review_status"`
}

type importedToolJSON struct {
	ToolID       uuid.UUID          `json:"tool_id"`
	Name         string             `json:"name"`
	ExposedName  string             `json:"exposed_name"`
	ExternalName string             `json:"external_tool_name"`
	ReviewStatus proto.ReviewStatus `json:"review_status"`
}

type skippedToolJSON struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func toSourceJSON(s sources.Source) sourceJSON {
	return sourceJSON{
		ID: s.ID, ServerID: s.ServerID, Name: s.Name, URL: s.URL, Transport: s.Transport, AuthType: s.AuthType,
		AuthSecretName: s.AuthSecretName, AuthHeaderName: s.AuthHeaderName, Status: s.Status, LastError: s.LastError,
		OAuthAuthenticated: s.OAuthAuthenticated, OAuthIssuer: s.OAuthIssuer, OAuthClientID: s.OAuthClientID,
		DiscoveredAt: stamp(s.DiscoveredAt), DiscoveredToolCount: s.DiscoveredToolCount, ImportedToolCount: s.ImportedToolCount,
		ApprovedBy: s.ApprovedBy, ApprovedAt: stamp(s.ApprovedAt), CreatedBy: s.CreatedBy,
		CreatedAt: timestamp(s.CreatedAt), UpdatedAt: timestamp(s.UpdatedAt),
	}
}

// sourcesError maps the sources service's errors to the API's (§15.1).
func sourcesError(err error) error {
	var (
		state   *sources.InvalidStateError
		taken   *sources.NameTakenError
		deps    *sources.HasDependentsError
		failed  *sources.DiscoveryFailedError
		missing *sources.SecretMissingError
		auth    *sources.AuthFailedError
	)
	switch {
	case errors.Is(err, sources.ErrNotFound):
		return sourceNotFound()
	case errors.Is(err, sources.ErrServerNotFound):
		return serverNotFound()
	case errors.As(err, &state):
		return fail(http.StatusConflict, proto.CodeInvalidState, "%s", state.Message)
	case errors.As(err, &taken):
		e := fail(http.StatusConflict, proto.CodeNameTaken, "%s", taken.Error())
		e.body.Field = "name"
		return e
	case errors.As(err, &deps):
		return fail(http.StatusConflict, proto.CodeHasDependents, "%s", deps.Error())
	case errors.As(err, &failed):
		return fail(http.StatusBadGateway, proto.CodeDiscoveryFailed, "%s", failed.Error())
	case errors.As(err, &missing):
		return fail(http.StatusConflict, proto.CodeSecretMissing, "%s", missing.Error())
	case errors.As(err, &auth):
		return fail(http.StatusConflict, proto.CodeSourceAuthFailed, "%s", auth.Error())
	}
	// The tool quota of an import and the sandbox's failures are the tools
	// routes' errors; rule errors too.
	return toolsError(err)
}

// bulkItemError maps the error of one item of POST /approvals/bulk: the
// sources service decides the items of kind source.
func bulkItemError(r approvals.BulkResult) error {
	if r.Kind == approvals.ItemSource {
		return sourcesError(r.Err)
	}
	return approvalsError(r.Err)
}

func sourceNotFound() *apiError {
	return fail(http.StatusNotFound, proto.CodeNotFound, "No such external source; list them with GET /api/v1/external-sources.")
}

// sourceID reads the :id path parameter; a malformed id is 404.
func sourceID(c *echo.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, sourceNotFound()
	}
	return id, nil
}

func sourceAudit(c *echo.Context) sources.Audit {
	return sources.Audit{Actor: principal(c).Actor(), RequestID: requestID(c)}
}

func (h *handlers) listServerSources(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	limit, err := page.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return sourcesError(err)
	}
	res, err := h.d.Sources.List(c.Request().Context(), id, limit, c.QueryParam("cursor"))
	if err != nil {
		return sourcesError(err)
	}
	out := sourceListJSON[sourceJSON]{Items: make([]sourceJSON, len(res.Items))}
	for i, s := range res.Items {
		out.Items[i] = toSourceJSON(s)
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) listSources(c *echo.Context) error {
	limit, err := page.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return sourcesError(err)
	}
	f := sources.Filter{Status: c.QueryParam("status"), Q: c.QueryParam("q")}
	res, err := h.d.Sources.ListAll(c.Request().Context(), f, limit, c.QueryParam("cursor"))
	if err != nil {
		return sourcesError(err)
	}
	out := sourceListJSON[sourceWithServerJSON]{Items: make([]sourceWithServerJSON, len(res.Items))}
	for i, s := range res.Items {
		out.Items[i] = sourceWithServerJSON{sourceJSON: toSourceJSON(s), ServerName: s.ServerName}
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) createSource(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	var in struct {
		Name           string  `json:"name"`
		URL            string  `json:"url"`
		Transport      string  `json:"transport"`
		AuthType       string  `json:"auth_type"`
		AuthSecretName *string `json:"auth_secret_name"`
		AuthHeaderName *string `json:"auth_header_name"`
	}
	if err := decode(c, &in, "name", "url"); err != nil {
		return err
	}
	src, err := h.d.Sources.Create(c.Request().Context(), sourceAudit(c), id, sources.Input{
		Name: in.Name, URL: in.URL, Transport: in.Transport, AuthType: in.AuthType,
		AuthSecretName: in.AuthSecretName, AuthHeaderName: in.AuthHeaderName,
	}, "transport")
	if err != nil {
		return sourcesError(err)
	}
	return c.JSON(http.StatusCreated, toSourceJSON(src))
}

func (h *handlers) getSource(c *echo.Context) error {
	id, err := sourceID(c)
	if err != nil {
		return err
	}
	src, err := h.d.Sources.Get(c.Request().Context(), id)
	if err != nil {
		return sourcesError(err)
	}
	return c.JSON(http.StatusOK, toSourceJSON(src))
}

// nullableString reads a PATCH field that may be cleared with null.
func nullableString(field string, raw json.RawMessage) (sources.Nullable, error) {
	if raw == nil {
		return sources.Nullable{}, nil
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return sources.Nullable{}, invalid(field, "must be a string, or null to clear it")
	}
	return sources.Nullable{Set: true, Value: s}, nil
}

func (h *handlers) updateSource(c *echo.Context) error {
	id, err := sourceID(c)
	if err != nil {
		return err
	}
	var in struct {
		Name           json.RawMessage `json:"name"`
		URL            json.RawMessage `json:"url"`
		Transport      json.RawMessage `json:"transport"`
		AuthType       json.RawMessage `json:"auth_type"`
		AuthSecretName json.RawMessage `json:"auth_secret_name"`
		AuthHeaderName json.RawMessage `json:"auth_header_name"`
		Status         json.RawMessage `json:"status"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	var p sources.Patch
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  **string
	}{
		{"name", in.Name, &p.Name},
		{"url", in.URL, &p.URL},
		{"transport", in.Transport, &p.Transport},
		{"auth_type", in.AuthType, &p.AuthType},
		{"status", in.Status, &p.Status},
	} {
		if err := optionalString(f.name, f.raw, f.dst); err != nil {
			return err
		}
	}
	if p.AuthSecretName, err = nullableString("auth_secret_name", in.AuthSecretName); err != nil {
		return err
	}
	if p.AuthHeaderName, err = nullableString("auth_header_name", in.AuthHeaderName); err != nil {
		return err
	}
	src, err := h.d.Sources.Update(c.Request().Context(), sourceAudit(c), id, p)
	if err != nil {
		return sourcesError(err)
	}
	return c.JSON(http.StatusOK, toSourceJSON(src))
}

func (h *handlers) deleteSource(c *echo.Context) error {
	id, err := sourceID(c)
	if err != nil {
		return err
	}
	withTools := false
	switch c.QueryParam("delete_tools") {
	case "", "false":
	case "true":
		withTools = true
	default:
		return invalid("delete_tools", "must be true or false (absent: false)")
	}
	if _, err := h.d.Sources.Delete(c.Request().Context(), sourceAudit(c), id, withTools); err != nil {
		return sourcesError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) approveSource(c *echo.Context) error {
	id, err := sourceID(c)
	if err != nil {
		return err
	}
	src, err := h.d.Sources.Approve(c.Request().Context(), sourceAudit(c), id)
	if err != nil {
		return sourcesError(err)
	}
	return c.JSON(http.StatusOK, toSourceJSON(src))
}

func (h *handlers) rejectSource(c *echo.Context) error {
	id, err := sourceID(c)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(c, &in, "reason"); err != nil {
		return err
	}
	src, err := h.d.Sources.Reject(c.Request().Context(), sourceAudit(c), id, in.Reason)
	if err != nil {
		return sourcesError(err)
	}
	return c.JSON(http.StatusOK, toSourceJSON(src))
}

func (h *handlers) discover(c *echo.Context) error {
	id, err := sourceID(c)
	if err != nil {
		return err
	}
	d, err := h.d.Sources.Discover(c.Request().Context(), sourceAudit(c), id)
	if err != nil {
		return sourcesError(err)
	}
	out := struct {
		Source       sourceJSON           `json:"source"`
		Tools        []discoveredToolJSON `json:"tools"`
		ChangedTools []changedToolJSON    `json:"changed_tools"`
	}{Source: toSourceJSON(d.Source), Tools: make([]discoveredToolJSON, len(d.Tools)), ChangedTools: make([]changedToolJSON, len(d.ChangedTools))}
	for i, t := range d.Tools {
		out.Tools[i] = discoveredToolJSON(t)
	}
	for i, t := range d.ChangedTools {
		out.ChangedTools[i] = changedToolJSON(t)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) importSourceTools(c *echo.Context) error {
	id, err := sourceID(c)
	if err != nil {
		return err
	}
	var in struct {
		ToolNames []string `json:"tool_names"`
	}
	if err := decode(c, &in, "tool_names"); err != nil {
		return err
	}
	res, err := h.d.Sources.Import(c.Request().Context(), sourceAudit(c), id, in.ToolNames)
	if err != nil {
		return sourcesError(err)
	}
	out := struct {
		Source   sourceJSON         `json:"source"`
		Imported []importedToolJSON `json:"imported"`
		Skipped  []skippedToolJSON  `json:"skipped"`
	}{Source: toSourceJSON(res.Source), Imported: make([]importedToolJSON, len(res.Imported)), Skipped: make([]skippedToolJSON, len(res.Skipped))}
	for i, t := range res.Imported {
		out.Imported[i] = importedToolJSON(t)
	}
	for i, s := range res.Skipped {
		out.Skipped[i] = skippedToolJSON(s)
	}
	return c.JSON(http.StatusOK, out)
}
