package listen

import (
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpbox/mcpbox/services/gateway/internal/mcpserve"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// MCP header names the classification reads.
const (
	headerProtocolVersion = "Mcp-Protocol-Version"
	headerSessionID       = "Mcp-Session-Id"
	headerMethod          = "Mcp-Method"
)

// metaKeyProtocolVersion is the _meta key of a modern-era request's version.
const metaKeyProtocolVersion = mcp.MetaKeyProtocolVersion

// modernEra is the first modern-era protocol version (§1).
const modernEra = "2026-07-28"

// Methods the classification names.
const (
	methodInitialize = "initialize"
	methodDiscover   = "server/discover"
	methodListen     = "subscriptions/listen"
	methodPing       = "ping"
)

// Allow header values of a 405 (§5.4).
const (
	allowHybrid    = "GET, POST, DELETE"
	allowStateless = "POST"
)

// dispatch is step 10 (§5.4): it picks the handler of r and serves it,
// returning the handler kind. In stateless mode every request takes the
// stateless handler (which answers GET and DELETE 405 with Allow: POST); in
// hybrid mode the table of §5.4 applies row by row, first match wins. Any
// other HTTP method is 405 with the mode's Allow.
func (p *pipeline) dispatch(w http.ResponseWriter, r *http.Request, msg Message) mcpserve.Kind {
	ep := p.o.MCP
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
		// Row 1.
		if ep.Hybrid() {
			ep.ServeSession(w, r)
			return mcpserve.KindStateful
		}
		ep.ServeStateless(w, r)
		return mcpserve.KindStateless
	case http.MethodPost:
	default:
		allow := allowStateless
		if ep.Hybrid() {
			allow = allowHybrid
		}
		w.Header().Set("Allow", allow)
		rpcerr.InvalidRequest(http.StatusMethodNotAllowed, "Method Not Allowed: /mcp accepts "+allow).Write(w, nil)
		return ""
	}
	switch {
	case msg.Method == methodInitialize:
		// Row 2: a confused version header or a stale session id must not
		// break a (re)initialisation (§5.2).
		r.Header.Del(headerProtocolVersion)
		r.Header.Del(headerSessionID)
		return ep.ServeInitialize(w, r)
	case modernPing(r, msg):
		writePing(w, msg)
		return mcpserve.KindStateless
	case msg.Method == methodListen:
		// Row 3, held open: the stream cap applies.
		ep.ServeListen(w, r)
		return mcpserve.KindStateless
	case r.Header.Get(headerProtocolVersion) >= modernEra || msg.Method == methodDiscover:
		// Row 3: any Mcp-Session-Id is ignored by the stateless handler.
		ep.ServeStateless(w, r)
		return mcpserve.KindStateless
	case ep.Hybrid() && r.Header.Get(headerSessionID) != "":
		// Row 4.
		ep.ServeSession(w, r)
		return mcpserve.KindStateful
	default:
		// Row 5.
		ep.ServeStateless(w, r)
		return mcpserve.KindStateless
	}
}

// modernPing reports whether msg is a modern-era ping call (the version
// header or _meta at 2026-07-28 or later): the SDK refuses those (-32601,
// or -32602 for a missing _meta), but ping answers {} in both eras (§5.2).
// An Mcp-Method header naming another method is left to the SDK's -32020.
func modernPing(r *http.Request, msg Message) bool {
	if msg.Method != methodPing || !msg.IsCall() {
		return false
	}
	if m := r.Header.Get(headerMethod); m != "" && m != methodPing {
		return false
	}
	return r.Header.Get(headerProtocolVersion) >= modernEra || msg.metaVersion() >= modernEra
}

// writePing answers a ping with the empty result.
func writePing(w http.ResponseWriter, msg Message) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	body := make([]byte, 0, len(msg.ID)+40)
	body = append(body, `{"jsonrpc":"2.0","id":`...)
	body = append(body, msg.ID...)
	body = append(body, `,"result":{}}`+"\n"...)
	_, _ = w.Write(body)
}
