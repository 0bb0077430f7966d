package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/executions"
	"github.com/mcpbox/mcpbox/services/backend/internal/page"
)

// registerExecutions adds the execution-record routes of backend.md §8.2.
func (h *handlers) registerExecutions(v1 *echo.Group) {
	signedIn := h.authenticate
	v1.GET("/executions", h.listExecutions, signedIn)
	v1.GET("/executions/stats", h.executionStats, signedIn)
	v1.GET("/executions/:id", h.getExecution, signedIn)
}

// executionJSON is the Execution resource of backend.md §8.1: every column
// of execution_records except seq; absent values are null.
type executionJSON struct {
	ID          uuid.UUID        `json:"id"`
	ToolID      *uuid.UUID       `json:"tool_id"`
	ServerID    *uuid.UUID       `json:"server_id"`
	ToolVersion *int32           `json:"tool_version"`
	ToolHash    *string          `json:"tool_hash"`
	ExposedName string           `json:"exposed_name"`
	Via         proto.Via        `json:"via"`
	IsTest      bool             `json:"is_test"`
	CallerKind  proto.CallerKind `json:"caller_kind"`
	CallerEmail *string          `json:"caller_email"`
	CallerSub   *string          `json:"caller_sub"`
	Success     bool             `json:"success"`
	ErrorCode   *string          `json:"error_code"`
	Error       *string          `json:"error"`
	InputArgs   json.RawMessage  `json:"input_args"`
	Result      json.RawMessage  `json:"result"`
	Stdout      *string          `json:"stdout"`
	DurationMS  int32            `json:"duration_ms"`
	StartedAt   timestamp        `json:"started_at"`
	RequestID   *string          `json:"request_id"`
	CreatedAt   timestamp        `json:"created_at"`
}

// executionListJSON is a page of GET /executions.
type executionListJSON struct {
	Items      []executionJSON `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

// executionStatsJSON is GET /executions/stats: the execution fields of the
// dashboard's stats plus unique_tools and unique_callers (backend.md
// §14.3), and the period's buckets.
type executionStatsJSON struct {
	Period             string                `json:"period"`
	Executions         int64                 `json:"executions"`
	ExecutionsFailed   int64                 `json:"executions_failed"`
	ErrorRate          float64               `json:"error_rate"`
	AvgDurationMS      int64                 `json:"avg_duration_ms"`
	P95DurationMS      int64                 `json:"p95_duration_ms"`
	ExecutionsLocal    int64                 `json:"executions_local"`
	ExecutionsRemote   int64                 `json:"executions_remote"`
	TestRuns           int64                 `json:"test_runs"`
	UniqueTools        int64                 `json:"unique_tools"`
	UniqueCallers      int64                 `json:"unique_callers"`
	ExecutionsOverTime []executionBucketJSON `json:"executions_over_time"`
}

type executionBucketJSON struct {
	T      timestamp `json:"t"`
	Total  int64     `json:"total"`
	Failed int64     `json:"failed"`
}

func toExecutionJSON(r executions.Record) executionJSON {
	return executionJSON{
		ID: r.ID, ToolID: r.ToolID, ServerID: r.ServerID, ToolVersion: r.ToolVersion, ToolHash: r.ToolHash,
		ExposedName: r.ExposedName, Via: r.Via, IsTest: r.IsTest, CallerKind: r.CallerKind,
		CallerEmail: r.CallerEmail, CallerSub: r.CallerSub, Success: r.Success, ErrorCode: r.ErrorCode,
		Error: r.Error, InputArgs: r.InputArgs, Result: r.Result, Stdout: r.Stdout, DurationMS: r.DurationMS,
		StartedAt: timestamp(r.StartedAt), RequestID: r.RequestID, CreatedAt: timestamp(r.CreatedAt),
	}
}

// executionsError maps the executions service's errors to the API's.
func executionsError(err error) error {
	if errors.Is(err, executions.ErrNotFound) {
		return executionNotFound()
	}
	if e := ruleFailure(err); e != nil {
		return e
	}
	return err
}

func executionNotFound() *apiError {
	return fail(http.StatusNotFound, proto.CodeNotFound,
		"No such execution record; list them with GET /api/v1/executions (records older than the retention period are deleted).")
}

func (h *handlers) listExecutions(c *echo.Context) error {
	limit, err := page.ParseLimit(c.QueryParam("limit"))
	if err != nil {
		return executionsError(err)
	}
	f, err := executions.ParseFilter(c.Request().URL.Query())
	if err != nil {
		return executionsError(err)
	}
	res, err := h.d.Executions.List(c.Request().Context(), f, limit, c.QueryParam("cursor"))
	if err != nil {
		return executionsError(err)
	}
	out := executionListJSON{Items: make([]executionJSON, len(res.Items))}
	for i, r := range res.Items {
		out.Items[i] = toExecutionJSON(r)
	}
	if res.NextCursor != "" {
		out.NextCursor = &res.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) getExecution(c *echo.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return executionNotFound()
	}
	r, err := h.d.Executions.Get(c.Request().Context(), id)
	if err != nil {
		return executionsError(err)
	}
	return c.JSON(http.StatusOK, toExecutionJSON(r))
}

func (h *handlers) executionStats(c *echo.Context) error {
	s, err := h.d.Executions.Stats(c.Request().Context(), c.QueryParam("period"))
	if err != nil {
		return executionsError(err)
	}
	out := executionStatsJSON{
		Period: s.Period, Executions: s.Executions, ExecutionsFailed: s.ExecutionsFailed, ErrorRate: s.ErrorRate,
		AvgDurationMS: s.AvgDurationMS, P95DurationMS: s.P95DurationMS, ExecutionsLocal: s.ExecutionsLocal,
		ExecutionsRemote: s.ExecutionsRemote, TestRuns: s.TestRuns, UniqueTools: s.UniqueTools,
		UniqueCallers: s.UniqueCallers, ExecutionsOverTime: make([]executionBucketJSON, len(s.OverTime)),
	}
	for i, b := range s.OverTime {
		out.ExecutionsOverTime[i] = executionBucketJSON{T: timestamp(b.T), Total: b.Total, Failed: b.Failed}
	}
	return c.JSON(http.StatusOK, out)
}
