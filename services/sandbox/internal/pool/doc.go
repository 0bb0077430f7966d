// Package pool runs executions in one-job worker processes (sandbox.md §9,
// §10, §4.2.3 steps 5–10): it keeps warm, locked-down workers, admits
// executions (a concurrency slot and a memory reservation, one FIFO queue),
// sends each job to a fresh worker, serves its frames (stdout, brokered
// HTTP through the job's egress session, the result), enforces the
// deadline, kills and reaps the process group and classifies the end.
//
// # Threat model
//
// A worker runs hostile code. Everything it sends goes through
// ipc.Checker; any violation kills it. Only the parent's own observations
// decide an outcome: CPU time and peak RSS come from the kernel (the wait
// rusage), the HTTP records (Outcome.Calls) are the parent's, and a worker
// that ends without a valid result frame is never a success. Workers are
// started from one goroutine locked to its OS thread, because the
// parent-death signal (Pdeathsig) is tied to the creating thread, and in
// their own process group, which is what the parent kills. A worker gets
// exactly one job frame and is never reused; an idle worker is replaced
// after MaxIdle, and one that dies idle is counted as a crash of class
// other. A take that leaves the idle set at least half full refills when
// its execution ends, so that the spawn does not compete with it for the
// CPU; below half it refills at once. An execution that finds no
// idle worker (a cold start) spawns one and takes whichever worker is ready
// first, its own or a warm one already under way; the other joins the idle
// set.
//
// Memory: RLIMIT_AS is set by the worker relative to its VmSize, with a
// floor of worker.MinAddressHeadroomMB (128 MiB) because the Go runtime
// reserves 64 MiB heap arenas (and see that constant for the heap base the
// worker binary is built with); below that floor
// memory_mb is enforced by the Go memory limit and by the parent's
// watchdog, which samples VmRSS of a busy worker every 50 ms and kills it
// above its baseline + memory_mb (§8.5, classified MemoryLimitExceeded).
//
// Metrics are those of §15.1 for the pool; executions_total and
// execution_duration_seconds are registered here but recorded by the API
// through RecordExecution, once the final outcome is known.
package pool
