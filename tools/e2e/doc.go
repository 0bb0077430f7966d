// Package e2e holds the cross-service tests of MCPbox. They run the real
// binaries from bin/ (MCPBOX_BIN_DIR, built once by `make test`'s deps
// stage or `make build`) as separate processes on loopback ports, against
// the test database (MCPBOX_TEST_DATABASE_URL), the way an operator runs
// them. `make e2e` and the e2e stage of `make test` run them.
//
// The interoperability tests (gateway.md §16) also drive real MCP clients:
// the go-sdk client in process, and the TypeScript SDK, the Inspector CLI
// and the MCP conformance suite pinned in ts/ (package.json and its
// committed package-lock.json), run with the node on PATH (Node 22). make
// test's deps stage runs `npm ci` there; a test run without it installs
// node_modules itself.
package e2e
