package caller

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/proto/servicetoken"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// RemoteAuth applies the remote listener's checks to /mcp requests, in the
// order of §4: Origin (only when MCPBOX_GATEWAY_REMOTE_ORIGINS is set), the
// failed-auth throttle, the service token, then the identity headers.
type RemoteAuth struct {
	tokens   *servicetoken.Checker
	throttle *Throttle
	failures *AuthFailures
	origins  []string
	log      *slog.Logger
}

// NewRemoteAuth returns the checks of the remote listener. tokens is the
// checker of MCPBOX_GATEWAY_TOKEN and _PREVIOUS (servicetoken.New(reg,
// "gateway", …), which counts mcpbox_gateway_service_token_checks_total);
// origins is MCPBOX_GATEWAY_REMOTE_ORIGINS (empty: no Origin check).
func NewRemoteAuth(tokens *servicetoken.Checker, throttle *Throttle, failures *AuthFailures,
	origins []string, log *slog.Logger,
) *RemoteAuth {
	return &RemoteAuth{tokens: tokens, throttle: throttle, failures: failures, origins: origins, log: log}
}

// Authenticate returns the remote caller of r, or the refusal to send:
// 403 -32080 for an unlisted Origin; 429 -32081 while r's peer address is
// throttled, whatever token it sends, so a throttled peer learns nothing;
// 403 -32083 for a missing or wrong token, identical for both, recorded as
// a failure of the peer; 400 -32600 for a malformed identity header, which
// is an edge defect and not a failure of the peer.
func (a *RemoteAuth) Authenticate(r *http.Request) (Caller, *rpcerr.Refusal) {
	if len(a.origins) > 0 {
		if origins := r.Header.Values("Origin"); len(origins) > 0 && (len(origins) > 1 || !OriginListed(origins[0], a.origins)) {
			a.log.DebugContext(r.Context(), "refused an Origin on the remote listener", obs.KeyListener, ListenerRemote)
			return Caller{}, rpcerr.AccessDenied(http.StatusForbidden, MsgRemoteOriginRefused)
		}
	}
	peer := PeerIP(r)
	if wait, blocked := a.throttle.Blocked(peer); blocked {
		a.failures.Inc(ReasonThrottled)
		return Caller{}, rpcerr.AuthThrottled(wait)
	}
	switch res := a.tokens.Check(serviceToken(r.Header)); res {
	case servicetoken.Current, servicetoken.Previous:
	default:
		reason := ReasonWrongToken
		if res == servicetoken.Missing {
			reason = ReasonMissingToken
		}
		a.throttle.Fail(peer)
		a.failures.Inc(reason)
		a.log.DebugContext(r.Context(), "refused a service token on the remote listener",
			obs.KeyListener, ListenerRemote, obs.KeyRemoteIP, peer.String(), obs.KeyReason, string(reason))
		return Caller{}, rpcerr.AuthFailed()
	}
	c, err := parseIdentity(r.Header)
	if err != nil {
		a.failures.Inc(ReasonBadIdentityHeader)
		// The value is never logged: it is the edge's defect to find, and may
		// be anything.
		a.log.WarnContext(r.Context(), "refused a malformed identity header from the edge",
			obs.KeyListener, ListenerRemote, obs.KeyError, err.Error())
		return Caller{}, err.Refusal()
	}
	return c, nil
}

// Middleware runs Authenticate; a refused request gets its JSON-RPC error
// (id null), any other goes to next with its caller in the context
// (FromContext) and the service-token header removed, so nothing
// downstream can log or forward it.
func (a *RemoteAuth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ref := a.Authenticate(r)
		if ref != nil {
			ref.Write(w, nil)
			return
		}
		r.Header.Del(proto.HeaderServiceToken)
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), c)))
	})
}

// serviceToken returns the token r carries. A header sent twice never
// matches: the values are joined by a newline, which no header value holds.
func serviceToken(h http.Header) string {
	return strings.Join(h.Values(proto.HeaderServiceToken), "\n")
}
