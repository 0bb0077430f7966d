// Command backend is the single writer of MCPbox state: the admin web UI and
// REST API, approvals, secrets, the management operations behind the
// mcpbox_* tools, and the internal API the gateway reads (spec/backend.md).
//
//	backend [serve]                   migrate (unless disabled), then serve
//	backend migrate [up|status|check|down [--force]]
//	backend rekey                     re-encrypt every ciphertext with the current key
//	backend rotate-jwt-key            new signing key; the old one verifies until its tokens expire
//	backend reset-password <username> read a new password from stdin, sign every session out
//	backend config-doc | healthcheck
package main

import "github.com/mcpbox/mcpbox/proto/lifecycle"

func main() { lifecycle.Main("backend", run) }
