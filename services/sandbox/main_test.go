package main

import (
	"os"
	"testing"

	"github.com/mcpbox/mcpbox/services/sandbox/internal/lockdown"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/worker"
)

// run is the sandbox's command line with a worker executable that is never
// race-instrumented when make test provides one (sandbox.md §2).
var run = command(testWorker())

// testWorker is MCPBOX_SANDBOX_TEST_WORKER (the non-race bin/sandbox of
// make test), else this test binary, which TestMain turns into a worker.
func testWorker() string {
	if exe := os.Getenv("MCPBOX_SANDBOX_TEST_WORKER"); exe != "" {
		return exe
	}
	return os.Args[0]
}

// TestMain lets the test binary play the worker's role: the self-test
// re-executes /proc/self/exe with __selftest (sandbox.md §2).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == lockdown.SelfTestArg {
		os.Exit(lockdown.SelfTestMain(os.Args[2:], os.Stdout))
	}
	if len(os.Args) > 1 && os.Args[1] == worker.ProcessArg {
		os.Exit(worker.ProcessMain(os.Args[2:], os.Environ(), os.Stderr))
	}
	os.Exit(m.Run())
}
