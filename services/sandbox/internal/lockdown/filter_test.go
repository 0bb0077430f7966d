package lockdown

import (
	"testing"

	"golang.org/x/sys/unix"
)

// seccompData is the input of a filter run.
type seccompData struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

// word returns the 32-bit word at off, as the kernel's BPF_LD|BPF_W|BPF_ABS
// loads it from struct seccomp_data on a little-endian machine.
func (d seccompData) word(t *testing.T, off uint32) uint32 {
	switch {
	case off == offNr:
		return d.nr
	case off == offArch:
		return d.arch
	case off >= offArgs && off < offArgs+48 && off%4 == 0:
		a := d.args[(off-offArgs)/8]
		if (off-offArgs)%8 == 0 {
			return uint32(a)
		}
		return uint32(a >> 32)
	}
	t.Fatalf("load from offset %d", off)
	return 0
}

// run interprets the classic BPF subset the builder emits, checking that
// every jump stays inside the program and that it always returns.
func run(t *testing.T, prog []unix.SockFilter, d seccompData) Action {
	t.Helper()
	a, _ := runCounting(t, prog, d)
	return a
}

// runCounting is run that also returns how many instructions it executed.
func runCounting(t *testing.T, prog []unix.SockFilter, d seccompData) (Action, int) {
	t.Helper()
	var acc uint32
	steps := 0
	for pc := 0; pc < len(prog); pc++ {
		steps++
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = d.word(t, in.K)
		case unix.BPF_RET | unix.BPF_K:
			return Action(in.K), steps
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
			if pc+1 >= len(prog) {
				t.Fatalf("jump past the end at %d", pc)
			}
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var taken bool
			switch in.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				taken = acc == in.K
			case unix.BPF_JGE:
				taken = acc >= in.K
			case unix.BPF_JSET:
				taken = acc&in.K != 0
			}
			if taken {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
			if pc+1 >= len(prog) {
				t.Fatalf("jump past the end at %d", pc)
			}
		default:
			t.Fatalf("unexpected opcode %#x at %d", in.Code, pc)
		}
	}
	t.Fatal("program fell off its end")
	return 0, steps
}

// specTable is sandbox.md §8.4, written out independently of policy.go.
func specTable() (kill, eperm []string) {
	kill = []string{
		"execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
		"socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "mount", "umount2",
		"pivot_root", "chroot", "unshare", "setns", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
		"io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key", "kexec_load",
		"kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
		"acct", "personality",
	}
	eperm = []string{
		"open", "openat", "openat2", "creat", "open_by_handle_at", "name_to_handle_at", "mknod", "mknodat",
		"mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat",
		"symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat", "lchown",
		"truncate", "utimensat", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr",
		"fremovexattr", "memfd_create", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
		"setfsuid", "setfsgid", "setgroups", "capset", "settimeofday", "clock_settime", "adjtimex",
	}
	return kill, eperm
}

