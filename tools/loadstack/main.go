// Command loadstack is `make load`, the gateway load run of gateway.md §15: it starts the e2e stack from bin/
// (tools/devstack on the e2e ports, dev port + 10000, with a fresh database on the test PostgreSQL and the gateway
// in stateless mode), seeds it through the backend's REST API and the local listener's management tools, runs
// tools/loadgen for P1 (tools/call of the trivial tool load__add) and P2 (tools/list with 500 user tools), prints
// each JSON report, judges the figures against the targets, and stops the stack and drops the database.
//
//	loadstack -loadgen FILE [-root DIR] [-bin DIR] [-db URL] [-runs p1,p2] [-p1-rates 250[,...]] [-p1-duration 60s]
//	          [-p1-warmup 5s] [-p2-rate 50] [-p2-duration 20s] [-p2-warmup 5s] [-list-tools 500] [-era initialize]
//	          [-workers 8] [-out DIR] [-pause 5s]
//
// With -bench (make bench's stack part) it makes no P1/P2 run. It also seeds a tool that makes one brokered HTTP
// GET to a loopback server loadstack runs (granted to its server as a private host), admits -users remote users
// (the remote allowlist, one devidp token each) and runs each scenario closed loop (bench.go): through the edge the
// trivial call, the brokered GET, tools/list with -list-tools tools and mcpbox_list_servers; the trivial call on
// the local listener; and the same call on a bare go-sdk server (loadgen bare). It prints the table and the ratio of
// the stack to the bare server, and writes <out>/stack-<time>.{json,md,svg} (out: .cache/bench by default); with
// -update-docs also docs/perf/stack-latency.svg and the generated section of docs/PERFORMANCE.md.
//
//	loadstack -loadgen FILE -bench [-bench-duration 10s] [-bench-warmup 3s] [-concurrency 8] [-users 8] [-update-docs]
//
// With -soak D (make soak) it measures the capacity of the trivial call through the edge (or takes -soak-rate), runs
// it open loop at half of it for D, samples every service's goroutines, heap in use and resident set every
// -soak-interval, and judges the end against the start (soak.go's bounds). -bench and -soak combine on one stack.
//
//	loadstack -loadgen FILE -soak 10m [-soak-rate R] [-soak-probe 10s] [-soak-interval 30s]
//
// The database server is -db, else MCPBOX_TEST_DATABASE_URL, else postgres@127.0.0.1:5432, as for the tests
// (operations.md §1.4): loadstack creates mcpbox_t_load_<8 hex> from template0 (devstack migrates it) and drops it
// at the end; a run killed before that leaves a database that db/dbtest's sweep drops an hour later. Every other
// MCPBOX_* variable of the caller reaches the services through devstack (for example
// MCPBOX_SANDBOX_WARM_WORKERS=8), except MCPBOX_DATABASE_URL and MCPBOX_GATEWAY_SESSION_MODE, which loadstack sets.
//
// The stack's output goes to <out>/devstack-<UTC time>.log, the reports to <out>/gateway-<run>-<UTC time>.json.
// Every run is bounded: loadgen by its duration, the start by devstack's ready timeout, the stop by 60 s.
//
// Exit status: 0 when every run met its target (P1: no error, at least 99 % of the offered rate, p50 ≤ 5 ms and
// p99 ≤ 25 ms, and a run at 250/s or more was made; P2: no error, the rate, p50 ≤ 2 ms), or, with -bench and -soak,
// when no scenario had an error and every soak bound held; 1 when a target was missed, a scenario had errors, a
// bound was exceeded or the stack could not be started or seeded; 2 on a bad command line; 130 after an interrupt.
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
