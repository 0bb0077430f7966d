// Command sandbox runs MCPbox tool code in locked-down one-shot worker
// processes and is the only MCPbox component with outbound network access,
// through its SSRF-guarded egress broker (spec/sandbox.md).
package main

import "github.com/mcpbox/mcpbox/proto/lifecycle"

// selfExe is the worker executable: this binary, re-executed (sandbox.md §2).
const selfExe = "/proc/self/exe"

func main() { lifecycle.Main("sandbox", command(selfExe)) }
