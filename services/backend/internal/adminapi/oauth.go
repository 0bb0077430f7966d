package adminapi

import (
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v5"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
)

// registerOAuth adds the OAuth routes of backend.md §8.2 (§13.3), both in
// the long write-deadline class (§3).
func (h *handlers) registerOAuth(v1 *echo.Group) {
	v1.POST("/external-sources/:id/oauth/start", h.oauthStart, h.authenticate, h.long(activity.OpOAuthStart))
	v1.POST("/oauth/callback", h.oauthCallback, h.authenticate, h.long(activity.OpOAuthExchange))
}

func (h *handlers) oauthStart(c *echo.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return oauthSourceNotFound()
	}
	var in struct {
		RedirectURI *string `json:"redirect_uri"`
	}
	if c.Request().ContentLength != 0 {
		if err := decode(c, &in); err != nil {
			return err
		}
	}
	p := principal(c)
	start := oauthflow.StartInput{
		SourceID: id, RequestOrigin: h.ownOrigin(c.Request()), SessionID: p.SessionID,
		Actor: p.Actor(), RequestID: requestID(c),
	}
	if in.RedirectURI != nil {
		if *in.RedirectURI == "" {
			return invalid("redirect_uri", "must not be empty; omit it for the default %s", oauthflow.CallbackPath)
		}
		start.RedirectURI = *in.RedirectURI
	}
	authURL, err := h.d.OAuth.Start(c.Request().Context(), start)
	if err != nil {
		return oauthError(err)
	}
	return c.JSON(http.StatusOK, map[string]string{"authorization_url": authURL})
}

func (h *handlers) oauthCallback(c *echo.Context) error {
	var in struct {
		State string `json:"state"`
		Code  string `json:"code"`
	}
	if err := decode(c, &in, "state", "code"); err != nil {
		return err
	}
	p := principal(c)
	id, err := h.d.OAuth.Callback(c.Request().Context(), oauthflow.CallbackInput{
		State: in.State, Code: in.Code, SessionID: p.SessionID, Actor: p.Actor(), RequestID: requestID(c),
	})
	if err != nil {
		return oauthError(err)
	}
	return c.JSON(http.StatusOK, map[string]string{"source_id": id.String()})
}

// ownOrigin is the request's own scheme://host, the origin of the default
// redirect URI when MCPBOX_PUBLIC_ORIGIN is empty (the service prefers it).
func (h *handlers) ownOrigin(r *http.Request) string {
	scheme := "http"
	if h.d.Proxies.HTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// oauthError maps the refusals of the OAuth flow (backend.md §8.2, §13.3).
func oauthError(err error) error {
	var (
		notOAuth *oauthflow.NotOAuthError
		unusable *oauthflow.UnusableError
		upstream *oauthflow.UpstreamError
	)
	switch {
	case errors.Is(err, oauthflow.ErrSourceNotFound):
		return oauthSourceNotFound()
	case errors.Is(err, oauthflow.ErrStateInvalid):
		e := fail(http.StatusBadRequest, proto.CodeOAuthStateInvalid,
			"This sign-in link is unknown, already used, expired (10 minutes) or was started in another session; "+
				"start the sign-in again from the source (Servers > … > External sources > Authenticate).")
		e.body.Field = "state"
		return e
	case errors.As(err, &notOAuth):
		return invalid("auth_type", "%s", notOAuth.Error())
	case errors.As(err, &unusable):
		return fail(http.StatusConflict, proto.CodeInvalidState, "%s", unusable.Error())
	case errors.As(err, &upstream):
		return fail(http.StatusBadGateway, proto.CodeDiscoveryFailed, "%s", upstream.Message)
	}
	// The sandbox's own failures (503 sandbox_unavailable, busy, 502
	// sandbox_error) and rule errors (redirect_uri, code) map as for tools.
	return toolsError(err)
}

func oauthSourceNotFound() *apiError {
	return fail(http.StatusNotFound, proto.CodeNotFound,
		"No such external source; list a server's sources with GET /api/v1/servers/{id}/external-sources.")
}
