// Package e2e holds the cross-service tests of MCPbox. They run the real
// binaries from bin/ (MCPBOX_BIN_DIR, built once by `make test`'s deps
// stage or `make build`) as separate processes on loopback ports, against
// the test database (MCPBOX_TEST_DATABASE_URL), the way an operator runs
// them. `make e2e` and the e2e stage of `make test` run them.
package e2e
