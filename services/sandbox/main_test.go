package main

import (
	"os"
	"path/filepath"
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

// The dedicated worker executable is used when it sits, executable, next to
// the sandbox binary; otherwise the sandbox re-executes itself.
func TestWorkerExecutableNextToTheBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	exe := filepath.Join(dir, "sandbox")
	if got := workerNextTo(exe); got != selfExe {
		t.Fatalf("without sandbox-worker: %q, want %q", got, selfExe)
	}
	worker := filepath.Join(dir, workerBinary)
	if err := os.WriteFile(worker, []byte("#!/bin/false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := workerNextTo(exe); got != selfExe {
		t.Fatalf("with a non-executable sandbox-worker: %q, want %q", got, selfExe)
	}
	if err := os.Chmod(worker, 0o700); err != nil {
		t.Fatal(err)
	}
	if got := workerNextTo(exe); got != worker {
		t.Fatalf("with sandbox-worker: %q, want %q", got, worker)
	}
}
