// Package mcpservetest runs the gateway's MCP front for tests: both
// listeners (package listen) over real mcpserve servers, a real catalog
// cache fed by an in-memory backend (Source), and a fake Calls that
// records what it is asked to run. Tests talk to it over loopback HTTP,
// with the go-sdk client or raw requests.
package mcpservetest
