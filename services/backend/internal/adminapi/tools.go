package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
	"github.com/mcpbox/mcpbox/services/backend/internal/sandboxclient"
	"github.com/mcpbox/mcpbox/services/backend/internal/tools"
)

// registerTools adds the tool and version routes of backend.md §8.2.
func (h *handlers) registerTools(v1 *echo.Group) {
	signedIn := h.authenticate
	v1.GET("/servers/:id/tools", h.listTools, signedIn)
	v1.POST("/servers/:id/tools", h.createTool, signedIn)
	v1.POST("/tools/analyze", h.analyzeCode, signedIn)
	v1.GET("/tools/:id", h.getTool, signedIn)
	v1.PATCH("/tools/:id", h.updateTool, signedIn)
	v1.DELETE("/tools/:id", h.deleteTool, signedIn)
	v1.GET("/tools/:id/versions", h.listToolVersions, signedIn)
	v1.GET("/tools/:id/versions/:n", h.getToolVersion, signedIn)
	v1.GET("/tools/:id/versions/:n/diff", h.diffToolVersion, signedIn)
	v1.POST("/tools/:id/rollback", h.rollbackTool, signedIn)
}

// toolJSON is the Tool resource of backend.md §8.1.
type toolJSON struct {
	ID                uuid.UUID          `json:"id"`
	ServerID          uuid.UUID          `json:"server_id"`
	ServerName        string             `json:"server_name"`
	Name              string             `json:"name"`
	ExposedName       string             `json:"exposed_name"`
	Kind              proto.ToolKind     `json:"kind"`
	Enabled           bool               `json:"enabled"`
	DisabledBy        *string            `json:"disabled_by"`
	Live              bool               `json:"live"`
	LatestVersion     int                `json:"latest_version"`
	ReviewStatus      proto.ReviewStatus `json:"review_status"`
	ReviewRequestedAt *timestamp         `json:"review_requested_at"`
	PublishNotes      *string            `json:"publish_notes"`
	RejectionReason   *string            `json:"rejection_reason"`
	ReviewedBy        *string            `json:"reviewed_by"`
	ReviewedAt        *timestamp         `json:"reviewed_at"`
	ApprovedVersion   *int               `json:"approved_version"`
	ApprovedHash      *string            `json:"approved_hash"`
	ApprovedAt        *timestamp         `json:"approved_at"`
	ApprovedBy        *string            `json:"approved_by"`
	ExternalSourceID  *uuid.UUID         `json:"external_source_id"`
	ExternalToolName  *string            `json:"external_tool_name"`
	CreatedBy         string             `json:"created_by"`
	CreatedAt         timestamp          `json:"created_at"`
	UpdatedAt         timestamp          `json:"updated_at"`
	Latest            versionJSON        `json:"latest"`
}

// coverageJSON is a version's coverage (§6.3).
type coverageJSON struct {
	Hosts    map[string]bool `json:"hosts"`
	Packages map[string]bool `json:"packages"`
}

// versionJSON is the Version resource of backend.md §8.1.
type versionJSON struct {
	Version            int                `json:"version"`
	Hash               string             `json:"hash"`
	Status             string             `json:"status"`
	Code               *string            `json:"code"`
	ExternalDefinition json.RawMessage    `json:"external_definition"`
	Manifest           proto.Manifest     `json:"manifest"`
	Description        string             `json:"description"`
	InputSchema        json.RawMessage    `json:"input_schema"`
	OutputSchema       json.RawMessage    `json:"output_schema"`
	Coverage           coverageJSON       `json:"coverage"`
	ChangeSummary      string             `json:"change_summary"`
	ChangeSource       proto.ChangeSource `json:"change_source"`
	BasedOnVersion     *int               `json:"based_on_version"`
	CreatedBy          string             `json:"created_by"`
	CreatedAt          timestamp          `json:"created_at"`
}

// toolChangeJSON is the answer of PATCH: the Tool plus changed.
type toolChangeJSON struct {
	toolJSON
	Changed bool `json:"changed"`
}

