package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcpbox/mcpbox/proto"
)

// cookieKind names one of the UI's cookies; its name carries the __Host-
// prefix when the cookie is Secure (backend.md §7.5).
type cookieKind string

// The UI's cookies. The session cookie is the backend's one session cookie
// (shared with /api/v1); the CSRF cookie holds the session's synchronizer
// token so the server can render it in every page (the session row keeps
// only its hash); the pre-session cookie binds the token of the setup and
// login forms before a session exists.
const (
	sessionCookie    cookieKind = "mcpbox_session"
	csrfCookie       cookieKind = "mcpbox_csrf"
	preSessionCookie cookieKind = "mcpbox_presession"
	// themeCookie is not HttpOnly: app.js writes it (admin-ui.md §5).
	themeCookie = "mcpbox_theme"

	headerCSRF = proto.HeaderCSRF
	formCSRF   = "_csrf"

	// preSessionLife is how long a setup or login form stays valid; a form
	// is issued a cookie younger than preSessionReuse, so it has at least
	// the difference to be filled in.
	preSessionLife  = 10 * time.Minute
	preSessionReuse = 5 * time.Minute
)

// name is the cookie's name for this request.
func (h *handler) name(r *http.Request, k cookieKind) string {
	if h.secure(r) {
		return "__Host-" + string(k)
	}
	return string(k)
}

// cookie returns the value of the request's cookie of kind k, or "".
func (h *handler) cookie(r *http.Request, k cookieKind) string {
	c, err := r.Cookie(h.name(r, k))
	if err != nil {
		return ""
	}
	return c.Value
}

// setCookie writes an HttpOnly, SameSite=Lax, Path=/ cookie, Secure (with
// the __Host- name) over HTTPS or with MCPBOX_COOKIE_SECURE=true. maxAge 0
// is a browser-session cookie; -1 deletes it.
func (h *handler) setCookie(w http.ResponseWriter, r *http.Request, k cookieKind, value string, maxAge int) {
	secure := h.secure(r)
	//nolint:gosec // G124: Secure follows the request's scheme by design (backend.md §7.5); HttpOnly and SameSite are always set
	http.SetCookie(w, &http.Cookie{
		Name: h.name(r, k), Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: secure, MaxAge: maxAge,
	})
}

// startSession sets the cookies of a session opened by the UI's login and
// drops the pre-session cookie.
func (h *handler) startSession(w http.ResponseWriter, r *http.Request, sessionID, csrf string) {
	h.setCookie(w, r, sessionCookie, sessionID, 0)
	h.setCookie(w, r, csrfCookie, csrf, 0)
	if h.cookie(r, preSessionCookie) != "" {
		h.setCookie(w, r, preSessionCookie, "", -1)
	}
}

// clearSessionCookies deletes the session and CSRF cookies the request
// carries.
func (h *handler) clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	for _, k := range []cookieKind{sessionCookie, csrfCookie} {
		if h.cookie(r, k) != "" {
			h.setCookie(w, r, k, "", -1)
		}
	}
}

// preSessionToken returns the token for a setup or login form: the
// request's pre-session cookie while it is younger than preSessionReuse
// (several tabs share it), else a new one, set as a 10-minute cookie.
func (h *handler) preSessionToken(w http.ResponseWriter, r *http.Request) string {
	if v := h.cookie(r, preSessionCookie); v != "" {
		if age, ok := preSessionAge(v, time.Now()); ok && age < preSessionReuse {
			return v
		}
	}
	v := newPreSessionToken(time.Now())
	h.setCookie(w, r, preSessionCookie, v, int(preSessionLife/time.Second))
	return v
}

// preSessionValid checks a setup or login form's token: equal to the
// pre-session cookie (compared in constant time) and at most 10 minutes
// old.
func (h *handler) preSessionValid(r *http.Request, submitted string) bool {
	v := h.cookie(r, preSessionCookie)
	if v == "" || submitted == "" || !sameToken(v, submitted) {
		return false
	}
	age, ok := preSessionAge(v, time.Now())
	return ok && age <= preSessionLife
}

// newPreSessionToken is "<unix seconds>.<256 random bits, base64url>".
func newPreSessionToken(now time.Time) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return strconv.FormatInt(now.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(b)
}

// preSessionAge parses a pre-session token's issue time; ok is false for a
// malformed token or one issued more than a minute in the future (another
// replica's clock may run a little ahead).
func preSessionAge(token string, now time.Time) (time.Duration, bool) {
	ts, rnd, found := strings.Cut(token, ".")
	if !found || len(rnd) != 43 {
		return 0, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(rnd); err != nil {
		return 0, false
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || secs < 0 {
		return 0, false
	}
	age := now.Sub(time.Unix(secs, 0))
	if age < -time.Minute {
		return 0, false
	}
	return max(age, 0), true
}

// sameToken compares two tokens in constant time (of their digests, so
// the length leaks nothing either).
func sameToken(a, b string) bool {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}

// themeOf reads the mcpbox_theme cookie: light, dark or system (default).
func themeOf(r *http.Request) string {
	c, err := r.Cookie(themeCookie)
	if err == nil {
		switch c.Value {
		case "light", "dark":
			return c.Value
		}
	}
	return "system"
}
