// Syscall numbers for the two architectures we support. The mount-API and pidfd era calls
// (424 and up) share one number on every architecture; the older ones differ.

export type Arch = "x86_64" | "aarch64";

export const SYSCALLS = {
  x86_64: {
    read: 0, write: 1, close: 3, msync: 26, getpid: 39, fork: 57, kill: 62, fsync: 74, fdatasync: 75,
    chown: 92, fchown: 93, lchown: 94, capget: 125, capset: 126, pivot_root: 155, prctl: 157,
    chroot: 161, sync: 162, mount: 165, umount2: 166, sethostname: 170, fchownat: 260, unshare: 272,
    sync_file_range: 277, syncfs: 306, setns: 308, seccomp: 317, keyctl: 250, close_range: 436,
    pidfd_send_signal: 424, open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432,
    fspick: 433, pidfd_open: 434, clone3: 435, openat2: 437, mount_setattr: 442,
    statx: 332, getdents64: 217, readlinkat: 267, mkdirat: 258, symlinkat: 266, unlinkat: 263, fchmodat: 268,
    signalfd4: 289, memfd_create: 319, openat: 257, faccessat: 269, fchmod: 91,
    execve: 59, exit_group: 231, rt_sigaction: 13, rt_sigprocmask: 14, dup3: 292, setsid: 112, ioctl: 16,
    socket: 41, clone: 56, ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, io_uring_setup: 425,
    io_uring_enter: 426, io_uring_register: 427, bpf: 321, perf_event_open: 298, userfaultfd: 323,
    add_key: 248, request_key: 249, kexec_load: 246, kexec_file_load: 320, init_module: 175,
    finit_module: 313, delete_module: 176, open_by_handle_at: 304, name_to_handle_at: 303, personality: 135,
    acct: 163, swapon: 167, swapoff: 168, reboot: 169, settimeofday: 164, clock_settime: 227,
    clock_adjtime: 305, adjtimex: 159, quotactl: 179, quotactl_fd: 443, iopl: 172, ioperm: 173, uselib: 134,
    ustat: 136, sysfs: 139, lookup_dcookie: 212, kcmp: 312, syslog: 103, vhangup: 153, nfsservctl: 180,
    _sysctl: 156, create_module: 174, get_kernel_syms: 177, query_module: 178, fanotify_init: 300,
    pidfd_getfd: 438, process_madvise: 440, landlock_create_ruleset: 444, landlock_add_rule: 445,
    landlock_restrict_self: 446, open_tree_attr: 467,
    shmget: 29, shmat: 30, shmctl: 31, semget: 64, semop: 65, semctl: 66, semtimedop: 220, msgget: 68,
    msgsnd: 69, msgrcv: 70, msgctl: 71, mq_open: 240, mq_unlink: 241, mq_timedsend: 242,
    mq_timedreceive: 243, mq_notify: 244, mq_getsetattr: 245, prlimit64: 302,
    sendto: 44, sendmsg: 46, sendmmsg: 307, getsockname: 51,
  },
  aarch64: {
    read: 63, write: 64, close: 57, msync: 227, getpid: 172, kill: 129, fsync: 82, fdatasync: 83,
    fchown: 55, capget: 90, capset: 91, pivot_root: 41, prctl: 167, chroot: 51, sync: 81, mount: 40,
    umount2: 39, sethostname: 161, fchownat: 54, unshare: 97, sync_file_range: 84, syncfs: 267,
    setns: 268, seccomp: 277, keyctl: 219, close_range: 436, pidfd_send_signal: 424, open_tree: 428,
    move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, pidfd_open: 434,
    clone3: 435, openat2: 437, mount_setattr: 442,
    statx: 291, getdents64: 61, readlinkat: 78, mkdirat: 34, symlinkat: 36, unlinkat: 35, fchmodat: 53,
    signalfd4: 74, memfd_create: 279, openat: 56, faccessat: 48, fchmod: 52,
    execve: 221, exit_group: 94, rt_sigaction: 134, rt_sigprocmask: 135, dup3: 24, setsid: 157, ioctl: 29,
    socket: 198, clone: 220, ptrace: 117, process_vm_readv: 270, process_vm_writev: 271, io_uring_setup: 425,
    io_uring_enter: 426, io_uring_register: 427, bpf: 280, perf_event_open: 241, userfaultfd: 282,
    add_key: 217, request_key: 218, kexec_load: 104, kexec_file_load: 294, init_module: 105,
    finit_module: 273, delete_module: 106, open_by_handle_at: 265, name_to_handle_at: 264, personality: 92,
    acct: 89, swapon: 224, swapoff: 225, reboot: 142, settimeofday: 170, clock_settime: 112,
    clock_adjtime: 266, adjtimex: 171, quotactl: 60, quotactl_fd: 443, lookup_dcookie: 18, kcmp: 272,
    syslog: 116, vhangup: 58, nfsservctl: 42, fanotify_init: 262, pidfd_getfd: 438, process_madvise: 440,
    landlock_create_ruleset: 444, landlock_add_rule: 445, landlock_restrict_self: 446, open_tree_attr: 467,
    mq_open: 180, mq_unlink: 181, mq_timedsend: 182, mq_timedreceive: 183, mq_notify: 184, mq_getsetattr: 185,
    msgget: 186, msgctl: 187, msgrcv: 188, msgsnd: 189, semget: 190, semctl: 191, semtimedop: 192, semop: 193,
    shmget: 194, shmctl: 195, shmat: 196, prlimit64: 261,
    sendto: 206, sendmsg: 211, sendmmsg: 269, getsockname: 204,
  },
} as const satisfies Record<Arch, Record<string, number>>;

/** Names valid on at least one architecture. */
export type SyscallName = keyof (typeof SYSCALLS)["x86_64"] | keyof (typeof SYSCALLS)["aarch64"];

/** The machine we run on, or null for an architecture we have no numbers for. */
export function hostArch(): Arch | null {
  if (process.arch === "x64") return "x86_64";
  if (process.arch === "arm64") return "aarch64";
  return null;
}

/** Number of `name` on `arch`, or undefined when that architecture has no such call. */
export function syscallNumber(name: SyscallName, arch: Arch): number | undefined {
  const table = SYSCALLS[arch] as Record<string, number>;
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

// AUDIT_ARCH_* values seccomp reports in seccomp_data.arch.
export const AUDIT_ARCH = { x86_64: 0xc000003e, aarch64: 0xc00000b7 } as const;
