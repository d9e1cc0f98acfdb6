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
