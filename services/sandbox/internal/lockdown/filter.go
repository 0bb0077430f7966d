package lockdown

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Offsets in struct seccomp_data (both supported architectures are little
// endian, so the low half of a 64-bit argument comes first).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
	// maxProgram is the kernel's BPF_MAXINSNS.
	maxProgram = 4096
)

func argLow(i int) uint32  { return uint32(offArgs + 8*i) }     //nolint:gosec // i ≤ 5
func argHigh(i int) uint32 { return uint32(offArgs + 8*i + 4) } //nolint:gosec // i ≤ 5

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

func load(off uint32) unix.SockFilter { return stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, off) }
func ret(a Action) unix.SockFilter    { return stmt(unix.BPF_RET|unix.BPF_K, uint32(a)) }

func jeq(k uint32, jt, jf uint8) unix.SockFilter {
	return jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, k, jt, jf)
}

func jset(k uint32, jt, jf uint8) unix.SockFilter {
	return jump(unix.BPF_JMP|unix.BPF_JSET|unix.BPF_K, k, jt, jf)
}

func jge(k uint32, jt, jf uint8) unix.SockFilter {
	return jump(unix.BPF_JMP|unix.BPF_JGE|unix.BPF_K, k, jt, jf)
}

// argBlock is the code run when the syscall number matched a rule with an
// argument check; every path ends in a return.
func argBlock(r rule, pid uint32) []unix.SockFilter {
	deny, allow := ret(r.action), ret(ActAllow)
	switch r.check {
	case needThread:
		return []unix.SockFilter{load(argLow(0)), jset(unix.CLONE_THREAD, 0, 1), allow, deny}
	case ownPID:
		return []unix.SockFilter{load(argLow(0)), jeq(pid, 0, 1), allow, deny}
	case ownOrSelfPID:
		return []unix.SockFilter{load(argLow(0)), jeq(0, 2, 0), jeq(pid, 1, 0), deny, allow}
	case noExec:
		return []unix.SockFilter{load(argLow(2)), jset(unix.PROT_EXEC, 0, 1), deny, allow}
	case noTIOCSTI:
		return []unix.SockFilter{load(argLow(1)), jeq(unix.TIOCSTI, 0, 1), deny, allow}
	case readOnlyLimits:
		return []unix.SockFilter{
			load(argLow(2)), jeq(0, 0, 2),
			load(argHigh(2)), jeq(0, 1, 0),
			deny, allow,
		}
	}
	return []unix.SockFilter{deny}
}

// buildProgram assembles a classic BPF program: foreign ABIs are killed,
// each rule is a compare on the syscall number followed by its action (or
// argument block), and everything else is allowed. Kernel ints (pid_t,
// the ioctl request) are 32-bit, so comparing the low half is what the
// kernel itself looks at.
func buildProgram(a Arch, rules []rule, pid int) ([]unix.SockFilter, error) {
	if pid <= 0 || pid > 1<<22 {
		return nil, fmt.Errorf("lockdown: pid %d out of range", pid)
	}
	p := []unix.SockFilter{
		load(offArch),
		jeq(a.AuditArch, 1, 0),
		ret(ActKill),
		load(offNr),
	}
	if a.maxNative != 0 {
		p = append(p, jge(a.maxNative, 0, 1), ret(ActKill))
	}
	nums := a.sysnums()
	seen := make(map[uint32]bool, len(rules))
	for _, r := range rules {
		nr, ok := nums[r.name]
		if !ok {
			continue // the call does not exist on this architecture
		}
		if seen[nr] {
			return nil, fmt.Errorf("lockdown: %s: syscall %s listed twice", a.Name, r.name)
		}
		seen[nr] = true
		var body []unix.SockFilter
		if r.check == always {
			body = []unix.SockFilter{ret(r.action)}
		} else {
			body = argBlock(r, uint32(pid))
		}
		p = append(p, jeq(nr, 0, uint8(len(body)))) //nolint:gosec // blocks are ≤ 6 instructions
		p = append(p, body...)
	}
	p = append(p, ret(ActAllow))
	if len(p) > maxProgram {
		return nil, fmt.Errorf("lockdown: program of %d instructions exceeds %d", len(p), maxProgram)
	}
	return p, nil
}

// WorkerFilter returns the worker filter of sandbox.md §8.4 for a process
// with the given pid on a.
func WorkerFilter(a Arch, pid int) ([]unix.SockFilter, error) {
	return buildProgram(a, workerPolicy(), pid)
}

// SealFilter returns the filter stacked at job start (see TightenForJob).
func SealFilter(a Arch, pid int) ([]unix.SockFilter, error) {
	return buildProgram(a, sealPolicy(), pid)
}
