// Package listen is the HTTP front of the gateway's listeners (gateway.md
// §3, §4, §5.4, §11.2, §12): per listener, the /mcp request pipeline of §4
// steps 1–10 (security headers and request id, draining, Host/Origin and
// service-token checks, identity, policy freshness, the body cap, one
// JSON-RPC message per POST, the rate limit, limited callers, then the
// classification of §5.4 and the hand-over to the listener's
// mcpserve.Endpoint with the body replayed unchanged), plus /healthz,
// /readyz and /metrics without a token and 404 for every other path.
//
// It counts every /mcp request once in mcpbox_gateway_requests_total and
// mcpbox_gateway_request_duration_seconds (the method from the closed set
// of §13, the outcome from the refusal, from what the SDK side reported,
// or from the HTTP status) and adds the gateway's fields to the access log
// line (handler kind, MCP method, caller, tool, outcome) through
// obs.AddAccessAttrs.
//
// The gateway writes no JSON-RPC of its own beyond the refusals of §4 and
// one answer the SDK cannot give: a modern-era ping, which the SDK refuses
// (-32601, or -32602 without _meta) while §5.2 fixes ping as {} in both eras.
package listen