type toolListJSON struct {
	Items      []toolJSON `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

type versionListJSON struct {
	Items      []versionJSON `json:"items"`
	NextCursor *string       `json:"next_cursor"`
}

type manifestChangeJSON struct {
	Key string `json:"key"`
	Old any    `json:"old"`
	New any    `json:"new"`
}

type diffJSON struct {
	Base            *int                 `json:"base"`
	Target          int                  `json:"target"`
	CodeDiff        string               `json:"code_diff"`
	ManifestChanges []manifestChangeJSON `json:"manifest_changes"`
}

type findingJSON struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type analysisJSON struct {
	Valid        bool            `json:"valid"`
	Errors       []findingJSON   `json:"errors"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"input_schema"`
	OutputSchema json.RawMessage `json:"output_schema"`
	Packages     []string        `json:"packages"`
	Secrets      []string        `json:"secrets"`
}

// stamp is an optional timestamp.
func stamp(t *time.Time) *timestamp {
	if t == nil {
		return nil
	}
	return (*timestamp)(t)
}

func toToolJSON(t tools.Tool) toolJSON {
	return toolJSON{
		ID: t.ID, ServerID: t.ServerID, ServerName: t.ServerName, Name: t.Name, ExposedName: t.ExposedName(),
		Kind: t.Kind, Enabled: t.Enabled, DisabledBy: t.DisabledBy, Live: t.Live, LatestVersion: t.LatestVersion,
		ReviewStatus: t.ReviewStatus, ReviewRequestedAt: stamp(t.ReviewRequestedAt), PublishNotes: t.PublishNotes,
		RejectionReason: t.RejectionReason, ReviewedBy: t.ReviewedBy, ReviewedAt: stamp(t.ReviewedAt),
		ApprovedVersion: t.ApprovedVersion, ApprovedHash: t.ApprovedHash, ApprovedAt: stamp(t.ApprovedAt),
		ApprovedBy: t.ApprovedBy, ExternalSourceID: t.ExternalSourceID, ExternalToolName: t.ExternalToolName,
		CreatedBy: t.CreatedBy, CreatedAt: timestamp(t.CreatedAt), UpdatedAt: timestamp(t.UpdatedAt),
		Latest: toVersionJSON(t.Latest),
	}
}

func toVersionJSON(v tools.Version) versionJSON {
	out := versionJSON{
		Version: v.Version, Hash: v.Hash, Status: v.Status, Code: v.Code, ExternalDefinition: v.ExternalDefinition,
		Manifest: v.Manifest, Description: v.Description, InputSchema: v.InputSchema, OutputSchema: v.OutputSchema,
		Coverage:      coverageJSON{Hosts: v.Coverage.Hosts, Packages: v.Coverage.Packages},
		ChangeSummary: v.ChangeSummary, ChangeSource: v.ChangeSource, BasedOnVersion: v.BasedOnVersion,
		CreatedBy: v.CreatedBy, CreatedAt: timestamp(v.CreatedAt),
	}
	if out.ExternalDefinition == nil {
		out.ExternalDefinition = json.RawMessage("null")
	}
	if out.OutputSchema == nil {
		out.OutputSchema = json.RawMessage("null")
	}
	return out
}

// toolsError maps the tools service's errors to the API's (§15.1).
func toolsError(err error) error {
	var (
		taken     *tools.NameTakenError
		version   *tools.VersionNotFoundError
		state     *tools.InvalidStateError
		quota     *tools.QuotaError
		invalid   *tools.CodeInvalidError
		forbidden *tools.PackageForbiddenError
		sandbox   *sandboxclient.Error
	)
	switch {
	case errors.Is(err, tools.ErrNotFound):
		return toolNotFound()
	case errors.Is(err, tools.ErrServerNotFound):
		return serverNotFound()
	case errors.As(err, &taken):
		e := fail(http.StatusConflict, proto.CodeNameTaken, "%s", taken.Error())
		e.body.Field = "name"
		return e
	case errors.As(err, &version):
		return fail(http.StatusNotFound, proto.CodeNotFound, "%s", version.Error())
	case errors.As(err, &state):
		return fail(http.StatusConflict, proto.CodeInvalidState, "%s", state.Message)
	case errors.As(err, &quota):
		return fail(http.StatusConflict, proto.CodeQuotaExceeded, "%s", quota.Error())
	case errors.As(err, &invalid):
		e := fail(http.StatusBadRequest, proto.CodeCodeInvalid, "%s", invalid.Error())
		e.body.Field = "code"
		for _, d := range invalid.Diagnostics {
			msg := d.Message
			if d.Line > 0 {
				msg = "line " + strconv.Itoa(d.Line) + ":" + strconv.Itoa(d.Column) + ": " + d.Message
			}
			e.body.Details = append(e.body.Details, proto.FieldError{Field: "code", Message: msg})
		}
		return e
	case errors.As(err, &forbidden):
		e := fail(http.StatusBadRequest, proto.CodePackageForbidden, "%s", forbidden.Error())
		e.body.Field = "code"
		return e
	case errors.As(err, &sandbox):
		e := fail(sandbox.Status(), sandbox.Code(), "%s", sandbox.Message())
		if n := sandbox.RetryAfterSeconds(); n > 0 {
			e = e.withRetryAfter(n)
		}
		return e
	}
	if e := ruleFailure(err); e != nil {
		return e
	}
	return err
}

func toolNotFound() *apiError {
	return fail(http.StatusNotFound, proto.CodeNotFound, "No such tool; list a server's tools with GET /api/v1/servers/{id}/tools.")
}

// toolID reads the :id path parameter; a malformed id is 404.
func toolID(c *echo.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, toolNotFound()
	}
	return id, nil
}

// versionNumber reads the :n path parameter; anything but a positive
// decimal integer is 404, as a version the tool does not have is.
func versionNumber(c *echo.Context) (int, error) {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 || strconv.Itoa(n) != c.Param("n") {
		return 0, fail(http.StatusNotFound, proto.CodeNotFound, "Version %q not found; versions are numbered from 1.", c.Param("n"))
	}
	return n, nil
}

func toolAudit(c *echo.Context) tools.Audit {
	return tools.Audit{Actor: principal(c).Actor(), RequestID: requestID(c)}
}

func (h *handlers) listTools(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	limit, err := page.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return toolsError(err)
	}
	f := tools.Filter{ReviewStatus: c.QueryParam("review_status"), Enabled: c.QueryParam("enabled")}
	res, err := h.d.Tools.List(c.Request().Context(), id, f, limit, c.QueryParam("cursor"))
	if err != nil {
		return toolsError(err)
	}
	out := toolListJSON{Items: make([]toolJSON, len(res.Items))}
	for i, t := range res.Items {
		out.Items[i] = toToolJSON(t)
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

// toolContent is the content fields of create and PATCH, read strictly:
// absent leaves a field nil, null is refused (backend.md §2).
type toolContent struct {
	Code      json.RawMessage `json:"code"`
	Hosts     json.RawMessage `json:"hosts"`
	TimeoutMS json.RawMessage `json:"timeout_ms"`
	MemoryMB  json.RawMessage `json:"memory_mb"`
}

type parsedContent struct {
	code      *string
	hosts     *[]string
	timeoutMS *int
	memoryMB  *int
}

func (in toolContent) parse() (parsedContent, error) {
	var out parsedContent
	if err := optionalString("code", in.Code, &out.code); err != nil {
		return out, err
	}
	if err := optionalValue("hosts", "an array of host strings", in.Hosts, &out.hosts); err != nil {
		return out, err
	}
	if err := optionalValue("timeout_ms", "an integer", in.TimeoutMS, &out.timeoutMS); err != nil {
		return out, err
	}
	if err := optionalValue("memory_mb", "an integer", in.MemoryMB, &out.memoryMB); err != nil {
		return out, err
	}
	return out, nil
}

// optionalValue reads a non-nullable optional field: absent leaves *dst
// nil, null and values of another type are refused.
func optionalValue[T any](field, want string, raw json.RawMessage, dst **T) error {
	if raw == nil {
		return nil
	}
	var v *T
	if err := json.Unmarshal(raw, &v); err != nil {
		return invalid(field, "must be %s", want)
	}
	if v == nil {
		return invalid(field, "must be %s, not null; omit the field to keep its value", want)
	}
	*dst = v
	return nil
}

func (h *handlers) createTool(c *echo.Context) error {
	id, err := serverID(c)
	if err != nil {
		return err
	}
	var in struct {
		Name      string          `json:"name"`
		Code      json.RawMessage `json:"code"`
		Hosts     json.RawMessage `json:"hosts"`
		TimeoutMS json.RawMessage `json:"timeout_ms"`
		MemoryMB  json.RawMessage `json:"memory_mb"`
	}
	if err := decode(c, &in, "name", "code"); err != nil {
		return err
	}
	p, err := toolContent{Code: in.Code, Hosts: in.Hosts, TimeoutMS: in.TimeoutMS, MemoryMB: in.MemoryMB}.parse()
	if err != nil {
		return err
	}
	ci := tools.CreateInput{Name: in.Name, Code: *p.code, TimeoutMS: p.timeoutMS, MemoryMB: p.memoryMB}
	if p.hosts != nil {
		ci.Hosts = *p.hosts
		if ci.Hosts == nil {
			ci.Hosts = []string{}
		}
	}
	t, err := h.d.Tools.Create(c.Request().Context(), toolAudit(c), id, ci)
	if err != nil {
		return toolsError(err)
	}
	return c.JSON(http.StatusCreated, toToolJSON(t))
}

func (h *handlers) getTool(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	t, err := h.d.Tools.Get(c.Request().Context(), id)
	if err != nil {
		return toolsError(err)
	}
	return c.JSON(http.StatusOK, toToolJSON(t))
}

func (h *handlers) updateTool(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	var in struct {
		Name      json.RawMessage `json:"name"`
		Enabled   json.RawMessage `json:"enabled"`
		Code      json.RawMessage `json:"code"`
		Hosts     json.RawMessage `json:"hosts"`
		TimeoutMS json.RawMessage `json:"timeout_ms"`
		MemoryMB  json.RawMessage `json:"memory_mb"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	p, err := toolContent{Code: in.Code, Hosts: in.Hosts, TimeoutMS: in.TimeoutMS, MemoryMB: in.MemoryMB}.parse()
	if err != nil {
		return err
	}
	up := tools.UpdateInput{Code: p.code, Hosts: p.hosts, TimeoutMS: p.timeoutMS, MemoryMB: p.memoryMB}
	if err := optionalString("name", in.Name, &up.Name); err != nil {
		return err
	}
	if err := optionalValue("enabled", "true or false", in.Enabled, &up.Enabled); err != nil {
		return err
	}
	res, err := h.d.Tools.Update(c.Request().Context(), toolAudit(c), id, up)
	if err != nil {
		return toolsError(err)
	}
	return c.JSON(http.StatusOK, toolChangeJSON{toolJSON: toToolJSON(res.Tool), Changed: res.Changed})
}

