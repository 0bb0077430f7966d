package ui

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/mcpbox/mcpbox/services/backend/internal/activity"
	"github.com/mcpbox/mcpbox/services/backend/internal/oauthflow"
)

// The OAuth sign-in of an external source (admin-ui.md §11.5): the start,
// which ends on the interstitial page, and the callback.

// msgStateInvalid is the refusal of a callback whose state is unknown,
// used, expired or another session's (the API's oauth_state_invalid).
const msgStateInvalid = "state: this sign-in link is unknown, already used, expired (10 minutes) or was started in " +
	"another session; nothing was stored. Start the sign-in again from the source (Servers > … > External sources > Authenticate)."

// oauthInterstitial is the data of the interstitial page.
type oauthInterstitial struct {
	Source, URL, Host, AuthURL, Back string
}

// longAction gives a long action (discovery, the OAuth start) the long
// write deadline and reports the whole seconds elapsed out of it on the
// session's streams every second, with the request's id (progress, as
// the API's long routes do, backend.md §14.2), until done is called.
func (h *handler) longAction(w http.ResponseWriter, r *http.Request, st *state, op activity.Operation) (done func()) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(longWrite))
	rep := h.newProgress(r.Context(), st, op)
	stop := rep.Tick(int(longWrite / time.Second))
	return func() {
		stop()
		rep.Finish()
	}
}

// ownOrigin is the request's own scheme://host: the origin of the default
// redirect URI when MCPBOX_PUBLIC_ORIGIN is empty (the service prefers it).
func (h *handler) ownOrigin(r *http.Request) string {
	scheme := "http"
	if h.d.Proxies.HTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// sourceOAuthStart is POST /servers/{id}/sources/{src}/oauth/start, the
// twin of POST /api/v1/external-sources/{id}/oauth/start (a long action):
// the interstitial naming the authorization server's host, with a plain
// Continue link to the authorization URL.
func (h *handler) sourceOAuthStart(w http.ResponseWriter, r *http.Request, st *state) error {
	id, src, ok, err := h.sourceTarget(w, r, st)
	if !ok {
		return err
	}
	done := h.longAction(w, r, st, activity.OpOAuthStart)
	authURL, err := h.d.OAuth.Start(r.Context(), oauthflow.StartInput{
		SourceID: src.ID, RequestOrigin: h.ownOrigin(r), SessionID: st.p.SessionID, Actor: st.p.Actor(), RequestID: st.reqID,
	})
	done()
	if err != nil {
		return h.sourcesError(w, r, st, id, err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	if st.htmx {
		w.Header().Set("HX-Retarget", "#main")
		w.Header().Set("HX-Reswap", "innerHTML")
	}
	return h.render(w, r, st, page{
		Name: "sources_oauth", Title: "Sign in to " + src.Name, Nav: navServers,
		Data: oauthInterstitial{
			Source: src.Name, URL: src.URL, Host: u.Host, AuthURL: authURL, Back: "/servers/" + id.String() + "?tab=sources",
		},
	})
}

// oauthCallback is GET /oauth/callback?state=&code= (the service of POST
// /api/v1/oauth/callback): it completes the flow started in this session
// and redirects to the source's section, which says the source is signed
// in. A refused state, a missing code or an authorization server's error
// is an error page; nothing is stored.
func (h *handler) oauthCallback(w http.ResponseWriter, r *http.Request, st *state) error {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(longWrite))
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		msg := "The authorization server did not sign MCPbox in (error " + e
		if d := q.Get("error_description"); d != "" {
			msg += ": " + d
		}
		return h.oauthFailed(w, r, st, http.StatusBadRequest, msg+"). Nothing was stored; start the sign-in again from the source.")
	}
	id, err := h.d.OAuth.Callback(r.Context(), oauthflow.CallbackInput{
		State: q.Get("state"), Code: q.Get("code"), SessionID: st.p.SessionID, Actor: st.p.Actor(), RequestID: st.reqID,
	})
	if err != nil {
		if errors.Is(err, oauthflow.ErrSourceNotFound) {
			return h.notFound(w, r, st)
		}
		status, msg, ok := sourcesProblem(err)
		if !ok {
			return err
		}
		return h.oauthFailed(w, r, st, status, msg)
	}
	src, err := h.d.Sources.Get(r.Context(), id)
	if err != nil {
		return err
	}
	h.redirect(w, r, st, "/servers/"+src.ServerID.String()+"?tab=sources&signed_in="+src.ID.String())
	return nil
}

// oauthFailed is the error page of a refused callback.
func (h *handler) oauthFailed(w http.ResponseWriter, r *http.Request, st *state, status int, msg string) error {
	const heading = "The sign-in did not complete"
	return h.render(w, r, st, page{
		Status: status, Name: "error", Title: heading,
		Data: errorPage{Heading: heading, Message: msg, RequestID: st.reqID, SignedIn: true},
	})
}
