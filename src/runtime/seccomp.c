/*
 * seccomp.c: Docker's default seccomp profile for a RUN step's runtime spec.
 *
 * The table below is moby's profiles/seccomp/default_linux.go (DefaultProfile(), the source of
 * its default.json), rule by rule: every syscall not listed fails with EPERM; the listed ones
 * are allowed, some only for a given architecture, some only when the process holds a
 * capability (mount and unshare with CAP_SYS_ADMIN, chroot with CAP_SYS_CHROOT, ...), and
 * clone only without namespace flags unless CAP_SYS_ADMIN is held. clone3 fails with ENOSYS
 * instead of EPERM, so that a C library falls back to clone, whose flags the filter can see.
 * Names this libseccomp does not know are skipped by the runtime (runc), as Docker relies on.
 * ptrace and process_vm_* are allowed from kernel 4.8 on, before which ptrace could undo the
 * filter: strata needs a newer kernel (overlayfs in user namespaces, close_range) anyway.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "runtime/internal.h"
#include "util/banned.h"

enum {
	A_AMD64 = 1 << 0,
	A_X32 = 1 << 1,
	A_X86 = 1 << 2,
	A_ARM = 1 << 3,
	A_ARM64 = 1 << 4,
	A_PPC64LE = 1 << 5,
	A_S390 = 1 << 6,
	A_S390X = 1 << 7,
	A_RISCV64 = 1 << 8,
};

/* The architecture strata runs on, and the seccomp architectures its processes may use. */
#if defined(__x86_64__)
#define HOST_ARCH A_AMD64
static const char *const seccomp_arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
					      NULL };
#elif defined(__aarch64__)
#define HOST_ARCH A_ARM64
static const char *const seccomp_arches[] = { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL };
#elif defined(__s390x__)
#define HOST_ARCH A_S390X
static const char *const seccomp_arches[] = { "SCMP_ARCH_S390X", "SCMP_ARCH_S390", NULL };
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH A_RISCV64
static const char *const seccomp_arches[] = { "SCMP_ARCH_RISCV64", NULL };
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH A_PPC64LE
static const char *const seccomp_arches[] = { "SCMP_ARCH_PPC64LE", NULL };
#else
#error "seccomp.c: no seccomp architecture for this target"
#endif

/* CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
 * CLONE_NEWCGROUP: the flags of clone that make namespaces. */
#define CLONE_NS_FLAGS 0x7E020000ULL
#define AF_VSOCK_NR 40

struct rule {
	const char *const *names;
	const char *needs_cap;	/* the rule applies only when the process holds it */
	const char *unless_cap; /* ... only when it does not */
	unsigned arches;	/* only on these (0: all) */
	unsigned not_arches;	/* never on these */
	int errno_ret;		/* 0: allow; else fail with this errno */
	const char *op;		/* one argument condition, or NULL */
	unsigned index;
	unsigned long long value;
};

