package ui

import "net/http"

// logout is POST /logout (twin: POST /api/v1/auth/logout): the session is
// revoked and its cookies deleted; the browser lands on /login.
func (h *handler) logout(w http.ResponseWriter, r *http.Request, st *state) error {
	if err := h.d.Auth.Logout(r.Context(), *st.p, st.reqID); err != nil {
		return err
	}
	h.clearSessionCookies(w, r)
	h.redirect(w, r, st, "/login")
	return nil
}
