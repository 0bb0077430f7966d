// Command loadgen is the load generator of sandbox.md §16 (`make load-sandbox`). For the sandbox target it starts
// bin/sandbox on loopback (pinned to two CPUs with taskset when it can), drives POST /v1/execute with the trivial
// tool at fixed open-loop arrival rates, and writes one JSON report: latency percentiles and histogram, 429s, errors,
// dropped sends, cold starts, CPU per execution and a description of the machine.
//
//	loadgen sandbox [-bin FILE] [-rate 300[,400,...]] [-duration 60s] [-warmup 10s] [-cpus 0,1] [-out FILE] [-max-inflight 2000]
//
// Open loop: request i is due at start + i/rate whatever became of the earlier ones, and its latency runs from that
// due time, so a slow system cannot lower the offered load (no coordinated omission). Each rate is one step with its
// own warm-up; the run stops after the first step that fails.
//
// Exit status: 0 when every step passed, 1 when a step failed or the run could not be made (the report is still
// written when its path is known), 2 on a bad command line.
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
