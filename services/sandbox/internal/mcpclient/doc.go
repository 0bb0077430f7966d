// Package mcpclient is the sandbox's client for external MCP servers
// (sandbox.md §4.5, §4.6, §13): discovery (tools/list with pagination) and
// tool calls over the Streamable HTTP transport of the official Go SDK, a
// pool of sessions keyed by URL, credential headers and egress policy, the
// definition check against the upstream's current tools/list, retries only
// when a request provably did not reach the server, and the error types of
// §13.4 with credential header values redacted.
//
// The SDK decodes results into typed structs that reject content types it
// does not know and drop fields it does not model. To pass the upstream's
// CallToolResult through faithfully, the session's HTTP round-tripper reads
// each tools/call and tools/list response (plain JSON or an SSE stream),
// keeps the raw JSON-RPC result bytes for the operation in flight and hands
// the SDK a reduced copy (empty content or tools list); the response carries
// the raw bytes.
package mcpclient
