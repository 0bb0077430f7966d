// Package mcpserve runs the gateway's go-sdk MCP servers (gateway.md §5,
// §7.4, §7.5): one *mcp.Server per (listener, handler kind), their
// streamable HTTP handlers, the registrar that applies every catalog
// snapshot and every change of the remote-editing flag to all of them, the
// receiving middleware that routes tools/call and serves tools/list, the
// session index and caps of hybrid mode, subscriptions/listen caps, SSE
// keepalive comments and progress notifications.
//
// It does not run tools: user tools and management tools go to an injected
// Calls. It does not authenticate or classify requests either: package
// listen does that and hands each /mcp request to an Endpoint with an
// Exchange (the caller and what the SDK side reports back) in its context.
//
// The caller reaches the SDK as its per-request auth.TokenInfo (UserID = the
// caller key, which binds hybrid sessions to their creator; Extra holds the
// Exchange): the handlers are wrapped in auth.RequireBearerToken with a
// verifier that reads the Exchange from the request context and no client
// credential. RequireBearerToken insists on an "Authorization: Bearer" header,
// so the Endpoint sets a fixed placeholder one, replacing whatever the client
// sent: no client credential travels further.
package mcpserve
