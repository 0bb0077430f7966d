package lockdown

import (
	"cmp"
	"fmt"
	"math"
	"slices"

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
// then a binary search over the syscall numbers of the rules leads to each
// rule's action (or argument block), and every other call is allowed. Kernel
// ints (pid_t, the ioctl request) are 32-bit, so comparing the low half is
// what the kernel itself looks at.
//
// Why a search and not a list of compares: when a filter is attached, the
// kernel emulates it once for every syscall number of every ABI to find the
// calls it can allow without running it (seccomp_cache_prepare), with
// interrupts off. A list of the worker policy's 130 rules made that about
// 150 000 emulated instructions, ≈ 3 % of a worker's CPU; the search
// decides any number within about 20 instructions, and every syscall the
// worker makes afterwards runs the short path too.
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
	var leaves []leaf
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
		body := []unix.SockFilter{ret(r.action)}
		if r.check != always {
			body = argBlock(r, uint32(pid))
		}
		leaves = append(leaves, leaf{nr: nr, body: body})
	}
	slices.SortFunc(leaves, func(x, y leaf) int { return cmp.Compare(x.nr, y.nr) })
	p = append(p, search(leaves)...)
	if len(p) > maxProgram {
		return nil, fmt.Errorf("lockdown: program of %d instructions exceeds %d", len(p), maxProgram)
	}
	return p, nil
}

// leaf is one rule placed in the search: its syscall number and the code
// that decides it.
type leaf struct {
	nr   uint32
	body []unix.SockFilter
}

// linearLeaves is the size at or below which a range of rules is a list of
// compares rather than another split.
const linearLeaves = 3

// search returns code that, with the syscall number in the accumulator,
// runs the body of the leaf whose number it is, or allows the call. leaves
// are sorted by number. Every path ends in a return.
func search(leaves []leaf) []unix.SockFilter {
	if len(leaves) <= linearLeaves {
		var p []unix.SockFilter
		for _, l := range leaves {
			p = append(p, jeq(l.nr, 0, uint8(len(l.body)))) //nolint:gosec // blocks are ≤ 6 instructions
			p = append(p, l.body...)
		}
		return append(p, ret(ActAllow))
	}
	mid := len(leaves) / 2
	lo, hi := search(leaves[:mid]), search(leaves[mid:])
	if len(hi) <= math.MaxUint8 {
		// nr ≥ leaves[mid].nr falls through into hi, else skips it.
		return slices.Concat([]unix.SockFilter{jge(leaves[mid].nr, 0, uint8(len(hi)))}, hi, lo) //nolint:gosec // ≤ MaxUint8, checked above
	}
	// Too far for an 8-bit offset: the false branch goes through an
	// unconditional jump, whose offset is 32-bit.
	return slices.Concat([]unix.SockFilter{
		jge(leaves[mid].nr, 1, 0),
		stmt(unix.BPF_JMP|unix.BPF_JA, uint32(len(hi))), //nolint:gosec // len(hi) < maxProgram
	}, hi, lo)
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
