// Package worker runs one tool job in a yaegi interpreter: the harness of
// spec/sandbox.md §7. The lead's worker entry point puts it behind IPC in a
// locked-down process; here it only needs the current process.
//
// It owns:
//   - the interpreter set-up ([Prepare]): a fresh interp.Interpreter with
//     empty stdin and environment, a captured stdout, a bounded stderr,
//     GoPath "/" over an empty source file system (no import can load source
//     from anywhere) and never yaegi's unrestricted mode;
//   - one job ([Prepared.Run], [Run]): the generated allowlisted symbol maps
//     (catalogue/symbols) of the packages the tool and the harness import —
//     default tier or approved, nothing else — and the mcpbox host package
//     are installed, the tool is evaluated from memory as tool.go,
//     then a small interpreted harness (package main, importing "tool",
//     positioned in mcpbox_harness.go) calls Main with the job's context and
//     the arguments decoded strictly by its native half, which also encodes
//     the result without HTML escaping; a panic reaches EvalWithContext with
//     yaegi's positions; in compile mode Main is not called;
//   - the mapping of what happened to the §4.2.5 error types the worker may
//     report (ToolError, Panic, InvalidArguments, CompileError,
//     UnsupportedFeature, InvalidResult, OutputLimitExceeded), with positions
//     in the tool file, Go-style runtime messages (§5.7) and source context;
//   - the output caps: stdout kept to 1 MiB + 64 KiB and only counted beyond,
//     results pre-cut at 1.25 MiB; [CapStdout] and [CapResult] give the
//     response forms the parent applies after redaction.
//
// Known interpreter limits handled here: yaegi v0.16.1 reports a runtime
// panic at the first statement of the innermost interpreted function, so the
// line is narrowed statically when that function holds a single candidate
// statement (refineLine) and the message says so otherwise; a panic in a
// goroutine of the tool ends the process (the parent classifies it, §10);
// native blocking calls are not interrupted by the deadline (the parent's
// kill is). Assignments to host package variables are refused before
// compiling (readOnlyViolation); the frozen symbol values are what actually
// protects them.
//
// To change the harness, edit harnessSource and keep every identifier it
// declares or imports under the reserved mcpbox prefix (§5.1).
package worker
