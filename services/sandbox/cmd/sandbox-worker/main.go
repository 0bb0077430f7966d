// Command sandbox-worker is the sandbox's worker executable: the one-shot
// job process (`__worker`) and the isolation self-test (`__selftest`) of
// spec/sandbox.md §7–§8, without the parent's HTTP server, metrics, MCP
// client and analyzer.
//
// The sandbox re-executes itself for both roles when this binary is not
// installed next to it (sandbox.md §2); when it is, it runs this one
// instead, because a worker's cost is mostly process start and package
// initialisation and this binary has a third of the parent's packages
// (docs/PERFORMANCE.md). Both are built from the same commit: the parent
// refuses a worker whose catalogue version differs from its own.
package main

import (
	"fmt"
	"os"

	"github.com/mcpbox/mcpbox/services/sandbox/internal/lockdown"
	"github.com/mcpbox/mcpbox/services/sandbox/internal/worker"
)

func main() {
	switch {
	case len(os.Args) > 1 && os.Args[1] == worker.ProcessArg:
		os.Exit(worker.ProcessMain(os.Args[2:], os.Environ(), os.Stderr))
	case len(os.Args) > 1 && os.Args[1] == lockdown.SelfTestArg:
		os.Exit(lockdown.SelfTestMain(os.Args[2:], os.Stdout))
	}
	fmt.Fprintln(os.Stderr, "sandbox-worker is started by the sandbox service, one process per job; run `sandbox` instead")
	os.Exit(2)
}
