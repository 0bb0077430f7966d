// Command gateway is MCPbox's MCP endpoint: it serves /mcp to local clients
// on a loopback listener and to remote clients behind the edge, answers
// tools/list from its catalog cache and routes tool calls to the sandbox
// (spec/gateway.md).
package main

import "github.com/mcpbox/mcpbox/proto/lifecycle"

func main() { lifecycle.Main("gateway", run, lifecycle.TuneGC(lifecycle.CallPathGCPercent)) }
