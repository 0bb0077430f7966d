// Package hostpkg is the mcpbox host package of tool code (spec/sandbox.md
// §5.5), implemented as native code inside a worker and handed to the
// interpreter as one symbol map ([Exports]) per job.
//
// It owns the tool-facing API (HTTP, Header, Response, HTTPError,
// EgressError, Secret, LookupSecret, SecretNames, Log) and nothing else: it
// holds no policy and no secret beyond the job's own copy. Every HTTP call
// goes to an injected [Doer] (in production the worker's IPC client, which
// asks the parent's broker; the parent decides and performs the request), so
// allowed hosts, SSRF checks and caps live in the parent.
//
// Isolation rules for changes here:
//   - exposed types have no exported field carrying host state, and no
//     unexported field holding anything sensitive (fmt's %+v prints
//     unexported fields; the job state sits behind a pointer, which fmt
//     prints as an address);
//   - values handed to tool code are copies (SecretNames returns a new
//     slice, secrets are strings), so nothing a tool does changes the next
//     call or another job;
//   - the HTTP variable is frozen (non-addressable) in the symbol map.
//
// The per-execution budget is enforced here as well as in the parent: ids
// run from 1 to the job's maximum (default 100), at most 4 requests are in
// flight (further calls wait, honouring their context), request bodies are
// read in the worker and capped at 4 MiB.
package hostpkg
