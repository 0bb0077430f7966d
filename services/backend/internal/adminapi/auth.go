package adminapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/backend/internal/auth"
	"github.com/mcpbox/mcpbox/services/backend/internal/password"
)

// Session cookie names (backend.md §7.5): the __Host- prefix when Secure.
const (
	cookieName       = "mcpbox_session"
	secureCookieName = "__Host-mcpbox_session"
	csrfHeader       = "X-CSRF-Token"
	principalKey     = "mcpbox_principal"
)

type handlers struct{ d Deps }

// userJSON is the admin as the API shows it, with §2 timestamps.
type userJSON struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	LastLoginAt *timestamp `json:"last_login_at"`
	CreatedAt   timestamp  `json:"created_at"`
}

func userOf(u auth.User) userJSON {
	out := userJSON{ID: u.ID, Username: u.Username, CreatedAt: timestamp(u.CreatedAt)}
	if u.LastLoginAt != nil {
		t := timestamp(*u.LastLoginAt)
		out.LastLoginAt = &t
	}
	return out
}

// sessionJSON is one session of GET /auth/sessions.
type sessionJSON struct {
	ID         string    `json:"id"`
	Client     string    `json:"client"`
	CreatedAt  timestamp `json:"created_at"`
	LastUsedAt timestamp `json:"last_used_at"`
	ExpiresAt  timestamp `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// authError maps the auth service's errors to the API's (backend.md §15.1).
func authError(err error) error {
	var te *auth.ThrottledError
	var re *password.RuleError
	switch {
	case errors.As(err, &te):
		secs := int(te.RetryAfter.Round(time.Second) / time.Second)
		return fail(http.StatusTooManyRequests, proto.CodeTooManyAttempts,
			"Too many failed attempts; wait %d seconds before trying again.", max(secs, 1)).withRetryAfter(secs)
	case errors.As(err, &re):
		e := fail(http.StatusBadRequest, proto.CodeValidationFailed, "%s", re.Message)
		e.body.Field, e.body.Details = re.Field, []proto.FieldError{{Field: re.Field, Message: re.Message}}
		return e
	case errors.Is(err, auth.ErrInvalidCredentials):
		return fail(http.StatusUnauthorized, proto.CodeInvalidCredentials, "Invalid username or password.")
	case errors.Is(err, auth.ErrSetupCodeInvalid):
		return fail(http.StatusForbidden, proto.CodeSetupCodeInvalid,
			"The setup code is wrong; it is in the backend's log at start (or MCPBOX_SETUP_CODE).")
	case errors.Is(err, auth.ErrAlreadySetup):
		return fail(http.StatusConflict, proto.CodeAlreadySetup, "An admin account already exists; log in instead.")
	case errors.Is(err, auth.ErrTokenExpired):
		return fail(http.StatusUnauthorized, proto.CodeTokenExpired, "The token has expired; refresh it or log in again.")
	case errors.Is(err, auth.ErrTokenInvalid):
		return fail(http.StatusUnauthorized, proto.CodeTokenInvalid, "The token is not valid; log in again.")
	case errors.Is(err, auth.ErrSessionRevoked):
		return fail(http.StatusUnauthorized, proto.CodeSessionRevoked, "This session was signed out; log in again.")
	case errors.Is(err, auth.ErrUnauthenticated):
		return fail(http.StatusUnauthorized, proto.CodeUnauthenticated, "Sign in first: send a Bearer access token or the session cookie.")
	case errors.Is(err, auth.ErrNotFound):
		return fail(http.StatusNotFound, proto.CodeNotFound, "No such session of yours.")
	case errors.Is(err, password.ErrBusy):
		return fail(http.StatusServiceUnavailable, proto.CodeBusy, "The server is busy checking passwords; retry in a second.").withRetryAfter(1)
	}
	return err
}

func requestID(c *echo.Context) string { return obs.RequestID(c.Request().Context()) }

func (h *handlers) status(c *echo.Context) error {
	st, err := h.d.Auth.Status(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (h *handlers) setup(c *echo.Context) error {
	var in struct {
		Username  string `json:"username"`
		Password  string `json:"password"`
		SetupCode string `json:"setup_code"`
	}
	if err := decode(c, &in, "username", "password", "setup_code"); err != nil {
		return err
	}
	r := c.Request()
	err := h.d.Auth.Setup(r.Context(), auth.SetupInput{
		Username: in.Username, Password: in.Password, SetupCode: in.SetupCode,
		IP: h.d.Proxies.ClientIP(r), RequestID: requestID(c),
	})
	if err != nil {
		return authError(err)
	}
	return c.JSON(http.StatusCreated, map[string]string{"username": in.Username})
}

func (h *handlers) login(c *echo.Context) error {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Mode     string `json:"mode"`
	}
	if err := decode(c, &in, "username", "password"); err != nil {
		return err
	}
	switch in.Mode {
	case "":
		in.Mode = auth.ClientToken
	case auth.ClientCookie, auth.ClientToken:
	default:
		return invalid("mode", `must be "cookie" or "token"`)
	}
	r := c.Request()
	res, err := h.d.Auth.Login(r.Context(), auth.LoginInput{
		Username: in.Username, Password: in.Password, Mode: in.Mode,
		IP: h.d.Proxies.ClientIP(r), UserAgent: r.UserAgent(), RequestID: requestID(c),
	})
	if err != nil {
		return authError(err)
	}
	if in.Mode == auth.ClientCookie {
		h.setCookie(c, res.Cookie)
		return c.JSON(http.StatusOK, map[string]any{
			"user": userOf(res.User), "csrf_token": res.CSRFToken, "session_expires_at": timestamp(res.SessionExpires),
		})
	}
	return c.JSON(http.StatusOK, tokenResponse(res))
}

// tokenResponse is the token-mode body of login and refresh.
func tokenResponse(res auth.Login) map[string]any {
	return map[string]any{
		"access_token": res.AccessToken, "token_type": "Bearer",
		"expires_in":         int(time.Until(res.AccessExpires).Round(time.Second) / time.Second),
		"refresh_token":      res.RefreshToken,
		"refresh_expires_in": int(time.Until(res.RefreshExpires).Round(time.Second) / time.Second),
		"user":               userOf(res.User),
	}
}

func (h *handlers) refresh(c *echo.Context) error {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := decode(c, &in, "refresh_token"); err != nil {
		return err
	}
	res, err := h.d.Auth.Refresh(c.Request().Context(), in.RefreshToken, requestID(c))
	if err != nil {
		return authError(err)
	}
	return c.JSON(http.StatusOK, tokenResponse(res))
}

func principal(c *echo.Context) auth.Principal {
	p, _ := echo.ContextGet[auth.Principal](c, principalKey)
	return p
}

func (h *handlers) logout(c *echo.Context) error {
	if err := h.d.Auth.Logout(c.Request().Context(), principal(c), requestID(c)); err != nil {
		return authError(err)
	}
	h.clearCookie(c)
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) password(c *echo.Context) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(c, &in, "current_password", "new_password"); err != nil {
		return err
	}
	if err := h.d.Auth.ChangePassword(c.Request().Context(), principal(c), in.Current, in.New, requestID(c)); err != nil {
		return authError(err)
	}
	h.clearCookie(c)
	return c.JSON(http.StatusOK, map[string]bool{"relogin_required": true})
}

func (h *handlers) me(c *echo.Context) error {
	u, err := h.d.Auth.Me(c.Request().Context(), principal(c))
	if err != nil {
		return authError(err)
	}
	return c.JSON(http.StatusOK, userOf(u))
}

func (h *handlers) sessions(c *echo.Context) error {
	items, err := h.d.Auth.Sessions(c.Request().Context(), principal(c))
	if err != nil {
		return authError(err)
	}
	out := make([]sessionJSON, 0, len(items))
	for _, si := range items {
		out = append(out, sessionJSON{
			ID: si.ID, Client: si.Client, CreatedAt: timestamp(si.CreatedAt), LastUsedAt: timestamp(si.LastUsedAt),
			ExpiresAt: timestamp(si.ExpiresAt), IP: si.IP, UserAgent: si.UserAgent, Current: si.Current,
		})
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (h *handlers) endSession(c *echo.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return fail(http.StatusNotFound, proto.CodeNotFound, "No such session of yours.")
	}
	if err := h.d.Auth.EndSession(c.Request().Context(), principal(c), id, requestID(c)); err != nil {
		return authError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) endAllSessions(c *echo.Context) error {
	if err := h.d.Auth.EndAllSessions(c.Request().Context(), principal(c), requestID(c)); err != nil {
		return authError(err)
	}
	h.clearCookie(c)
	return c.NoContent(http.StatusNoContent)
}

// authenticate admits a signed-in admin (backend.md §7.3, §7.5): with an
// Authorization header only the Bearer token counts (cookies are ignored);
// else the session cookie, and then every mutation must come from our own
// origin and carry the session's CSRF token.
func (h *handlers) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return h.authenticateAs(next, false)
}

// authenticateStream is authenticate for an event stream, which is not use
// of a cookie session (backend.md §7.5: it does not extend the idle timeout).
func (h *handlers) authenticateStream(next echo.HandlerFunc) echo.HandlerFunc {
	return h.authenticateAs(next, true)
}

func (h *handlers) authenticateAs(next echo.HandlerFunc, stream bool) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		use := auth.Active
		if stream || r.Header.Get(proto.HeaderBackgroundRefresh) == "1" {
			use = auth.Passive
		}
		var p auth.Principal
		var err error
		if authz := r.Header.Get("Authorization"); authz != "" {
			token, ok := strings.CutPrefix(authz, "Bearer ")
			if !ok || token == "" {
				return authError(auth.ErrTokenInvalid)
			}
			p, err = h.d.Auth.AuthenticateBearer(r.Context(), token)
		} else if cookie := h.sessionCookie(r); cookie != "" {
			p, err = h.d.Auth.AuthenticateCookie(r.Context(), cookie, use)
			if err == nil && isMutation(r.Method) && (!h.sameOrigin(r) || !p.CheckCSRF(r.Header.Get(csrfHeader))) {
				h.d.Auth.CountCSRFRejection()
				return fail(http.StatusForbidden, proto.CodeCSRFFailed,
					"This request needs the session's CSRF token in the X-CSRF-Token header and must come from the MCPbox page itself.")
			}
		} else {
			err = auth.ErrUnauthenticated
		}
		if err != nil {
			return authError(err)
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

func isMutation(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// sameOrigin checks Origin (else Sec-Fetch-Site) against MCPBOX_PUBLIC_ORIGIN
// or the request's own origin.
func (h *handlers) sameOrigin(r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		want := h.d.PublicOrigin
		if want == "" {
			scheme := "http"
			if h.d.Proxies.HTTPS(r) {
				scheme = "https"
			}
			want = scheme + "://" + r.Host
		}
		o, err := url.Parse(origin)
		w, werr := url.Parse(want)
		return err == nil && werr == nil && strings.EqualFold(o.Scheme, w.Scheme) && strings.EqualFold(o.Host, w.Host)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// secure says whether the session cookie is Secure for this request.
func (h *handlers) secure(r *http.Request) bool {
	return h.d.CookieAlwaysSecure || h.d.Proxies.HTTPS(r)
}

func (h *handlers) sessionCookie(r *http.Request) string {
	name := cookieName
	if h.secure(r) {
		name = secureCookieName
	}
	ck, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

func (h *handlers) setCookie(c *echo.Context, value string) { h.writeCookie(c, value, 0) }

func (h *handlers) clearCookie(c *echo.Context) {
	if h.sessionCookie(c.Request()) != "" {
		h.writeCookie(c, "", -1)
	}
}

// writeCookie sets the session cookie (backend.md §7.5): HttpOnly, SameSite
// Lax, Path /, no Max-Age (maxAge -1 deletes it), Secure with the __Host-
// name exactly over HTTPS or with MCPBOX_COOKIE_SECURE=true.
func (h *handlers) writeCookie(c *echo.Context, value string, maxAge int) {
	r := c.Request()
	secure := h.secure(r)
	name := cookieName
	if secure {
		name = secureCookieName
	}
	//nolint:gosec // G124: Secure follows the request's scheme by design (BE-22); HttpOnly and SameSite are always set
	http.SetCookie(c.Response(), &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure, MaxAge: maxAge,
	})
}
