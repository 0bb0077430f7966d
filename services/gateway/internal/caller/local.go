package caller

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/proto/obs"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// Texts of the Host and Origin refusals. The spec fixes the status (403),
// not the JSON-RPC error: these use -32080 "access denied", and name the
// setting that would admit the value without echoing it.
const (
	MsgLocalHostRefused = "Forbidden: this Host header is not accepted on the local MCP listener " +
		"(DNS-rebinding protection). Connect to localhost, 127.0.0.1 or [::1], or ask the operator to list the host in MCPBOX_GATEWAY_LOCAL_HOSTS."
	MsgLocalOriginRefused = "Forbidden: requests from this Origin are not accepted on the local MCP listener. " +
		"Browsers may connect from a localhost page, or the operator lists the origin in MCPBOX_GATEWAY_LOCAL_ORIGINS."
	MsgRemoteOriginRefused = "Forbidden: requests from this Origin are not accepted by this MCPbox."
)

// LocalGuard applies the local listener's checks of §3.1 to /mcp requests:
// the Host must be loopback or listed, an Origin (when present) loopback or
// listed, and no request may carry a service token. Every request that
// passes is from the caller Local(); identity headers are ignored.
type LocalGuard struct {
	hosts, origins []string
	log            *slog.Logger
}

// NewLocalGuard returns the guard with the extra Host values
// (MCPBOX_GATEWAY_LOCAL_HOSTS) and Origin values
// (MCPBOX_GATEWAY_LOCAL_ORIGINS).
func NewLocalGuard(hosts, origins []string, log *slog.Logger) *LocalGuard {
	return &LocalGuard{hosts: hosts, origins: origins, log: log}
}

// Check returns the refusal of r, or nil when r may proceed: 403 -32080 for
// a foreign Host or Origin, then 403 -32083 for a service token, which only
// an edge sends: an edge pointed here would turn every remote user into the
// trusted local caller, so the request is refused and the misconfiguration
// logged.
func (g *LocalGuard) Check(r *http.Request) *rpcerr.Refusal {
	if !LocalHostAllowed(r.Host, g.hosts) {
		g.log.DebugContext(r.Context(), "refused a foreign Host on the local listener",
			obs.KeyListener, ListenerLocal, obs.KeyHost, r.Host)
		return rpcerr.AccessDenied(http.StatusForbidden, MsgLocalHostRefused)
	}
	if origins := r.Header.Values("Origin"); len(origins) > 0 {
		if len(origins) > 1 || !LocalOriginAllowed(origins[0], g.origins) {
			g.log.DebugContext(r.Context(), "refused an Origin on the local listener", obs.KeyListener, ListenerLocal)
			return rpcerr.AccessDenied(http.StatusForbidden, MsgLocalOriginRefused)
		}
	}
	if _, sent := r.Header[http.CanonicalHeaderKey(proto.HeaderServiceToken)]; sent {
		g.log.WarnContext(r.Context(),
			"refused a request carrying "+proto.HeaderServiceToken+" on the local listener: an edge or proxy is pointed at the "+
				"trusted local listener (MCPBOX_GATEWAY_LOCAL_LISTEN); point it at the remote listener (MCPBOX_GATEWAY_REMOTE_LISTEN)",
			obs.KeyListener, ListenerLocal, obs.KeyRemoteIP, PeerIP(r).String(), obs.KeyReason, "service_token_on_local_listener")
		return rpcerr.AuthFailed()
	}
	return nil
}

// Middleware runs Check; a refused request gets its JSON-RPC error (id
// null), any other goes to next with Local() in its context (FromContext)
// and every X-MCPbox-* header removed, so nothing downstream can read or
// forward one.
func (g *LocalGuard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ref := g.Check(r); ref != nil {
			ref.Write(w, nil)
			return
		}
		stripInternalHeaders(r.Header)
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), Local())))
	})
}

// stripInternalHeaders deletes every X-MCPbox-* header of h.
func stripInternalHeaders(h http.Header) {
	for name := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(name), proto.HeaderPrefix) {
			delete(h, name)
		}
	}
}
