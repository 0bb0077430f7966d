package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

// registerPolicy adds the security-policy routes of backend.md §8.2.
func (h *handlers) registerPolicy(v1 *echo.Group) {
	v1.GET("/settings/security-policy", h.policyGet, h.authenticate)
	v1.PATCH("/settings/security-policy", h.policyPatch, h.authenticate)
	v1.POST("/settings/security-policy/profile", h.policyProfile, h.authenticate)
	v1.POST("/settings/onboarding-complete", h.onboardingComplete, h.authenticate)
}

// policyBody is the security policy on the wire: the eight settings with
// their defaults filled, the revision and, after a change that sent a
// setting back to its restrictive value, the approvals it kept (§6.6).
type policyBody struct {
	policy.Policy

	Revision int64                 `json:"revision"`
	Kept     *policy.KeptApprovals `json:"kept_policy_approvals,omitempty"`
}

func toPolicyBody(res policy.PatchResult) policyBody {
	return policyBody{Policy: res.Policy, Revision: res.Revision, Kept: res.KeptPolicyApprovals}
}

// policyError maps the policy service's errors (backend.md §15.1).
func policyError(err error) error {
	var vc *policy.VersionChangedError
	if fes := policy.FieldErrors(err); len(fes) > 0 {
		e := fail(http.StatusBadRequest, proto.CodeValidationFailed, "%s", fes[0].Message)
		e.body.Field = fes[0].Field
		for _, fe := range fes {
			e.body.Details = append(e.body.Details, proto.FieldError{Field: fe.Field, Message: fe.Message})
		}
		return e
	}
	switch {
	case errors.Is(err, policy.ErrNoSettings):
		return fail(http.StatusBadRequest, proto.CodeValidationFailed,
			"No settings given: send at least one of %s, e.g. {\"tool_approval_mode\": \"auto_approve\"}.", strings.Join(policy.Keys(), ", "))
	case errors.As(err, &vc):
		return fail(http.StatusConflict, proto.CodeVersionChanged, "%s", vc.Error())
	}
	return err
}

// policyGet is GET /settings/security-policy.
func (h *handlers) policyGet(c *echo.Context) error {
	p, rev, err := h.d.Policy.Get(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, policyBody{Policy: p, Revision: rev})
}

// policyPatch is PATCH /settings/security-policy: any subset of the
// settings plus the optional revision the admin read.
func (h *handlers) policyPatch(c *echo.Context) error {
	var raw map[string]json.RawMessage
	if err := decode(c, &raw); err != nil {
		return err
	}
	var seen *int64
	if r, ok := raw["revision"]; ok {
		delete(raw, "revision")
		var n int64
		if err := json.Unmarshal(r, &n); err != nil || bytes.Equal(bytes.TrimSpace(r), []byte("null")) || n < 0 {
			return invalid("revision", "must be the revision you read with GET /settings/security-policy (an integer of 0 or more), or absent.")
		}
		seen = &n
	}
	res, err := h.d.Policy.Patch(c.Request().Context(), principal(c).Actor(), requestID(c), raw, seen)
	if err != nil {
		return policyError(err)
	}
	return c.JSON(http.StatusOK, toPolicyBody(res))
}

// policyProfile is POST /settings/security-policy/profile {profile}.
func (h *handlers) policyProfile(c *echo.Context) error {
	var in struct {
		Profile string `json:"profile"`
	}
	if err := decode(c, &in, "profile"); err != nil {
		return err
	}
	res, err := h.d.Policy.ApplyProfile(c.Request().Context(), principal(c).Actor(), requestID(c), in.Profile)
	if err != nil {
		return policyError(err)
	}
	return c.JSON(http.StatusOK, toPolicyBody(res))
}

// onboardingComplete is POST /settings/onboarding-complete (idempotent).
func (h *handlers) onboardingComplete(c *echo.Context) error {
	if err := h.d.Policy.CompleteOnboarding(c.Request().Context(), principal(c).Actor(), requestID(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]bool{"onboarding_completed": true})
}