// TestWorkerFilterTable checks the program of each supported architecture
// call by call (the arm64 program cannot run here, §8.4).
func TestWorkerFilterTable(t *testing.T) {
	t.Parallel()
	const pid, other = 4242, 1
	kill, eperm := specTable()
	for _, a := range []Arch{AMD64(), ARM64()} {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			prog, err := WorkerFilter(a, pid)
			if err != nil {
				t.Fatal(err)
			}
			call := func(name string, args ...uint64) (Action, bool) {
				nr, ok := a.Sysnum(name)
				if !ok {
					return 0, false
				}
				d := seccompData{nr: nr, arch: a.AuditArch}
				copy(d.args[:], args)
				return run(t, prog, d), true
			}
			expect := func(want Action, name string, args ...uint64) {
				t.Helper()
				if got, ok := call(name, args...); ok && got != want {
					t.Errorf("%s%v = %s, want %s", name, args, got, want)
				}
			}
			present := 0
			for _, n := range kill {
				if _, ok := a.Sysnum(n); ok {
					present++
				}
				expect(ActKill, n)
			}
			for _, n := range eperm {
				expect(ActEPERM, n)
			}
			if present < len(kill)-2 { // arm64 has no fork, vfork
				t.Errorf("only %d of %d kill-list calls exist in the %s table", present, len(kill), a.Name)
			}
			expect(ActENOSYS, "clone3")
			expect(ActAllow, "clone", unix.CLONE_VM|unix.CLONE_FS|unix.CLONE_FILES|unix.CLONE_SIGHAND|unix.CLONE_SYSVSEM|unix.CLONE_THREAD)
			expect(ActEPERM, "clone", uint64(unix.SIGCHLD))
			expect(ActEPERM, "clone", unix.CLONE_VM|unix.CLONE_VFORK|uint64(unix.SIGCHLD))
			for _, n := range []string{"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"} {
				expect(ActAllow, n, pid, 1)
				expect(ActEPERM, n, other, 1)
				expect(ActEPERM, n, 0, 1)
				expect(ActEPERM, n, uint64(0xffffffff), 9) // -1: every process
			}
			expect(ActEPERM, "pidfd_send_signal", 3, 9)
			expect(ActAllow, "prlimit64", 0, unix.RLIMIT_AS, 0x1000, 0)
			expect(ActAllow, "prlimit64", pid, unix.RLIMIT_AS, 0x1000, 0)
			expect(ActEPERM, "prlimit64", other, unix.RLIMIT_AS, 0x1000, 0)
			for _, n := range []string{"mmap", "mprotect", "pkey_mprotect"} {
				expect(ActAllow, n, 0, 4096, unix.PROT_READ|unix.PROT_WRITE)
				expect(ActEPERM, n, 0, 4096, unix.PROT_READ|unix.PROT_EXEC)
				expect(ActEPERM, n, 0, 4096, unix.PROT_EXEC|1<<40)
			}
			expect(ActEPERM, "ioctl", 0, unix.TIOCSTI)
			expect(ActEPERM, "ioctl", 0, 1<<32|unix.TIOCSTI) // the kernel ignores the high half
			expect(ActAllow, "ioctl", 1, unix.TCGETS)
			// Calls the runtime needs are not listed, so allowed; a number
			// absent from every table stands in for them.
			if got := run(t, prog, seccompData{nr: 2000, arch: a.AuditArch}); got != ActAllow {
				t.Errorf("unlisted call = %s, want allow", got)
			}
			// Foreign ABIs die, whatever the number.
			for _, arch := range []uint32{unix.AUDIT_ARCH_I386, unix.AUDIT_ARCH_ARM, unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_AARCH64} {
				if arch == a.AuditArch {
					continue
				}
				if got := run(t, prog, seccompData{nr: 20, arch: arch}); got != ActKill {
					t.Errorf("arch %#x = %s, want kill", arch, got)
				}
			}
			if a.Name == "amd64" {
				if got := run(t, prog, seccompData{nr: 0x40000000 | 39, arch: a.AuditArch}); got != ActKill {
					t.Errorf("x32 getpid = %s, want kill", got)
				}
			}
		})
	}
}

func TestSealFilterTable(t *testing.T) {
	t.Parallel()
	for _, a := range []Arch{AMD64(), ARM64()} {
		prog, err := SealFilter(a, 77)
		if err != nil {
			t.Fatal(err)
		}
		nr := func(n string) uint32 { v, _ := a.Sysnum(n); return v }
		for _, tc := range []struct {
			name string
			args [6]uint64
			want Action
		}{
			{"prlimit64", [6]uint64{0, unix.RLIMIT_AS, 0, 0x1000}, ActAllow},           // read only
			{"prlimit64", [6]uint64{0, unix.RLIMIT_AS, 0x1000, 0}, ActEPERM},           // set
			{"prlimit64", [6]uint64{0, unix.RLIMIT_AS, 0x7f00_0000_0000, 0}, ActEPERM}, // pointer above 4 GiB
			{"setrlimit", [6]uint64{unix.RLIMIT_CPU, 0x1000}, ActEPERM},
			{"seccomp", [6]uint64{1, 1, 0x1000}, ActEPERM},
			{"getpid", [6]uint64{}, ActAllow},
		} {
			n := nr(tc.name)
			if tc.name == "getpid" {
				n = 2000
			}
			if got := run(t, prog, seccompData{nr: n, arch: a.AuditArch, args: tc.args}); got != tc.want {
				t.Errorf("%s %s%v = %s, want %s", a.Name, tc.name, tc.args, got, tc.want)
			}
		}
	}
}

