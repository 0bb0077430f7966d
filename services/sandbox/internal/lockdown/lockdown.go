package lockdown

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mcpbox/mcpbox/services/sandbox/internal/procfs"
)

// Go runtime limits of sandbox.md §8.2–§8.3.
const (
	MaxThreads = 64
	MaxStack   = 64 << 20
	// maxOpenFiles is RLIMIT_NOFILE: stdio, the two IPC pipes, the status
	// descriptor and the runtime's poller leave room to spare.
	maxOpenFiles = 16
)

// Limits are the init-time limits of a worker.
type Limits struct {
	// MaxMemoryMB is MCPBOX_SANDBOX_MAX_MEMORY_MB: RLIMIT_AS and
	// RLIMIT_DATA become VmSize after init plus this much.
	MaxMemoryMB int
	// NProc, when not zero, sets RLIMIT_NPROC (only meaningful when
	// workers run under a dedicated uid; §8.3).
	NProc uint64
}

// JobLimits are the limits set when the job arrives (§7 step 2).
type JobLimits struct {
	// MemoryMB lowers RLIMIT_AS to VmSize now plus this much and sets the
	// Go memory limit to 80 % of it.
	MemoryMB int
	// Timeout and Procs (WORKER_PROCS) give RLIMIT_CPU: soft =
	// Procs × ceil(Timeout) + 1 s, hard = soft + 1 s.
	Timeout time.Duration
	Procs   int
}

// Worker is a locked-down worker process. It keeps /proc/self/statm open,
// since nothing can be opened after lockdown.
type Worker struct {
	status *os.File
	pid    int
	arch   Arch
}

// Lock applies every layer a worker installs before it sends ready
// (§8.2 steps 2, 4, 5): Go runtime limits, oom_score_adj, rlimits,
// no_new_privs, non-dumpable, and the seccomp filter on all threads. On any
// error the worker must exit without sending ready (fail closed, I7).
func Lock(l Limits) (*Worker, error) {
	if l.MaxMemoryMB <= 0 {
		return nil, fmt.Errorf("lockdown: MaxMemoryMB %d must be positive", l.MaxMemoryMB)
	}
	arch, err := NativeArch()
	if err != nil {
		return nil, err
	}
	debug.SetMaxThreads(MaxThreads)
	debug.SetMaxStack(MaxStack)
	status, err := os.Open("/proc/self/statm")
	if err != nil {
		return nil, fmt.Errorf("lockdown: open statm: %w", err)
	}
	w := &Worker{status: status, pid: os.Getpid(), arch: arch}
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0); err != nil {
		return nil, errors.Join(fmt.Errorf("lockdown: oom_score_adj: %w", err), status.Close())
	}
	vm, err := w.VMSizeKB()
	if err != nil {
		return nil, errors.Join(err, status.Close())
	}
	as := uint64(vm)<<10 + uint64(l.MaxMemoryMB)<<20 //nolint:gosec // both positive
	limits := []struct {
		res int
		val uint64
	}{
		{unix.RLIMIT_AS, as},
		{unix.RLIMIT_DATA, as},
		{unix.RLIMIT_NOFILE, maxOpenFiles},
		{unix.RLIMIT_FSIZE, 0},
		{unix.RLIMIT_CORE, 0},
		{unix.RLIMIT_MEMLOCK, 0},
	}
	if l.NProc > 0 {
		limits = append(limits, struct {
			res int
			val uint64
		}{unix.RLIMIT_NPROC, l.NProc})
	}
	for _, lim := range limits {
		if err := lower(lim.res, lim.val); err != nil {
			return nil, errors.Join(err, status.Close())
		}
	}
	prog, err := WorkerFilter(arch, w.pid)
	if err != nil {
		return nil, errors.Join(err, status.Close())
	}
	// no_new_privs is per thread and the filter needs it on the installing
	// thread; TSYNC then copies both to every other thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return nil, errors.Join(fmt.Errorf("lockdown: no_new_privs: %w", err), status.Close())
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, errors.Join(fmt.Errorf("lockdown: dumpable: %w", err), status.Close())
	}
	if err := install(prog); err != nil {
		return nil, errors.Join(err, status.Close())
	}
	return w, nil
}

// TightenForJob sets the job's limits (§7 step 2), then stacks the seal
// filter so that no limit can be raised again, even by a process holding
// CAP_SYS_RESOURCE.
func (w *Worker) TightenForJob(j JobLimits) error {
	if j.MemoryMB <= 0 || j.Timeout <= 0 || j.Procs <= 0 {
		return fmt.Errorf("lockdown: job limits %+v must be positive", j)
	}
	vm, err := w.VMSizeKB()
	if err != nil {
		return err
	}
	if err := lower(unix.RLIMIT_AS, uint64(vm)<<10+uint64(j.MemoryMB)<<20); err != nil { //nolint:gosec // positive
		return err
	}
	soft := uint64(j.Procs)*uint64(math.Ceil(j.Timeout.Seconds())) + 1
	if err := unix.Setrlimit(unix.RLIMIT_CPU, &unix.Rlimit{Cur: soft, Max: soft + 1}); err != nil {
		return fmt.Errorf("lockdown: RLIMIT_CPU: %w", err)
	}
	debug.SetMemoryLimit(int64(j.MemoryMB) << 20 * 8 / 10)
	prog, err := SealFilter(w.arch, w.pid)
	if err != nil {
		return err
	}
	return install(prog)
}

// VMSizeKB reads VmSize from the descriptor opened before lockdown.
func (w *Worker) VMSizeKB() (int64, error) {
	m, err := procfs.ReadStatmAt(w.status)
	if err != nil {
		return 0, fmt.Errorf("lockdown: %w", err)
	}
	if m.SizeKB <= 0 {
		return 0, errors.New("lockdown: statm gives no VmSize")
	}
	return m.SizeKB, nil
}

// lower sets a limit with soft = hard = val, never raising the current hard
// limit.
func lower(res int, val uint64) error {
	var cur unix.Rlimit
	if err := unix.Getrlimit(res, &cur); err != nil {
		return fmt.Errorf("lockdown: getrlimit %d: %w", res, err)
	}
	val = min(val, cur.Max)
	if err := unix.Setrlimit(res, &unix.Rlimit{Cur: val, Max: val}); err != nil {
		return fmt.Errorf("lockdown: setrlimit %d: %w", res, err)
	}
	return nil
}

// install loads a filter on every thread of the process (TSYNC).
func install(prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > maxProgram {
		return fmt.Errorf("lockdown: program of %d instructions", len(prog))
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]} //nolint:gosec // len ≤ maxProgram, checked above
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog))) //nolint:gosec // the kernel ABI takes a pointer to sock_fprog
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("lockdown: seccomp: %w", errno)
	}
	if r != 0 {
		return fmt.Errorf("lockdown: seccomp: thread %d could not be synchronised", r)
	}
	return nil
}

// HardenParent makes the parent non-dumpable (§8.6), so a same-uid worker
// cannot ptrace it or read /proc/<parent>/environ and mem, which hold the
// service token. Call it first thing in run.
func HardenParent() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("lockdown: parent dumpable: %w", err)
	}
	return nil
}
