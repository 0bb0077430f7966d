package ui

import (
	"net/http"

	"github.com/mcpbox/mcpbox/services/backend/internal/policy"
)

// setupSecurity is POST /setup/security (twins: POST
// /api/v1/settings/security-policy/profile and POST
// /api/v1/settings/onboarding-complete): the chosen profile is applied and
// setup ends on the dashboard.
func (h *handler) setupSecurity(w http.ResponseWriter, r *http.Request, st *state) error {
	status, err := h.d.Auth.Status(r.Context())
	if err != nil {
		return err
	}
	if status.OnboardingCompleted {
		return h.renderSetupSecurity(w, r, st, http.StatusConflict, setupSecurityPage{Done: true})
	}
	in := setupSecurityPage{Profile: r.PostFormValue("profile")}
	actor := st.p.Actor()
	if _, err := h.d.Policy.ApplyProfile(r.Context(), actor, st.reqID, in.Profile); err != nil {
		if len(policy.FieldErrors(err)) == 0 {
			return err
		}
		in.Error = msgProfileChoose
		return h.renderSetupSecurity(w, r, st, http.StatusUnprocessableEntity, in)
	}
	if err := h.d.Policy.CompleteOnboarding(r.Context(), actor, st.reqID); err != nil {
		return err
	}
	h.redirect(w, r, st, "/")
	return nil
}

func (h *handler) renderSetupSecurity(w http.ResponseWriter, r *http.Request, st *state, status int, in setupSecurityPage) error {
	return h.render(w, r, st, page{Status: status, Name: "setup_security", Title: "Security defaults", Data: in, Fragment: "setup-security-form", Bare: true})
}
