package mcpserve

import (
	"context"
	"errors"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearerPlaceholder is the Authorization value the Endpoint sets on every
// request it hands to the SDK: auth.RequireBearerToken insists on a bearer
// token, but the verifier reads the caller from the Exchange, never a
// client credential, and replacing the header keeps any client-sent one
// away from handlers (RequestExtra.Header).
const bearerPlaceholder = "Bearer mcpbox-gateway-caller" //nolint:gosec // G101: a fixed placeholder, not a credential

// tokenExtraExchange is the TokenInfo.Extra key holding the *Exchange.
const tokenExtraExchange = "mcpbox.exchange"

// errNoExchange means a request reached an SDK handler without passing the
// listener: a wiring defect, answered 500 by RequireBearerToken.
var errNoExchange = errors.New("mcpserve: request without an exchange (not routed through package listen)")

// requireCaller wraps h in auth.RequireBearerToken with a verifier that
// returns the caller of the request's Exchange as the TokenInfo (UserID =
// caller key, which the SDK binds sessions to; Extra = the Exchange). The
// SDK's expiration check is off: the identity is the listener's, for this
// request only.
func requireCaller(h http.Handler) http.Handler {
	verify := func(_ context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		ex, ok := ExchangeFrom(r.Context())
		if !ok {
			return nil, errNoExchange
		}
		return &auth.TokenInfo{UserID: ex.caller.Key, Extra: map[string]any{tokenExtraExchange: ex}}, nil
	}
	return auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(h)
}

// exchangeOf returns the Exchange of an SDK request, from its TokenInfo.
func exchangeOf(req mcp.Request) (*Exchange, bool) {
	extra := req.GetExtra()
	if extra == nil || extra.TokenInfo == nil {
		return nil, false
	}
	ex, ok := extra.TokenInfo.Extra[tokenExtraExchange].(*Exchange)
	return ex, ok && ex != nil
}
