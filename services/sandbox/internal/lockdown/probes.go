package lockdown

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// probe is one self-test case. run executes in the child; a probe whose
// call must be killed never returns when the filter works.
type probe struct {
	name           string
	want           Expectation
	beforeLockdown bool
	run            func() childReport
}

func probes() []probe {
	ps := []probe{
		{name: "env", want: ExpectOK, beforeLockdown: true, run: func() childReport { return childReport{OK: true} }},
		{name: "parent_environ", want: ExpectDenied, beforeLockdown: true, run: probeParentEnviron},
		{name: "workload", want: ExpectOK, run: probeWorkload},
		{name: "openat", want: ExpectEPERM, run: func() childReport {
			fd, err := unix.Open("/etc/passwd", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				_ = unix.Close(fd)
			}
			return errnoReport(err, "openat /etc/passwd")
		}},
		{name: "mmap_exec", want: ExpectEPERM, run: func() childReport {
			b, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANON)
			if err == nil {
				_ = unix.Munmap(b)
			}
			return errnoReport(err, "mmap PROT_EXEC")
		}},
		{name: "mprotect_exec", want: ExpectEPERM, run: func() childReport {
			b, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
			if err != nil {
				return childReport{Detail: "control mmap: " + err.Error()}
			}
			return errnoReport(unix.Mprotect(b, unix.PROT_READ|unix.PROT_EXEC), "mprotect PROT_EXEC")
		}},
		{name: "kill_parent", want: ExpectEPERM, run: func() childReport {
			// Signal 0 only checks permission, so a broken filter harms nothing.
			return errnoReport(unix.Kill(os.Getppid(), 0), "kill(parent, 0)")
		}},
		{name: "clone_process", want: ExpectEPERM, run: probeClone},
		{name: "rlimit_raise", want: ExpectEPERM, run: func() childReport {
			lim := unix.Rlimit{Cur: 1 << 20, Max: 1 << 20}
			return errnoReport(unix.Setrlimit(unix.RLIMIT_NOFILE, &lim), "raise RLIMIT_NOFILE")
		}},
		{name: "alloc_past_as", want: ExpectENOMEM, run: probeAlloc},
		{name: "execve", want: ExpectSIGSYS, run: func() childReport {
			return errnoReport(unix.Exec("/bin/true", []string{"true"}, nil), "execve")
		}},
		{name: "socket", want: ExpectSIGSYS, run: func() childReport {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
			if err == nil {
				_ = unix.Close(fd)
			}
			return errnoReport(err, "socket")
		}},
		{name: "ptrace_parent", want: ExpectSIGSYS, run: func() childReport {
			// PTRACE_SEIZE does not stop the tracee, so a broken filter does
			// not freeze the parent; the tracee is released when we exit.
			_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(os.Getppid()), 0, 0, 0, 0)
			return errnoReport(errOrNil(e), "ptrace(PTRACE_SEIZE, parent)")
		}},
	}
	if runtime.GOARCH == "amd64" {
		ps = append(ps, probe{name: "x32_abi", want: ExpectSIGSYS, run: func() childReport {
			_, _, e := unix.RawSyscall(0x40000000|39, 0, 0, 0) // x32 getpid
			return errnoReport(errOrNil(e), "x32 getpid")
		}})
	}
	return ps
}

func errOrNil(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func errnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return fmt.Sprintf("errno %d", int(e))
}

// probeParentEnviron reads /proc/<parent>/environ as a same-uid process
// without capabilities would (a worker that got past seccomp): it must be
// refused when the parent called HardenParent. Capabilities are dropped on
// this thread only, which is the one doing the open.
func probeParentEnviron() childReport {
	runtime.LockOSThread() // never unlocked: the thread dies with the process
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return childReport{Detail: "drop capabilities: " + err.Error()}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", os.Getppid()))
	if err != nil {
		return errnoReport(err, "read parent environ")
	}
	return childReport{OK: true, Detail: fmt.Sprintf("read %d bytes of the parent's environment", len(b))}
}

// probeWorkload does what the Go runtime and interpreted tool code do
// under the filter: allocate and collect, run goroutines and timers,
// grow stacks, encode JSON, read the clock.
func probeWorkload() childReport {
	var wg sync.WaitGroup
	results := make(chan int, 64)
	for range 64 {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			buf[len(buf)-1] = 1
			time.Sleep(time.Millisecond)
			results <- int(buf[len(buf)-1]) + depth(2000)
		})
	}
	wg.Wait()
	close(results)
	sum := 0
	for r := range results {
		sum += r
	}
	runtime.GC()
	m := map[string]any{"sum": sum, "at": time.Now().UTC().Format(time.RFC3339), "s": strings.Repeat("x", 1<<20)}
	b, err := json.Marshal(m)
	if err != nil {
		return childReport{Detail: "json: " + err.Error()}
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		return childReport{Detail: "json: " + err.Error()}
	}
	keys := make([]string, 0, len(back))
	for k := range back {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := 64 + 64*2000
	if sum != want || strings.Join(keys, ",") != "at,s,sum" {
		return childReport{Detail: fmt.Sprintf("wrong results: sum %d, keys %v", sum, keys)}
	}
	t := time.NewTimer(5 * time.Millisecond)
	<-t.C
	return childReport{OK: true}
}

//go:noinline
func depth(n int) int {
	if n == 0 {
		return 0
	}
	var pad [64]byte
	pad[n%64] = 1
	return depth(n-1) + int(pad[n%64])
}

// probeClone tries to create a process the way os/exec does.
func probeClone() childReport {
	pid, _, e := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e == 0 && pid == 0 {
		// In a child created despite the filter: leave at once, touching
		// nothing of the runtime.
		_, _, _ = unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return errnoReport(errOrNil(e), "clone without CLONE_THREAD")
}

// probeAlloc maps memory past the job's RLIMIT_AS. A mapping well inside
// the limit must succeed first, so ENOMEM can only come from the limit.
func probeAlloc() childReport {
	small, err := unix.Mmap(-1, 0, 8<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return childReport{Detail: "mapping inside the limit failed: " + err.Error()}
	}
	_ = unix.Munmap(small)
	big, err := unix.Mmap(-1, 0, 2*selfTestJobMemoryMB<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err == nil {
		_ = unix.Munmap(big)
	}
	return errnoReport(err, "mmap past RLIMIT_AS")
}
