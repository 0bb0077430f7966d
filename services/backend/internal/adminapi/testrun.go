package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/catalog"
	"github.com/mcpbox/mcpbox/services/backend/internal/testrun"
)

// registerTestRuns adds POST /tools/{id}/test (backend.md §8.2, §11.2).
func (h *handlers) registerTestRuns(v1 *echo.Group) {
	v1.POST("/tools/:id/test", h.testTool, h.authenticate, h.long(activity.OpTestRun))
}

// testRunJSON is the answer of a test run: ok is true whenever the tool
// ran, success says whether it succeeded (a failed tool keeps its stdout
// and error, backend.md §10.2 mcpbox_test_code).
type testRunJSON struct {
	OK              bool                  `json:"ok"`
	ExecutionID     uuid.UUID             `json:"execution_id"`
	Success         bool                  `json:"success"`
	Result          json.RawMessage       `json:"result"`
	Error           *proto.ExecutionError `json:"error"`
	Stdout          string                `json:"stdout"`
	StdoutTruncated bool                  `json:"stdout_truncated"`
	DurationMS      int64                 `json:"duration_ms"`
	Version         int                   `json:"version"`
	Hash            string                `json:"hash"`
	Capabilities    string                `json:"capabilities"`
	WithheldHosts   []string              `json:"withheld_hosts"`
	WithheldSecrets []string              `json:"withheld_secrets"`
}

func (h *handlers) testTool(c *echo.Context) error {
	id, err := toolID(c)
	if err != nil {
		return err
	}
	var in struct {
		Arguments  json.RawMessage `json:"arguments"`
		Version    *int            `json:"version"`
		UseSecrets *bool           `json:"use_secrets"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	req := testrun.Request{
		ToolID: id, Arguments: in.Arguments, Caller: proto.Caller{Kind: proto.CallerAdmin},
		Actor: principal(c).Actor(), RequestID: requestID(c),
	}
	if in.Version != nil {
		if *in.Version < 1 {
			return invalid("version", "must be a version number of at least 1 (omit it for the latest version)")
		}
		req.Version = *in.Version
	}
	if in.UseSecrets != nil {
		req.UseSecrets = *in.UseSecrets
	}
	res, err := h.d.TestRuns.Run(c.Request().Context(), req)
	if err != nil {
		return testRunError(err)
	}
	return c.JSON(http.StatusOK, testRunJSON{
		OK: true, ExecutionID: res.ExecutionID, Success: res.Success, Result: res.Result, Error: res.Error,
		Stdout: res.Stdout, StdoutTruncated: res.StdoutTruncated, DurationMS: res.DurationMS,
		Version: res.Version, Hash: res.Hash, Capabilities: res.Capabilities,
		WithheldHosts: res.WithheldHosts, WithheldSecrets: res.WithheldSecrets,
	})
}

// testRunError maps the refusals of a test run (backend.md §8.2, §11.2).
func testRunError(err error) error {
	var (
		args    *testrun.ArgumentsError
		noCode  *testrun.NoCodeError
		refused *catalog.RefusedError
	)
	switch {
	case errors.As(err, &args):
		e := fail(http.StatusBadRequest, proto.CodeValidationFailed, "%s", args.Error())
		e.body.Field, e.body.Details = "arguments", args.Details
		return e
	case errors.Is(err, testrun.ErrBusy):
		return fail(http.StatusServiceUnavailable, proto.CodeBusy,
			"Too many test runs in progress; try again in a few seconds.").withRetryAfter(testrun.BusyRetryAfter)
	case errors.As(err, &noCode):
		return fail(http.StatusConflict, proto.CodeNoCode, "%s", noCode.Error())
	case errors.As(err, &refused):
		return fail(refused.Status, refused.Code, "%s", refused.Message)
	}
	return toolsError(err)
}
