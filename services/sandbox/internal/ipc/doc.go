// Package ipc is the framed protocol between the sandbox parent and its
// one-job workers (sandbox.md §11): fd 3 carries parent→worker frames, fd 4
// worker→parent frames.
//
// # Threat model
//
// The worker runs LLM-written code and is presumed hostile, so every byte it
// sends is untrusted input (invariant I5). A frame is
//
//	4-byte big-endian N | 4-byte big-endian H | H bytes JSON header | N−4−H bytes payload
//
// and the Reader refuses, after reading only the 8-byte prefix, any N over
// the direction's cap (8 MiB worker→parent, 12 MiB parent→worker). It never
// allocates more than 64 KiB ahead of the bytes that actually arrived, so a
// lying length costs no memory. Headers are strict JSON objects: unknown
// fields, wrong types, unknown message types and types that may not travel
// in the reader's direction are refused, and so are payloads over the
// message's own cap (stdout 64 KiB, request body 4 MiB, response body
// 10 MiB).
//
// Checker applies the parent-side rules on top of the framing: ready first
// with the parent's ProtocolVersion, then one job, http ids new and within
// 1…max_http_requests, at most MaxInFlight performed at once (the extra ones
// are answered with an error, ErrTooManyInFlight, not treated as an
// attack), error types from WorkerErrorTypes only, positions inside the
// tool file, nothing after result. JobGate is the worker-side counterpart:
// a second job frame is refused (invariant I2) and the worker must exit.
//
// Every violation matches ErrViolation; the parent kills the worker and
// classifies the run ipc_violation (§10 row 3, OutputLimitExceeded when the
// error also matches ErrFrameTooLarge).
//
// The package keeps no mutable package state: its errors are constants of
// type Error, and it does not compare against io.EOF or other variables of
// packages that tool code can see, because framing runs in the same
// process as that code (§11).
//
// # Changing the protocol
//
// Add fields as new struct fields with JSON tags; bump ProtocolVersion when
// an old peer would misread a frame (parent and worker are one binary, so
// this only guards against mixed builds). Every new field the parent reads
// needs a rule in Checker and a case in the tests; FuzzReadFrame's seeds in
// testdata/fuzz/FuzzReadFrame should gain an example frame.
package ipc
