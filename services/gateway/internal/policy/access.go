package policy

import (
	"net/http"
	"strings"

	"github.com/mcpbox/mcpbox/proto"
	"github.com/mcpbox/mcpbox/services/gateway/internal/caller"
	"github.com/mcpbox/mcpbox/services/gateway/internal/rpcerr"
)

// MsgMissingEmail is the -32080 text for a remote caller without an email
// (§6.3), verbatim.
const MsgMissingEmail = "This MCPbox requires a signed-in user with an email address, and this connection's token carries none. " +
	"Ask the MCPbox admin to include the email claim in the identity provider's tokens."

// MsgNotAllowed returns the -32080 text for a remote caller whose email the
// allowlist refuses (§6.3), verbatim.
func MsgNotAllowed(email string) string {
	return "Access denied: " + email + " is not allowed to use this MCPbox. " +
		"Ask the MCPbox admin to add it under Remote access → Who may connect."
}

// AnonymousMethod reports whether a limited caller may use the JSON-RPC
// method: initialize, server/discover, ping and every notifications/*,
// whatever the policy, so connector health checks and tokens without an
// email can connect and then fail with a readable message. An empty method
// (a client's response to a server request) is not in the set.
func AnonymousMethod(method string) bool {
	switch method {
	case "initialize", "server/discover", "ping":
		return true
	}
	return strings.HasPrefix(method, "notifications/")
}

// Access is the decision for one caller under one policy.
type Access struct {
	// Limited is true for a remote caller without an email or whose email
	// the allowlist refuses.
	Limited bool
	// Reason is caller.ReasonNoEmail or caller.ReasonNotAllowed when Limited.
	Reason caller.FailureReason
	// Message is the -32080 text when Limited.
	Message string
}

// Decide applies the allowlist to c (§6.3) with
// proto.RemoteEmailAllowlist.Allows: mode everyone allows any email; emails
// a case-insensitive exact match; email_domain the part after the last '@'
// equal to a value (no subdomains); an unknown mode nobody. Local callers
// are never limited.
func Decide(list proto.RemoteEmailAllowlist, c caller.Caller) Access {
	switch {
	case c.IsLocal():
		return Access{}
	case c.Email == "":
		return Access{Limited: true, Reason: caller.ReasonNoEmail, Message: MsgMissingEmail}
	case !list.Allows(c.Email):
		return Access{Limited: true, Reason: caller.ReasonNotAllowed, Message: MsgNotAllowed(c.Email)}
	}
	return Access{}
}

// Refusal returns the -32080 answer for a request of this access, or nil
// when it may proceed. A POST whose JSON-RPC method is anonymous passes;
// another POST gets HTTP 200 with the error in band; GET and DELETE (streams
// and sessions, which have no method) get 403 with the same body.
func (a Access) Refusal(httpMethod, rpcMethod string) *rpcerr.Refusal {
	if !a.Limited {
		return nil
	}
	if httpMethod == http.MethodPost {
		if AnonymousMethod(rpcMethod) {
			return nil
		}
		return rpcerr.AccessDenied(http.StatusOK, a.Message)
	}
	return rpcerr.AccessDenied(http.StatusForbidden, a.Message)
}

// Authorizer is step 9 of the request pipeline (§4) with its metric.
type Authorizer struct {
	failures *caller.AuthFailures
}

// NewAuthorizer returns an Authorizer counting refusals on failures
// (reasons no_email and not_allowed of mcpbox_gateway_auth_failures_total).
func NewAuthorizer(failures *caller.AuthFailures) *Authorizer {
	return &Authorizer{failures: failures}
}

// Authorize decides c's request under the policy snapshot p: nil to
// proceed, else the -32080 refusal (counted).
func (z *Authorizer) Authorize(p proto.Policy, c caller.Caller, httpMethod, rpcMethod string) *rpcerr.Refusal {
	a := Decide(p.RemoteEmailAllowlist, c)
	ref := a.Refusal(httpMethod, rpcMethod)
	if ref != nil {
		z.failures.Inc(a.Reason)
	}
	return ref
}
