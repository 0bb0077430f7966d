// Command loadgen is the load generator of sandbox.md §16 (`make load-sandbox`) and gateway.md §15 (`make load`).
//
// For the sandbox target it starts bin/sandbox on loopback (pinned to two CPUs with taskset when it can), drives
// POST /v1/execute with the trivial tool at fixed open-loop arrival rates, and writes one JSON report: latency
// percentiles and histogram, 429s, errors, dropped sends, cold starts, CPU per execution and a description of the
// machine.
//
//	loadgen sandbox [-bin FILE] [-rate 300[,400,...]] [-duration 60s] [-warmup 10s] [-cpus 0,1] [-out FILE] [-max-inflight 2000]
//
// For the gateway target it loads a running gateway's /mcp on a loopback address with tools/call of one tool or
// tools/list, spoken as plain JSON-RPC over HTTP (answers are read as SSE or JSON), and prints a JSON report on
// stdout: sent, ok, errors by kind, achieved rate, p50/p90/p95/p99/max latency.
//
//	loadgen gateway [-url http://127.0.0.1:8002/mcp] [-era initialize|modern] [-method call|list] [-tool NAME]
//	                [-args JSON] [-rate 250 | -concurrency C] [-duration 60s] [-warmup 10s] [-workers 8]
//	                [-header "Name: value"]... [-worker-header "Name: value"]...
//
// With -concurrency the run is closed loop instead: C requests in flight, each sent when the previous one ended,
// which measures capacity (the calls per second achieved at that concurrency) and the latency that goes with it.
// -worker-header gives each worker (MCP client) its own header, such as one user's bearer token per worker, so that
// per-user rate limits see several users.
//
// The bare target serves a bare official go-sdk streamable-HTTP server (stateless, SSE answers like the gateway's)
// on loopback with the stack's trivial tool, so that loadgen gateway measures both the same way, each in its own
// process:
//
//	loadgen bare [-addr 127.0.0.1:0] [-tool add] [-json]
//
// The requests are spread round robin over -workers MCP clients: in the initialize era each sends initialize and
// notifications/initialized once, then its requests carry the negotiated MCP-Protocol-Version (and its
// Mcp-Session-Id when the gateway issued one, hybrid mode); in the modern era each checks server/discover once, and
// every request carries MCP-Protocol-Version 2026-07-28, Mcp-Method, Mcp-Name and the per-request _meta
// (protocolVersion, clientCapabilities, clientInfo). Workers are clients, not a concurrency limit: every request
// is sent at its due time on its own goroutine. Arguments are never sent as Mcp-Param-* headers: the gateway serves
// schemas without x-mcp-header.
//
// Open loop: request i is due at start + i/rate whatever became of the earlier ones, and its latency runs from that
// due time, so a slow system cannot lower the offered load (no coordinated omission). The sandbox target runs one
// step per rate, each with its own warm-up, and stops after the first step that fails; the gateway target runs one.
//
// Exit status: 0 when every step passed (gateway: no request failed, warm-up included, and the achieved rate, ok
// answers of the window per second, is at least 99 % of -rate), 1 when a step failed or the run could not be made
// (the report is still written when its path is known), 2 on a bad command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