func (h *handlers) deleteTool(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	if err := h.d.Tools.Delete(c.Request().Context(), toolAudit(c), id); err != nil {
		return toolsError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) listToolVersions(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	limit, err := page.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return toolsError(err)
	}
	res, err := h.d.Tools.Versions(c.Request().Context(), id, limit, c.QueryParam("cursor"))
	if err != nil {
		return toolsError(err)
	}
	out := versionListJSON{Items: make([]versionJSON, len(res.Items))}
	for i, v := range res.Items {
		out.Items[i] = toVersionJSON(v)
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) getToolVersion(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	n, err := versionNumber(c)
	if err != nil {
		return err
	}
	_, v, err := h.d.Tools.GetVersion(c.Request().Context(), id, n)
	if err != nil {
		return toolsError(err)
	}
	return c.JSON(http.StatusOK, toVersionJSON(v))
}

func (h *handlers) diffToolVersion(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	n, err := versionNumber(c)
	if err != nil {
		return err
	}
	var base *int
	if raw := c.QueryParam("base"); raw != "" {
		b, err := strconv.Atoi(raw)
		if err != nil || b < 1 || strconv.Itoa(b) != raw {
			return invalid("base", "must be a version number (a positive integer), or absent for the approved version, else n-1")
		}
		base = &b
	}
	d, err := h.d.Tools.Diff(c.Request().Context(), id, n, base)
	if err != nil {
		return toolsError(err)
	}
	out := diffJSON{Base: d.Base, Target: d.Target, CodeDiff: d.CodeDiff, ManifestChanges: make([]manifestChangeJSON, len(d.ManifestChanges))}
	for i, m := range d.ManifestChanges {
		out.ManifestChanges[i] = manifestChangeJSON(m)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) rollbackTool(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	var in struct {
		Version int `json:"version"`
	}
	if err := decode(c, &in, "version"); err != nil {
		return err
	}
	if in.Version < 1 {
		return invalid("version", "must be a version number (a positive integer)")
	}
	t, err := h.d.Tools.Rollback(c.Request().Context(), toolAudit(c), id, in.Version)
	if err != nil {
		return toolsError(err)
	}
	return c.JSON(http.StatusOK, toToolJSON(t))
}

func (h *handlers) analyzeCode(c *echo.Context) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(c, &in, "code"); err != nil {
		return err
	}
	a, err := h.d.Tools.Analyze(c.Request().Context(), in.Code)
	if err != nil {
		return toolsError(err)
	}
	out := analysisJSON{
		Valid: a.Valid, Errors: make([]findingJSON, len(a.Errors)), Description: a.Description,
		InputSchema: a.InputSchema, OutputSchema: a.OutputSchema, Packages: a.Packages, Secrets: a.Secrets,
	}
	for i, f := range a.Errors {
		out.Errors[i] = findingJSON(f)
	}
	if out.InputSchema == nil {
		out.InputSchema = json.RawMessage("null")
	}
	if out.OutputSchema == nil {
		out.OutputSchema = json.RawMessage("null")
	}
	return c.JSON(http.StatusOK, out)
}
