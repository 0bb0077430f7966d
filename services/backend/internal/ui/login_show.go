package ui

import "net/http"

// Login messages (admin-ui.md §10; the generic one is the API's).
const (
	msgBadCredentials = "Invalid username or password."
	msgUsernameEmpty  = "username: enter your username."
	msgPasswordEmpty  = "password: enter your password."
	msgBusy           = "The server is busy checking passwords; retry in a second."
)

// loginBanners explain an arrival at /login (?reason=).
func loginBanner(reason string) string {
	switch reason {
	case "expired":
		return "Your session expired. Sign in again."
	case "password":
		return "Password changed. Sign in again."
	case "everywhere":
		return "Signed out everywhere."
	}
	return ""
}

// loginPage is the data of the login form.
type loginPage struct {
	Banner   string
	Next     string
	Username field
	Password field // never a value
	formProblems
}

// loginShow is GET /login: the form, or the next page for an admin who is
// signed in already.
func (h *handler) loginShow(w http.ResponseWriter, r *http.Request, st *state) error {
	next := safeNext(r.URL.Query().Get("next"))
	if st.p != nil {
		h.redirect(w, r, st, next)
		return nil
	}
	st.csrf = h.preSessionToken(w, r)
	return h.renderLogin(w, r, st, http.StatusOK, loginPage{Banner: loginBanner(r.URL.Query().Get("reason")), Next: next})
}

func (h *handler) renderLogin(w http.ResponseWriter, r *http.Request, st *state, status int, in loginPage) error {
	return h.render(w, r, st, page{Status: status, Name: "login", Title: "Sign in", Data: in, Fragment: "login-form"})
}