func TestBuildProgramRefusesBadInput(t *testing.T) {
	t.Parallel()
	if _, err := WorkerFilter(AMD64(), 0); err == nil {
		t.Error("pid 0 accepted")
	}
	if _, err := buildProgram(AMD64(), []rule{{name: "kill", action: ActKill}, {name: "kill", action: ActEPERM}}, 5); err == nil {
		t.Error("duplicate rule accepted")
	}
}

// linearProgram is the filter as a plain list of compares, the obvious
// reading of a policy: the reference the search of buildProgram must agree
// with on every input.
func linearProgram(a Arch, rules []rule, pid int) []unix.SockFilter {
	p := []unix.SockFilter{load(offArch), jeq(a.AuditArch, 1, 0), ret(ActKill), load(offNr)}
	if a.maxNative != 0 {
		p = append(p, jge(a.maxNative, 0, 1), ret(ActKill))
	}
	nums := a.sysnums()
	for _, r := range rules {
		nr, ok := nums[r.name]
		if !ok {
			continue
		}
		body := []unix.SockFilter{ret(r.action)}
		if r.check != always {
			body = argBlock(r, uint32(pid))
		}
		p = append(p, jeq(nr, 0, uint8(len(body))))
		p = append(p, body...)
	}
	return append(p, ret(ActAllow))
}

// argSets are the argument values that reach every branch of argBlock for
// a pid of 4242.
func argSets() [][6]uint64 {
	return [][6]uint64{
		{},
		{4242},
		{4243},
		{unix.CLONE_THREAD},
		{0, unix.TIOCSTI},
		{0, 0, unix.PROT_EXEC},
		{0, 0, unix.PROT_READ},
		{0, 0, 1},
		{0, 0, 1 << 32},
		{4242, 0, 7},
	}
}

// The search decides exactly as the list would, for every syscall number
// of both architectures (and beyond), every argument shape, and both
// policies, and it does so in few instructions.
func TestSearchAgreesWithList(t *testing.T) {
	t.Parallel()
	const pid = 4242
	for _, a := range []Arch{AMD64(), ARM64()} {
		for name, rules := range map[string][]rule{"worker": workerPolicy(), "seal": sealPolicy()} {
			prog, err := buildProgram(a, rules, pid)
			if err != nil {
				t.Fatal(err)
			}
			ref := linearProgram(a, rules, pid)
			longest := 0
			for nr := uint32(0); nr < 1100; nr++ {
				for _, args := range argSets() {
					d := seccompData{nr: nr, arch: a.AuditArch, args: args}
					got, steps := runCounting(t, prog, d)
					if want := run(t, ref, d); got != want {
						t.Fatalf("%s %s: nr %d args %v: search %s, list %s", a.Name, name, nr, args, got, want)
					}
					longest = max(longest, steps)
				}
			}
			// log2(130 rules) splits, a short list, an argument block.
			if longest > 24 {
				t.Errorf("%s %s: a syscall took %d instructions to decide, want ≤ 24", a.Name, name, longest)
			}
		}
	}
}

// A policy whose halves are longer than an 8-bit jump reaches them through
// an unconditional jump, and still decides every number as the list does.
func TestSearchLongJumps(t *testing.T) {
	t.Parallel()
	a := AMD64()
	var rules []rule
	for name := range a.sysnums() {
		rules = append(rules, rule{name: name, action: ActEPERM, check: readOnlyLimits})
	}
	prog, err := buildProgram(a, rules, 4242)
	if err != nil {
		t.Fatal(err)
	}
	ja := 0
	for _, in := range prog {
		if in.Code == unix.BPF_JMP|unix.BPF_JA {
			ja++
		}
	}
	if ja == 0 {
		t.Fatalf("a %d-instruction program has no long jump", len(prog))
	}
	ref := linearProgram(a, rules, 4242)
	for nr := uint32(0); nr < 600; nr++ {
		for _, args := range argSets() {
			d := seccompData{nr: nr, arch: a.AuditArch, args: args}
			if got, want := run(t, prog, d), run(t, ref, d); got != want {
				t.Fatalf("nr %d args %v: search %s, list %s", nr, args, got, want)
			}
		}
	}
}