#define NAMES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct rule rules[] = {
	{ .names = NAMES(
	      "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
	      "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
	      "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
	      "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
	      "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
	      "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	      "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
	      "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
	      "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64",
	      "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
	      "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
	      "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu",
	      "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
	      "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
	      "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
	      "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
	      "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
	      "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
	      "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
	      "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
	      "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup",
	      "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
	      "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat",
	      "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr",
	      "lstat", "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret",
	      "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall",
	      "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
	      "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
	      "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
	      "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
	      "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe",
	      "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64",
	      "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
	      "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
	      "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
	      "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
	      "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
	      "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	      "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
	      "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
	      "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
	      "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
	      "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
	      "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
	      "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
	      "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid",
	      "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
	      "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
	      "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat",
	      "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
	      "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64",
	      "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
	      "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
	      "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
	      "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
	      "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
	      "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
	      "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
	      "write", "writev") },
	{ .names = NAMES("process_vm_readv", "process_vm_writev", "ptrace") },
	{ .names = NAMES("socket"), .op = "SCMP_CMP_NE", .index = 0, .value = AF_VSOCK_NR },
	/* personality(2) only for the personas Docker allows: Linux, with or without
	 * UNAME26, and the query 0xffffffff. */
	{ .names = NAMES("personality"), .op = "SCMP_CMP_EQ", .index = 0, .value = 0x0 },
	{ .names = NAMES("personality"), .op = "SCMP_CMP_EQ", .index = 0, .value = 0x0008 },
	{ .names = NAMES("personality"), .op = "SCMP_CMP_EQ", .index = 0, .value = 0x20000 },
	{ .names = NAMES("personality"), .op = "SCMP_CMP_EQ", .index = 0, .value = 0x20008 },
	{ .names = NAMES("personality"), .op = "SCMP_CMP_EQ", .index = 0, .value = 0xffffffff },
	{ .names = NAMES("sync_file_range2", "swapcontext"), .arches = A_PPC64LE },
	{ .names = NAMES("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
			 "breakpoint", "cacheflush", "set_tls"),
	  .arches = A_ARM | A_ARM64 },
	{ .names = NAMES("arch_prctl"), .arches = A_AMD64 | A_X32 },
	{ .names = NAMES("modify_ldt"), .arches = A_AMD64 | A_X32 | A_X86 },
	{ .names = NAMES("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
	  .arches = A_S390 | A_S390X },
	{ .names = NAMES("riscv_flush_icache"), .arches = A_RISCV64 },
	{ .names = NAMES("open_by_handle_at"), .needs_cap = "CAP_DAC_READ_SEARCH" },
	{ .names = NAMES("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
			 "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount",
			 "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
			 "sethostname", "setns", "syslog", "umount", "umount2", "unshare"),
	  .needs_cap = "CAP_SYS_ADMIN" },
	/* clone without namespace flags; s390 has the flags in the second argument. */
	{ .names = NAMES("clone"),
	  .unless_cap = "CAP_SYS_ADMIN",
	  .not_arches = A_S390 | A_S390X,
	  .op = "SCMP_CMP_MASKED_EQ",
	  .index = 0,
	  .value = CLONE_NS_FLAGS },
	{ .names = NAMES("clone"),
	  .unless_cap = "CAP_SYS_ADMIN",
	  .arches = A_S390 | A_S390X,
	  .op = "SCMP_CMP_MASKED_EQ",
	  .index = 1,
	  .value = CLONE_NS_FLAGS },
	{ .names = NAMES("clone3"), .unless_cap = "CAP_SYS_ADMIN", .errno_ret = ENOSYS },
	{ .names = NAMES("reboot"), .needs_cap = "CAP_SYS_BOOT" },
	{ .names = NAMES("chroot"), .needs_cap = "CAP_SYS_CHROOT" },
	{ .names = NAMES("delete_module", "init_module", "finit_module"),
	  .needs_cap = "CAP_SYS_MODULE" },
	{ .names = NAMES("acct"), .needs_cap = "CAP_SYS_PACCT" },
	{ .names = NAMES("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
			 "process_vm_writev", "ptrace"),
	  .needs_cap = "CAP_SYS_PTRACE" },
	{ .names = NAMES("iopl", "ioperm"), .needs_cap = "CAP_SYS_RAWIO" },
	{ .names = NAMES("settimeofday", "stime", "clock_settime", "clock_settime64"),
	  .needs_cap = "CAP_SYS_TIME" },
	{ .names = NAMES("vhangup"), .needs_cap = "CAP_SYS_TTY_CONFIG" },
	{ .names = NAMES("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
	  .needs_cap = "CAP_SYS_NICE" },
	{ .names = NAMES("syslog"), .needs_cap = "CAP_SYSLOG" },
	{ .names = NAMES("bpf"), .needs_cap = "CAP_BPF" },
	{ .names = NAMES("perf_event_open"), .needs_cap = "CAP_PERFMON" },
};

static bool holds(const json_t *caps, const char *cap)
{
	for (size_t i = 0; i < json_array_size(caps); i++)
		if (!strcmp(json_string_value(json_array_get(caps, i)), cap))
			return true;
	return false;
}

json_t *st_runtime_seccomp_default(const json_t *caps)
{
	json_t *arches = json_array();
	for (const char *const *a = seccomp_arches; *a; a++)
		json_array_append_new(arches, json_string(*a));
	json_t *syscalls = json_array();
	for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++) {
		const struct rule *r = &rules[i];
		if ((r->arches && !(r->arches & HOST_ARCH)) || (r->not_arches & HOST_ARCH) ||
		    (r->needs_cap && !holds(caps, r->needs_cap)) ||
		    (r->unless_cap && holds(caps, r->unless_cap)))
			continue;
		json_t *names = json_array();
		for (const char *const *n = r->names; *n; n++)
			json_array_append_new(names, json_string(*n));
		json_t *s = json_pack("{s:o, s:s}", "names", names, "action",
				      r->errno_ret ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW");
		if (r->errno_ret)
			json_object_set_new(s, "errnoRet", json_integer(r->errno_ret));
		if (r->op) {
			/* MASKED_EQ: (arg & value) == valueTwo, here 0: none of the flags. */
			json_t *arg = json_pack("{s:I, s:I, s:I, s:s}", "index",
						(json_int_t)r->index, "value", (json_int_t)r->value,
						"valueTwo", (json_int_t)0, "op", r->op);
			json_object_set_new(s, "args", json_pack("[o]", arg));
		}
		json_array_append_new(syscalls, s);
	}
	return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO",
			 "defaultErrnoRet", EPERM, "architectures", arches, "syscalls", syscalls);
}
