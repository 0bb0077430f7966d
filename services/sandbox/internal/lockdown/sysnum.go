package lockdown

// Syscall numbers of the calls the policy names, per architecture. They are
// spelled out here, not taken from golang.org/x/sys/unix, because unix only
// defines the numbers of the architecture being compiled, and the arm64
// program must be built and checked on amd64 machines (sandbox.md §8.4).
// sysnum_<arch>_test.go compares each table with unix on its own
// architecture. A name missing from a table does not exist there (arm64 has
// no open, fork, mkdir ...): the *at variants cover it.

func amd64Sysnums() map[string]uint32 {
	return map[string]uint32{
		"accept": 43, "accept4": 288, "acct": 163, "add_key": 248, "adjtimex": 159, "bind": 49, "bpf": 321,
		"capset": 126, "chmod": 90, "chown": 92, "chroot": 161, "clock_adjtime": 305, "clock_settime": 227,
		"clone": 56, "clone3": 435, "connect": 42, "creat": 85, "delete_module": 176, "execve": 59,
		"execveat": 322, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "fchown": 93, "fchownat": 260,
		"finit_module": 313, "fork": 57, "fremovexattr": 199, "fsconfig": 431, "fsetxattr": 190, "fsmount": 432,
		"fsopen": 430, "fspick": 433, "futimesat": 261, "init_module": 175, "io_uring_enter": 426,
		"io_uring_register": 427, "io_uring_setup": 425, "ioctl": 16, "kexec_file_load": 320, "kexec_load": 246,
		"keyctl": 250, "kill": 62, "lchown": 94, "link": 86, "linkat": 265, "listen": 50, "lremovexattr": 198,
		"lsetxattr": 189, "memfd_create": 319, "mkdir": 83, "mkdirat": 258, "mknod": 133, "mknodat": 259,
		"mmap": 9, "mount": 165, "mount_setattr": 442, "move_mount": 429, "mprotect": 10,
		"name_to_handle_at": 303, "open": 2, "open_by_handle_at": 304, "open_tree": 428, "openat": 257,
		"openat2": 437, "perf_event_open": 298, "personality": 135, "pidfd_getfd": 438,
		"pidfd_send_signal": 424, "pivot_root": 155, "pkey_mprotect": 329, "prlimit64": 302,
		"process_vm_readv": 310, "process_vm_writev": 311, "ptrace": 101, "reboot": 169, "removexattr": 197,
		"removexattrat": 466, "rename": 82, "renameat": 264, "renameat2": 316, "request_key": 249, "rmdir": 84,
		"rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "seccomp": 317, "setfsgid": 123, "setfsuid": 122,
		"setgid": 106, "setgroups": 116, "setns": 308, "setregid": 114, "setresgid": 119, "setresuid": 117,
		"setreuid": 113, "setrlimit": 160, "settimeofday": 164, "setuid": 105, "setxattr": 188,
		"setxattrat": 463, "socket": 41, "socketpair": 53, "swapoff": 168, "swapon": 167, "symlink": 88,
		"symlinkat": 266, "tgkill": 234, "tkill": 200, "truncate": 76, "umount2": 166, "unlink": 87,
		"unlinkat": 263, "unshare": 272, "userfaultfd": 323, "utime": 132, "utimensat": 280, "utimes": 235,
		"vfork": 58,
	}
}

func arm64Sysnums() map[string]uint32 {
	return map[string]uint32{
		"accept": 202, "accept4": 242, "acct": 89, "add_key": 217, "adjtimex": 171, "bind": 200, "bpf": 280,
		"capset": 91, "chroot": 51, "clock_adjtime": 266, "clock_settime": 112, "clone": 220, "clone3": 435,
		"connect": 203, "delete_module": 106, "execve": 221, "execveat": 281, "fchmod": 52, "fchmodat": 53,
		"fchmodat2": 452, "fchown": 55, "fchownat": 54, "finit_module": 273, "fremovexattr": 16,
		"fsconfig": 431, "fsetxattr": 7, "fsmount": 432, "fsopen": 430, "fspick": 433, "init_module": 105,
		"io_uring_enter": 426, "io_uring_register": 427, "io_uring_setup": 425, "ioctl": 29,
		"kexec_file_load": 294, "kexec_load": 104, "keyctl": 219, "kill": 129, "linkat": 37, "listen": 201,
		"lremovexattr": 15, "lsetxattr": 6, "memfd_create": 279, "mkdirat": 34, "mknodat": 33, "mmap": 222,
		"mount": 40, "mount_setattr": 442, "move_mount": 429, "mprotect": 226, "name_to_handle_at": 264,
		"open_by_handle_at": 265, "open_tree": 428, "openat": 56, "openat2": 437, "perf_event_open": 241,
		"personality": 92, "pidfd_getfd": 438, "pidfd_send_signal": 424, "pivot_root": 41,
		"pkey_mprotect": 288, "prlimit64": 261, "process_vm_readv": 270, "process_vm_writev": 271,
		"ptrace": 117, "reboot": 142, "removexattr": 14, "removexattrat": 466, "renameat": 38,
		"renameat2": 276, "request_key": 218, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
		"seccomp": 277, "setfsgid": 152, "setfsuid": 151, "setgid": 144, "setgroups": 159, "setns": 268,
		"setregid": 143, "setresgid": 149, "setresuid": 147, "setreuid": 145, "setrlimit": 164,
		"settimeofday": 170, "setuid": 146, "setxattr": 5, "setxattrat": 463, "socket": 198, "socketpair": 199,
		"swapoff": 225, "swapon": 224, "symlinkat": 36, "tgkill": 131, "tkill": 130, "truncate": 45,
		"umount2": 39, "unlinkat": 35, "unshare": 97, "userfaultfd": 282, "utimensat": 88,
	}
}
