package lockdown

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Action is a seccomp return value.
type Action uint32

// The actions of sandbox.md §8.4.
const (
	ActAllow  Action = unix.SECCOMP_RET_ALLOW
	ActKill   Action = unix.SECCOMP_RET_KILL_PROCESS // SIGSYS, the whole process
	ActEPERM  Action = unix.SECCOMP_RET_ERRNO | Action(unix.EPERM)
	ActENOSYS Action = unix.SECCOMP_RET_ERRNO | Action(unix.ENOSYS)
)

func (a Action) String() string {
	switch a {
	case ActAllow:
		return "allow"
	case ActKill:
		return "kill"
	case ActEPERM:
		return "EPERM"
	case ActENOSYS:
		return "ENOSYS"
	}
	return fmt.Sprintf("Action(%#x)", uint32(a))
}

// check is an argument check: the rule's action applies only when it fails.
type check int

const (
	always         check = iota // no argument check
	needThread                  // clone: allowed only with CLONE_THREAD in flags (arg 0)
	ownPID                      // arg 0 must be the worker's pid
	ownOrSelfPID                // prlimit64: arg 0 must be 0 or the worker's pid
	noExec                      // mmap, mprotect, pkey_mprotect: arg 2 (prot) without PROT_EXEC
	noTIOCSTI                   // ioctl: arg 1 (request) is not TIOCSTI
	readOnlyLimits              // prlimit64 (seal): arg 2 (new limit) must be NULL
)

// rule is one row of a policy.
type rule struct {
	name   string
	action Action
	check  check
}

// Arch is an architecture the filter is built for.
type Arch struct {
	// Name is the GOARCH.
	Name string
	// AuditArch is the seccomp_data.arch value of the native ABI.
	AuditArch uint32
	// maxNative, when not zero, is the first syscall number that belongs to
	// a foreign ABI sharing AuditArch (x32 on amd64).
	maxNative uint32
	sysnums   func() map[string]uint32
}

// AMD64 is x86-64; x32 calls (bit 30 set) and i386 calls are foreign.
func AMD64() Arch {
	return Arch{Name: "amd64", AuditArch: unix.AUDIT_ARCH_X86_64, maxNative: 0x40000000, sysnums: amd64Sysnums}
}

// ARM64 is aarch64; AArch32 compat calls are foreign.
func ARM64() Arch {
	return Arch{Name: "arm64", AuditArch: unix.AUDIT_ARCH_AARCH64, sysnums: arm64Sysnums}
}

// NativeArch is the architecture this binary runs on.
func NativeArch() (Arch, error) {
	switch runtime.GOARCH {
	case "amd64":
		return AMD64(), nil
	case "arm64":
		return ARM64(), nil
	}
	return Arch{}, fmt.Errorf("lockdown: no seccomp policy for %s", runtime.GOARCH)
}

// Sysnum returns the number of a syscall on a, if it exists there.
func (a Arch) Sysnum(name string) (uint32, bool) {
	n, ok := a.sysnums()[name]
	return n, ok
}

// workerPolicy is the table of sandbox.md §8.4; every call not listed is
// allowed. Read doc.go before changing it.
func workerPolicy() []rule {
	var rs []rule
	add := func(a Action, c check, names ...string) {
		for _, n := range names {
			rs = append(rs, rule{name: n, action: a, check: c})
		}
	}
	// Process creation, other processes' memory, network, mounts, kernel
	// attack surface: the process dies (SIGSYS), since no legitimate
	// worker code path reaches them.
	add(ActKill, always,
		"execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
		"pidfd_getfd", "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
		"mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "bpf", "perf_event_open",
		"userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "keyctl", "add_key",
		"request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
		"reboot", "swapon", "swapoff", "acct", "personality",
		// the new mount API is mount by other means
		"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr")
	// Filesystem and identity: EPERM, so library code probing files
	// (time zones, MIME tables) falls back quietly.
	add(ActEPERM, always,
		"open", "openat", "openat2", "creat", "open_by_handle_at", "name_to_handle_at", "mknod", "mknodat",
		"mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link",
		"linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown",
		"fchownat", "lchown", "truncate", "utimensat", "utime", "utimes", "futimesat",
		"setxattr", "lsetxattr", "fsetxattr", "setxattrat", "removexattr", "lremovexattr", "fremovexattr",
		"removexattrat", "memfd_create", "setuid", "setgid", "setreuid", "setregid", "setresuid",
		"setresgid", "setfsuid", "setfsgid", "setgroups", "capset", "settimeofday", "clock_settime",
		"adjtimex", "clock_adjtime",
		// a pidfd's target cannot be checked in BPF; the runtime never uses it
		"pidfd_send_signal")
	add(ActEPERM, needThread, "clone")
	add(ActEPERM, ownPID, "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
	add(ActEPERM, ownOrSelfPID, "prlimit64")
	add(ActEPERM, noExec, "mmap", "mprotect", "pkey_mprotect")
	add(ActEPERM, noTIOCSTI, "ioctl")
	// The runtime falls back to clone on ENOSYS.
	add(ActENOSYS, always, "clone3")
	return rs
}

// sealPolicy is stacked on workerPolicy once the job's limits are set:
// limits can no longer be raised even by a process that holds
// CAP_SYS_RESOURCE, and no further filter can be installed.
func sealPolicy() []rule {
	return []rule{
		{name: "setrlimit", action: ActEPERM, check: always},
		{name: "prlimit64", action: ActEPERM, check: readOnlyLimits},
		{name: "seccomp", action: ActEPERM, check: always},
	}
}
