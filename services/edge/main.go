// Command edge is MCPbox's public entry for remote MCP clients: it verifies
// RS256 JWTs against the identity provider's JWKS, lets only /mcp and
// /health through, and proxies to the gateway's remote listener
// (spec/edge.md).
package main

import "github.com/mcpbox/mcpbox/proto/lifecycle"

func main() { lifecycle.Main("edge", run, lifecycle.TuneGC(lifecycle.CallPathGCPercent)) }
