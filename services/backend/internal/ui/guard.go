package ui

import (
	"cmp"
	"errors"
	"net/http"
	"time"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
)

// state is what the guard learned about a request, passed to its handler.
type state struct {
	// p is the signed-in admin; nil when signed out.
	p *auth.Principal
	// csrf is the token rendered in the page (meta and _csrf fields): the
	// session's, or the pre-session cookie's on setup and login.
	csrf string
	// expired says a session cookie came with the request but no longer
	// opens a session.
	expired bool
	theme   string
	htmx    bool
	reqID   string
}

// guard runs a route's checks in the order of admin-ui.md §4 and §3: the
// security headers; for a non-GET request the Origin / Sec-Fetch-Site check
// first (403); the first-run redirect to /setup; the session (303 to
// /login, HX-Redirect for htmx, 401 for the stream); then, for a non-GET
// request, the CSRF token (403). A handler's error becomes the 500 page.
func (h *handler) guard(rt Route) http.Handler {
	catchAll := rt.Pattern == ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		baseHeaders(w, r, h.d.Proxies.HTTPS)
		st := &state{theme: themeOf(r), htmx: isHTMX(r), reqID: obs.RequestID(r.Context())}
		if rt.Access == Public && !catchAll {
			h.run(w, r, st, rt.h)
			return
		}
		pageHeaders(w)
		if rt.Access != Stream {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(cmp.Or(h.d.WriteTimeout, defaultWrite)))
		}
		mutation := isMutation(r.Method)
		if mutation {
			r.Body = http.MaxBytesReader(w, r.Body, cmp.Or(rt.MaxBody, maxForm))
		}
		if mutation && !catchAll && !h.sameOrigin(r) {
			h.d.Auth.CountCSRFRejection()
			h.forbidden(w, r, st)
			return
		}
		if !catchAll && !rt.DuringSetup {
			needed, err := h.setupNeeded(r)
			if err != nil {
				h.serverError(w, r, st, err)
				return
			}
			if needed {
				if rt.Access == Stream {
					http.Error(w, "Sign in first.", http.StatusUnauthorized)
					return
				}
				h.redirect(w, r, st, "/setup")
				return
			}
		}
		if err := h.loadSession(w, r, st, useOf(r, rt)); err != nil {
			h.serverError(w, r, st, err)
			return
		}
		switch {
		case rt.Access == Stream && st.p == nil:
			http.Error(w, "Sign in first.", http.StatusUnauthorized)
			return
		case rt.Access == Session && st.p == nil:
			h.toLogin(w, r, st)
			return
		}
		if mutation && !catchAll && !h.checkCSRF(r, rt.Access, st) {
			h.d.Auth.CountCSRFRejection()
			h.forbidden(w, r, st)
			return
		}
		h.run(w, r, st, rt.h)
	})
}

// run calls a handler and turns its error into the 500 page.
func (h *handler) run(w http.ResponseWriter, r *http.Request, st *state, fn handlerFunc) {
	if err := fn(w, r, st); err != nil {
		h.serverError(w, r, st, err)
	}
}

// setupNeeded reports whether no admin exists yet. Once one exists the
// answer is cached: accounts are never deleted.
func (h *handler) setupNeeded(r *http.Request) (bool, error) {
	if h.adminExists.Load() {
		return false, nil
	}
	st, err := h.d.Auth.Status(r.Context())
	if err != nil {
		return false, err
	}
	h.noteVersion(st.Version)
	if !st.SetupRequired {
		h.adminExists.Store(true)
	}
	return st.SetupRequired, nil
}

// noteVersion remembers the build version auth.Status reports (the footer).
func (h *handler) noteVersion(v string) {
	h.versionMu.Lock()
	defer h.versionMu.Unlock()
	if v != "" {
		h.version = v
	}
}

// versionOf returns the build version for the footer, asking auth.Status
// once if no request has yet.
func (h *handler) versionOf(r *http.Request) string {
	h.versionMu.Lock()
	v := h.version
	h.versionMu.Unlock()
	if v != "" {
		return v
	}
	st, err := h.d.Auth.Status(r.Context())
	if err != nil {
		return "unknown"
	}
	h.noteVersion(st.Version)
	return st.Version
}

// useOf says whether a request is use of its session (admin-ui.md §4): the
// event stream and the refreshes app.js marks X-Background-Refresh are not.
func useOf(r *http.Request, rt Route) auth.Use {
	if rt.Access == Stream || r.Header.Get(proto.HeaderBackgroundRefresh) == "1" {
		return auth.Passive
	}
	return auth.Active
}

// loadSession reads the session cookie: a session that is open and whose
// CSRF token the browser holds (the mcpbox_csrf cookie, set at the UI's
// login) signs the request in. A session opened elsewhere (the API's cookie
// login) has no CSRF cookie here and counts as signed out.
func (h *handler) loadSession(w http.ResponseWriter, r *http.Request, st *state, use auth.Use) error {
	cookie := h.cookie(r, sessionCookie)
	if cookie == "" {
		return nil
	}
	p, err := h.d.Auth.AuthenticateCookie(r.Context(), cookie, use)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		st.expired = true
		h.clearSessionCookies(w, r)
		return nil
	case err != nil:
		return err
	}
	token := h.cookie(r, csrfCookie)
	if !p.CheckCSRF(token) {
		st.expired = true
		return nil
	}
	st.p, st.csrf = &p, token
	return nil
}

// checkCSRF checks a mutation's token (the X-CSRF-Token header, else the
// _csrf form field): against the session's on session routes, against the
// pre-session cookie on setup and login.
func (h *handler) checkCSRF(r *http.Request, access Access, st *state) bool {
	submitted := r.Header.Get(headerCSRF)
	if submitted == "" {
		submitted = r.PostFormValue(formCSRF)
	}
	if access == PreSession {
		return h.preSessionValid(r, submitted)
	}
	return st.p != nil && st.p.CheckCSRF(submitted)
}

// maxForm bounds a UI form body.
const maxForm = 64 << 10

func isMutation(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// isHTMX reports an htmx request that wants a fragment: HX-Request
// without HX-History-Restore-Request (admin-ui.md §3).
func isHTMX(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}
