package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// Messages of the Account and Sessions tabs.
const (
	msgCurrentEmpty   = "current_password: enter your current password."
	msgNewConfirm     = "confirm_password: does not match the new password."
	msgSessionEnded   = "The session was ended."
	msgSessionUnknown = "That session is no longer open."
)

// accountForm is the data of the change-password form; passwords never
// come back.
type accountForm struct {
	Current, New, Confirm field
	formProblems
}

// sessionsView is the data of the Sessions tab.
type sessionsView struct {
	Items   []auth.SessionInfo
	Problem string
}

// settingsPassword is POST /settings/password (twin: POST
// /api/v1/auth/password): success ends every session of the admin (API
// tokens included) and shows the login page with "Password changed. Sign
// in again."
func (h *handler) settingsPassword(w http.ResponseWriter, r *http.Request, st *state) error {
	current, next, confirm := r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	f := &accountForm{}
	if current == "" {
		f.add(&f.Current, "account-current", msgCurrentEmpty)
	}
	if err := password.CheckChange(st.p.Username, current, next); err != nil {
		f.add(&f.New, "account-new", ruleMessage(err))
	}
	if confirm != next {
		f.add(&f.Confirm, "account-confirm", msgNewConfirm)
	}
	if f.any() {
		return h.renderAccount(w, r, st, http.StatusUnprocessableEntity, f)
	}
	err := h.d.Auth.ChangePassword(r.Context(), *st.p, current, next, st.reqID)
	var re *password.RuleError
	switch {
	case errors.As(err, &re):
		if re.Field == "current_password" {
			f.add(&f.Current, "account-current", re.Message)
		} else {
			f.add(&f.New, "account-new", re.Message)
		}
		return h.renderAccount(w, r, st, http.StatusUnprocessableEntity, f)
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "1")
		f.Problem = msgBusy
		return h.renderAccount(w, r, st, http.StatusServiceUnavailable, f)
	case err != nil:
		return err
	}
	h.clearSessionCookies(w, r)
	h.redirect(w, r, st, "/login?reason=password")
	return nil
}

func (h *handler) renderAccount(w http.ResponseWriter, r *http.Request, st *state, status int, f *accountForm) error {
	return h.renderSettings(w, r, st, status, tabAccount, settingsPage{Account: f}, "settings-account-form")
}

// sessionsView lists the admin's open sessions, newest first.
func (h *handler) sessionsView(r *http.Request, st *state) (*sessionsView, error) {
	items, err := h.d.Auth.Sessions(r.Context(), *st.p)
	if err != nil {
		return nil, err
	}
	return &sessionsView{Items: items}, nil
}

// settingsEndSession is POST /settings/sessions/{id}/end (twin: DELETE
// /api/v1/auth/sessions/{id}). Ending this very session signs out.
func (h *handler) settingsEndSession(w http.ResponseWriter, r *http.Request, st *state) error {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return h.notFound(w, r, st)
	}
	err = h.d.Auth.EndSession(r.Context(), *st.p, id, st.reqID)
	problem := ""
	switch {
	case errors.Is(err, auth.ErrNotFound):
		problem = msgSessionUnknown
	case err != nil:
		return err
	}
	if id == st.p.SessionID && problem == "" {
		h.clearSessionCookies(w, r)
		h.redirect(w, r, st, "/login")
		return nil
	}
	if !st.htmx {
		h.redirect(w, r, st, "/settings?tab=sessions")
		return nil
	}
	v, err := h.sessionsView(r, st)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if problem != "" {
		v.Problem, status = problem, http.StatusConflict
	} else {
		toast(w, "info", msgSessionEnded, "")
	}
	return h.renderSettings(w, r, st, status, tabSessions, settingsPage{Sessions: v}, "settings-sessions")
}

// settingsEndAll is POST /settings/sessions/end-all (twin: POST
// /api/v1/auth/sessions/revoke-all): every session of the admin ends, this
// one included, and API refresh tokens are revoked.
func (h *handler) settingsEndAll(w http.ResponseWriter, r *http.Request, st *state) error {
	if err := h.d.Auth.EndAllSessions(r.Context(), *st.p, st.reqID); err != nil {
		return err
	}
	h.clearSessionCookies(w, r)
	h.redirect(w, r, st, "/login?reason=everywhere")
	return nil
}

// clientLabel names a session's client kind for people.
func clientLabel(c string) string {
	switch strings.ToLower(c) {
	case "cookie", "browser":
		return "Browser"
	case "token", "api":
		return "API client"
	}
	return c
}
