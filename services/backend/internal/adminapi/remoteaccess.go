package adminapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/remoteaccess"
)

// registerRemoteAccess adds the remote access routes of backend.md §8.2:
// the expected configuration and the connectivity self-check, which runs
// in the long write-deadline class and reports its steps as progress.
func (h *handlers) registerRemoteAccess(v1 *echo.Group) {
	v1.GET("/settings/remote-access", h.remoteAccessGet, h.authenticate)
	v1.PATCH("/settings/remote-access", h.remoteAccessPatch, h.authenticate)
	v1.POST("/settings/remote-access/self-check", h.runSelfCheck, h.authenticate, h.long(activity.OpSelfCheck))
	v1.GET("/settings/remote-access/self-check", h.lastSelfCheck, h.authenticate)
}

// remoteAccessBody is the expected configuration on the wire; a setting
// that is not saved (and has no default) is null.
type remoteAccessBody struct {
	PublicURL        *string `json:"public_url"`
	ExpectedIssuer   *string `json:"expected_issuer"`
	ExpectedAudience *string `json:"expected_audience"`
	Revision         int64   `json:"revision"`
}

func toRemoteAccessBody(s remoteaccess.Settings) remoteAccessBody {
	orNull := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	return remoteAccessBody{
		PublicURL: orNull(s.PublicURL), ExpectedIssuer: orNull(s.ExpectedIssuer),
		ExpectedAudience: orNull(s.ExpectedAudience), Revision: s.Revision,
	}
}

// remoteAccessPatchBody is the PATCH body: each field absent (unchanged),
// a string (set), or "" or null (cleared, back to its default).
type remoteAccessPatchBody struct {
	PublicURL        json.RawMessage `json:"public_url"`
	ExpectedIssuer   json.RawMessage `json:"expected_issuer"`
	ExpectedAudience json.RawMessage `json:"expected_audience"`
	Revision         json.RawMessage `json:"revision"`
}

// change converts the body, refusing a field of the wrong type.
func (b remoteAccessPatchBody) change() (remoteaccess.Change, error) {
	var c remoteaccess.Change
	var err error
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  **string
	}{
		{remoteaccess.FieldPublicURL, b.PublicURL, &c.PublicURL},
		{remoteaccess.FieldExpectedIssuer, b.ExpectedIssuer, &c.ExpectedIssuer},
		{remoteaccess.FieldExpectedAudience, b.ExpectedAudience, &c.ExpectedAudience},
	} {
		if *f.dst, err = settingString(f.name, f.raw); err != nil {
			return c, err
		}
	}
	if b.Revision != nil {
		var n int64
		if err := json.Unmarshal(b.Revision, &n); err != nil || string(b.Revision) == "null" || n < 0 {
			return c, invalid("revision", "must be the revision you read with GET /settings/remote-access (an integer of 0 or more), or absent.")
		}
		c.Revision = &n
	}
	return c, nil
}

// settingString reads one optional string setting: nil when absent, ""
// for null.
func settingString(field string, raw json.RawMessage) (*string, error) {
	if raw == nil {
		return nil, nil //nolint:nilnil // absent: unchanged
	}
	var s string
	if string(raw) != "null" {
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid(field, "must be a string (\"\" or null clears it).")
		}
	}
	return &s, nil
}

// remoteAccessError maps the service's errors (backend.md §15.1).
func remoteAccessError(err error) error {
	if e := ruleFailure(err); e != nil {
		return e
	}
	var vc *remoteaccess.VersionChangedError
	switch {
	case errors.Is(err, remoteaccess.ErrNoSettings):
		return fail(http.StatusBadRequest, proto.CodeValidationFailed,
			"No settings given: send at least one of public_url, expected_issuer, expected_audience, "+
				"e.g. {\"public_url\": \"https://mcp.example.com\"}.")
	case errors.As(err, &vc):
		return fail(http.StatusConflict, proto.CodeVersionChanged, "%s", vc.Error())
	case errors.Is(err, remoteaccess.ErrCheckRunning):
		return fail(http.StatusConflict, proto.CodeInvalidState,
			"A check is already running; wait for it to finish and read its result with GET /settings/remote-access/self-check.")
	case errors.Is(err, remoteaccess.ErrNoPublicURL):
		return fail(http.StatusConflict, proto.CodeInvalidState,
			"No public URL is saved; save one with PATCH /settings/remote-access {\"public_url\": \"https://…\"} and run the check again.")
	}
	return err
}

// remoteAccessGet is GET /settings/remote-access.
func (h *handlers) remoteAccessGet(c *echo.Context) error {
	s, err := h.d.RemoteAccess.Get(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toRemoteAccessBody(s))
}

// remoteAccessPatch is PATCH /settings/remote-access.
func (h *handlers) remoteAccessPatch(c *echo.Context) error {
	var body remoteAccessPatchBody
	if err := decode(c, &body); err != nil {
		return err
	}
	change, err := body.change()
	if err != nil {
		return err
	}
	s, err := h.d.RemoteAccess.Patch(c.Request().Context(), principal(c).Actor(), requestID(c), change)
	if err != nil {
		return remoteAccessError(err)
	}
	return c.JSON(http.StatusOK, toRemoteAccessBody(s))
}

// runSelfCheck is POST /settings/remote-access/self-check: it runs the
// check (at most 60 s) and returns the stored result.
func (h *handlers) runSelfCheck(c *echo.Context) error {
	res, err := h.d.RemoteAccess.Run(c.Request().Context(), principal(c).Actor(), requestID(c), progress(c))
	if err != nil {
		return remoteAccessError(err)
	}
	return c.JSON(http.StatusOK, res)
}

// lastSelfCheck is GET /settings/remote-access/self-check: the last stored
// result, or null.
func (h *handlers) lastSelfCheck(c *echo.Context) error {
	res, err := h.d.RemoteAccess.Last(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
