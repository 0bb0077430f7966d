package ui

import (
	"errors"
	"net/http"

	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// loginSubmit is POST /login (twin: POST /api/v1/auth/login in cookie
// mode). Success opens a session (a new id) and goes to next; failure
// re-renders the form with the username kept, the password empty and
// focused.
func (h *handler) loginSubmit(w http.ResponseWriter, r *http.Request, st *state) error {
	in := loginPage{Next: safeNext(r.PostFormValue("next")), Username: field{Value: r.PostFormValue("username")}}
	pw := r.PostFormValue("password")
	if in.Username.Value == "" {
		in.add(&in.Username, "login-username", msgUsernameEmpty)
	}
	if pw == "" {
		in.add(&in.Password, "login-password", msgPasswordEmpty)
	}
	if in.any() {
		return h.loginFailed(w, r, st, http.StatusUnprocessableEntity, in)
	}
	res, err := h.d.Auth.Login(r.Context(), auth.LoginInput{
		Username: in.Username.Value, Password: pw, Mode: auth.ClientCookie,
		IP: h.d.Proxies.ClientIP(r), UserAgent: r.UserAgent(), RequestID: st.reqID,
	})
	if secs, ok := throttled(w, err); ok {
		in.Problem = throttleMessage(secs)
		return h.loginFailed(w, r, st, http.StatusTooManyRequests, in)
	}
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		in.Problem = msgBadCredentials
		return h.loginFailed(w, r, st, http.StatusUnprocessableEntity, in)
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "1")
		in.Problem = msgBusy
		return h.loginFailed(w, r, st, http.StatusServiceUnavailable, in)
	case err != nil:
		return err
	}
	h.startSession(w, r, res.Cookie, res.CSRFToken)
	h.redirect(w, r, st, in.Next)
	return nil
}

func (h *handler) loginFailed(w http.ResponseWriter, r *http.Request, st *state, status int, in loginPage) error {
	if in.Problem != "" {
		// UI-3: the password is cleared and focused; the summary is an
		// alert, announced anyway.
		in.FocusField = "login-password"
	}
	st.csrf = h.preSessionToken(w, r)
	return h.renderLogin(w, r, st, status, in)
}
