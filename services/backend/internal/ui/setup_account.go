package ui

import (
	"errors"
	"net/http"

	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// setupAccount is POST /setup (twins: POST /api/v1/auth/setup, then POST
// /api/v1/auth/login in cookie mode): the first admin, signed in at once,
// then step 2. Every field is checked with the backend's rules before the
// setup code is tried; of two concurrent setups one wins and the other
// reads "Setup was already completed".
func (h *handler) setupAccount(w http.ResponseWriter, r *http.Request, st *state) error {
	in := setupAccountPage{
		Code: field{Value: r.PostFormValue("setup_code")}, Username: field{Value: r.PostFormValue("username")},
	}
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("confirm_password")
	if in.Code.Value == "" {
		in.add(&in.Code, "setup-code", msgCodeEmpty)
	}
	if err := auth.CheckUsername(in.Username.Value); err != nil {
		in.add(&in.Username, "setup-username", ruleMessage(err))
	}
	if err := password.CheckNew(in.Username.Value, pw); err != nil {
		in.add(&in.Password, "setup-password", ruleMessage(err))
	}
	if confirm != pw {
		in.add(&in.Confirm, "setup-confirm", msgConfirm)
	}
	if in.any() {
		return h.setupAccountFailed(w, r, st, http.StatusUnprocessableEntity, in)
	}
	err := h.d.Auth.Setup(r.Context(), auth.SetupInput{
		Username: in.Username.Value, Password: pw, SetupCode: in.Code.Value,
		IP: h.d.Proxies.ClientIP(r), RequestID: st.reqID,
	})
	var re *password.RuleError
	if secs, ok := throttled(w, err); ok {
		in.Problem = throttleMessage(secs)
		return h.setupAccountFailed(w, r, st, http.StatusTooManyRequests, in)
	}
	switch {
	case errors.Is(err, auth.ErrAlreadySetup):
		h.adminExists.Store(true)
		return h.renderSetupAccount(w, r, st, http.StatusConflict, setupAccountPage{Done: true})
	case errors.Is(err, auth.ErrSetupCodeInvalid):
		in.add(&in.Code, "setup-code", msgCodeWrong)
		return h.setupAccountFailed(w, r, st, http.StatusUnprocessableEntity, in)
	case errors.As(err, &re):
		f, id := &in.Password, "setup-password"
		if re.Field == "username" {
			f, id = &in.Username, "setup-username"
		}
		in.add(f, id, re.Message)
		return h.setupAccountFailed(w, r, st, http.StatusUnprocessableEntity, in)
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "1")
		in.Problem = msgBusy
		return h.setupAccountFailed(w, r, st, http.StatusServiceUnavailable, in)
	case err != nil:
		return err
	}
	h.adminExists.Store(true)
	res, err := h.d.Auth.Login(r.Context(), auth.LoginInput{
		Username: in.Username.Value, Password: pw, Mode: auth.ClientCookie,
		IP: h.d.Proxies.ClientIP(r), UserAgent: r.UserAgent(), RequestID: st.reqID,
	})
	if err != nil {
		// The account exists; signing in is the admin's next step.
		h.d.Log.WarnContext(r.Context(), "sign-in after first-run setup failed", obs.KeyError, err)
		h.redirect(w, r, st, "/login?next=%2Fsetup")
		return nil
	}
	h.startSession(w, r, res.Cookie, res.CSRFToken)
	h.redirect(w, r, st, "/setup")
	return nil
}

func (h *handler) setupAccountFailed(w http.ResponseWriter, r *http.Request, st *state, status int, in setupAccountPage) error {
	st.csrf = h.preSessionToken(w, r)
	return h.renderSetupAccount(w, r, st, status, in)
}

func (h *handler) renderSetupAccount(w http.ResponseWriter, r *http.Request, st *state, status int, in setupAccountPage) error {
	return h.render(w, r, st, page{Status: status, Name: "setup_account", Title: "Setup", Data: in, Fragment: "setup-account-form", Bare: true})
}
