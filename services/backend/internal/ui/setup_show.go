package ui

import (
	"errors"
	"net/http"

	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// Setup messages. The rule messages of username and password are the
// backend's own (auth.CheckUsername, password.CheckNew); the setup-code
// message is the API's.
const (
	msgCodeEmpty     = "setup_code: enter the setup code; it is in the backend's log at start (or MCPBOX_SETUP_CODE)."
	msgCodeWrong     = "The setup code is wrong; it is in the backend's log at start (or MCPBOX_SETUP_CODE)."
	msgConfirm       = "confirm_password: does not match the password."
	msgSetupDone     = "Setup was already completed."
	msgProfileChoose = "profile: choose Strict, Balanced or Permissive."
)

// setupAccountPage is the data of step 1 (the account).
type setupAccountPage struct {
	Code, Username    field
	Password, Confirm field // never a value
	// Done: another setup finished first; the form is replaced by the
	// notice.
	Done bool
	formProblems
}

// setupSecurityPage is the data of step 2 (the security defaults).
type setupSecurityPage struct {
	Profile string
	Error   string
	Done    bool
}

// setupShow is GET /setup: step 1 while no admin exists; step 2 for the
// signed-in admin until onboarding is complete; 404 otherwise.
func (h *handler) setupShow(w http.ResponseWriter, r *http.Request, st *state) error {
	status, err := h.d.Auth.Status(r.Context())
	if err != nil {
		return err
	}
	h.noteVersion(status.Version)
	switch {
	case status.SetupRequired:
		st.csrf = h.preSessionToken(w, r)
		return h.renderSetupAccount(w, r, st, http.StatusOK, setupAccountPage{})
	case st.p != nil && !status.OnboardingCompleted:
		return h.renderSetupSecurity(w, r, st, http.StatusOK, setupSecurityPage{Profile: "strict"})
	}
	h.adminExists.Store(true)
	return h.notFound(w, r, st)
}

// ruleMessage is the backend's message of a rule error.
func ruleMessage(err error) string {
	var re *password.RuleError
	if errors.As(err, &re) {
		return re.Message
	}
	return err.Error()
}
