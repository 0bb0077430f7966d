// Command sandbox runs MCPbox tool code in locked-down one-shot worker
// processes and is the only MCPbox component with outbound network access,
// through its SSRF-guarded egress broker (spec/sandbox.md).
package main

import (
	"os"
	"path/filepath"

	"github.com/mcpbox/mcpbox/proto/lifecycle"
)

func main() {
	lifecycle.Main("sandbox", command(workerExecutable()), lifecycle.TuneGC(lifecycle.CallPathGCPercent))
}

// workerBinary is the name of the dedicated worker executable
// (cmd/sandbox-worker), looked for next to this binary.
const workerBinary = "sandbox-worker"

// workerExecutable returns the worker executable: sandbox-worker in this
// binary's directory when it is there, else this binary re-executed through
// /proc/self/exe (sandbox.md §2), which holds the same worker code. The
// dedicated binary is the fast path: a worker costs mostly process start and
// package initialisation, and sandbox-worker leaves out the parent's
// packages (HTTP server, metrics, MCP client, analyzer).
func workerExecutable() string {
	exe, err := os.Executable()
	if err != nil {
		return selfExe
	}
	return workerNextTo(exe)
}

// selfExe is this binary, for re-executing it as a worker.
const selfExe = "/proc/self/exe"

// workerNextTo returns the executable sandbox-worker in exe's directory, or
// selfExe when there is none.
func workerNextTo(exe string) string {
	candidate := filepath.Join(filepath.Dir(exe), workerBinary)
	if fi, err := os.Stat(candidate); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return candidate
	}
	return selfExe
}
