// Package analyze is the sandbox's static analysis of tool code
// (spec/sandbox.md §4.3, §5): it parses one Go file with go/parser and checks
// the tool language contract without ever type-checking it against host
// packages, compiling it or running it (invariant I3).
//
// It owns:
//   - the contract checks: `package tool`, one `func Main(ctx
//     context.Context[, in Input]) (T, error)`, reserved `mcpbox*` names, no
//     //go: directives, size, NUL and UTF-8 rules, each violation a
//     ValidationError that shows the expected form;
//   - imports judged against the catalogue (ImportError for never-tier,
//     unknown and invalid paths; an opt-in path outside extra_packages is
//     only allowed=false, and becomes Result.Refusal for /v1/execute);
//   - the secret names read through mcpbox.Secret / mcpbox.LookupSecret
//     (string literals only);
//   - the description from Main's doc comment, the input schema derived from
//     the Input struct (§5.3) and the output schema of a named struct result
//     (§5.4), as JSON Schema 2020-12 built with github.com/google/jsonschema-go;
//   - the Go 1.22-level diagnostics of §5.6 (min/max/clear, range over a
//     function or iterator helpers, range over an integer, loop-variable
//     capture, generic-inference hints);
//   - the analysis cache keyed by code SHA-256 and catalogue version (I1:
//     losing it changes latency only) and the analysis metrics.
//
// Static analysis gives friendly errors; it is never what keeps a tool
// inside the sandbox (the symbol tables and worker isolation are).
//
// `compile: true` is not run here: Analyze returns a CompileJob for the
// caller to run in a worker, and MergeCompile folds the outcome back in.
//
// To change a rule, edit the check, add a case to testdata/ (a .go file and
// its .golden response, regenerated with `go test ./internal/analyze -update`)
// and review the golden diff. Adding a package to a tier is done in the
// catalogue package, whose symbol maps must then be regenerated.
package analyze
