// Command sandbox runs MCPbox tool code in locked-down one-shot worker
// processes and is the only MCPbox component with outbound network access,
// through its SSRF-guarded egress broker (spec/sandbox.md).
package main

import "github.com/mcpbox/mcpbox/proto/lifecycle"

func main() { lifecycle.Main("sandbox", run) }
