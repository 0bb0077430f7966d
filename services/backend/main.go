// Command backend is the single writer of MCPbox state: the admin web UI and
// REST API, approvals, secrets, the management operations behind the
// mcpbox_* tools, and the internal API the gateway reads (spec/backend.md).
//
//	backend [serve]                   migrate (unless disabled), then serve
//	backend migrate [up|status|check|down [--force]]
//	backend config-doc | healthcheck
package main

import "github.com/mcpbox/mcpbox/proto/lifecycle"

func main() { lifecycle.Main("backend", run) }
