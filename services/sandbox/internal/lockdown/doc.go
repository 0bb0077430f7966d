// Package lockdown is the process-isolation layer of the sandbox
// (sandbox.md §8): what a worker applies to itself before it sends ready,
// the parent's own hardening, the start-up self-test that proves the layers
// hold, the spawn settings of a worker, and the classification of how a
// worker ended (§10).
//
// # Threat model
//
// Tool code is hostile and runs inside yaegi in the worker. The symbol
// allowlist is the first barrier; this package is the second, for the day
// an interpreter bug or a missed symbol gives that code native execution.
// After Lock the worker:
//
//   - has only GOMAXPROCS, GOTRACEBACK and TZ in its environment (CheckEnv;
//     the parent's token, proxies and YAEGI_* never reach it);
//   - cannot grow past RLIMIT_AS/RLIMIT_DATA (VmSize + MAX_MEMORY_MB, then
//     VmSize + memory_mb for the job), write files (RLIMIT_FSIZE 0), dump
//     core, lock memory, hold more than 16 descriptors, or use more than
//     64 OS threads or 64 MiB of stack;
//   - cannot gain privileges (no_new_privs) and is not dumpable;
//   - runs under the seccomp filter of §8.4 on every thread: calls from a
//     foreign ABI (x32 or i386 on amd64, AArch32 on arm64) kill it; process
//     creation, network, ptrace, other processes' memory, mounts, modules,
//     BPF, io_uring and keys kill it (SIGSYS); the open and file-changing
//     families, identity and clock changes return EPERM, so library code
//     that probes files falls back quietly; clone without CLONE_THREAD,
//     signals to any pid but its own, prlimit64 on another pid, executable
//     mmap/mprotect and TIOCSTI return EPERM; clone3 returns ENOSYS (the
//     runtime falls back to clone). Every other call is allowed (default
//     allow, as §8.4 specifies).
//
// TightenForJob sets the job's limits and stacks a second, small filter
// (SealFilter) that refuses setrlimit, prlimit64 with a new limit and
// seccomp: limits can then not be raised even by a process holding
// CAP_SYS_RESOURCE (tests run as root), and no filter can be added.
//
// The parent calls HardenParent (non-dumpable) at start, so a same-uid
// worker that escaped seccomp still cannot ptrace it or read
// /proc/<parent>/environ, which holds the service token. Then it calls
// SelfTest with its own executable: each probe (see ProbeNames) runs in a
// fresh child started like a worker (Command), locks down as a worker with
// a job would, and attempts one forbidden operation (execve, socket,
// openat, ptrace and kill of the parent, executable mmap/mprotect, fork,
// raising an rlimit, mapping past RLIMIT_AS, an x32 call) or an allowed
// workload. The parent decides from the exit status and the child's
// one-line report; any mismatch fails the self-test and the service must
// not start (I7). A binary's main dispatches os.Args[1] == SelfTestArg to
// SelfTestMain. On a host running as root the parent_environ probe passes
// whatever the dumpability (root holds capabilities); the tests check it
// as an unprivileged uid.
//
// # Changing the filter
//
// The policy is the table in workerPolicy (policy.go); the numbers per
// architecture are in sysnum.go, because golang.org/x/sys/unix only knows
// the architecture being compiled and the arm64 program is checked on amd64.
// To deny a call: add its name to the right action group, add its number to
// both tables (the sysnum_<arch>_test.go files compare them with x/sys/unix
// on each architecture), and add it to specTable in filter_test.go. To allow
// a call the runtime or yaegi starts to need (a new Go release, a new
// kernel): remove it from the policy only after reading why it is listed in
// §8.4, and prefer an argument check to a blanket allow. Then run the
// package tests: TestWorkerFilterTable interprets both programs call by
// call, and TestSelfTestPasses / TestForbiddenOperationsRefused /
// TestAllowedWorkloadRuns run the real filter in real processes. The
// start-up self-test must keep passing on every supported Go version and
// architecture; a release that breaks it is not shipped.
package lockdown
