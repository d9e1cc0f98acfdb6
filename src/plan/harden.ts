// The hardened mode's seccomp policy as data: which syscalls the command is refused, when,
// with which errno, and why (docs/threat-model.md lists the reasons). No syscalls here; the stage
// compiles these rules with src/sys/seccomp.ts.
import type { ArgCondition, SeccompRule } from "../sys/seccomp.ts";
import type { SyscallName } from "../sys/numbers.ts";
import { CLONE } from "../sys/flags.ts";
import { Errno } from "../sys/errno.ts";
import type { Plan } from "./types.ts";

export interface HardenEntry {
  syscall: SyscallName;
  errno: number;
  reason: string;
  /** Refused when all conditions of any one case hold; without cases, always refused. */
  cases?: readonly (readonly ArgCondition[])[];
}

/**
 * The namespace flags clone() can take. CLONE_NEWTIME (0x80) is not among them: in clone()'s
 * flags the low byte is the exit signal, so that bit means signal 128, not a time namespace.
 */
export const CLONE_NEW_FLAGS = [CLONE.NEWNS, CLONE.NEWCGROUP, CLONE.NEWUTS, CLONE.NEWIPC, CLONE.NEWUSER, CLONE.NEWPID, CLONE.NEWNET] as const;

export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;

/** "bit `bit` of argument `arg` is set", as a masked-eq condition. */
const bitSet = (arg: ArgCondition["arg"], bit: number): ArgCondition => ({ arg, op: "masked-eq", mask: BigInt(bit), value: BigInt(bit) });

/** The kernel reads ioctl's request as 32 bits, so only the low word is compared (high bits set must not slip by). */
const ioctlRequest = (request: number): ArgCondition[] => [{ arg: 1, op: "masked-eq", mask: 0xffffffffn, value: BigInt(request) }];

/**
 * personality(2) takes an unsigned int: allowed are 0 (PER_LINUX) and 0xffffffff (the query),
 * the two 32-bit words whose bits are all equal. A word is not all-equal exactly when, going
 * round its 32 bits, some set bit is followed by a clear one: one case per position. (Two `ne`
 * conditions on one argument would say the same, but libseccomp cannot compile that.)
 */
function personalityCases(): ArgCondition[][] {
  return Array.from({ length: 32 }, (_, i) => {
    const set = 1n << BigInt(i);
    const clear = 1n << BigInt((i + 1) % 32);
    return [{ arg: 0, op: "masked-eq", mask: set | clear, value: set }];
  });
}

const EPERM = Errno.EPERM;
const ENOSYS = Errno.ENOSYS;

const always = (reason: string, ...names: SyscallName[]): HardenEntry[] => names.map((syscall) => ({ syscall, errno: EPERM, reason }));

const MOUNTS = "changes mounts, which could undo what the sandbox made read-only or hid";
const CLOCK = "sets the clock";
const MODULES = "loads or unloads kernel code";
const KEYRINGS = "kernel keyrings are not namespaced";
const IO_URING = "io_uring performs I/O that seccomp never sees, and is a large attack surface";
const CLONE3_REASON = "its flags lie in memory seccomp cannot read; ENOSYS makes libc fall back to clone, whose flags are checked";

let hardenEntries: readonly HardenEntry[] | undefined;

/** The hardened mode's refused calls, each with its reason; built on first use (not at every CLI start). */
export function hardenTable(): readonly HardenEntry[] {
  return (hardenEntries ??= buildHardenTable());
}

const buildHardenTable = (): HardenEntry[] => [
  ...always("reads and writes other processes", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "process_madvise"),
  ...always(IO_URING, "io_uring_setup", "io_uring_enter", "io_uring_register"),
  ...always("loads programs into the kernel", "bpf"),
  ...always("observes the kernel and other processes; a large attack surface", "perf_event_open"),
  ...always("lets a process stall kernel memory accesses, a common exploit aid", "userfaultfd"),
  ...always(KEYRINGS, "keyctl", "add_key", "request_key"),
  ...always("replaces the running kernel", "kexec_load", "kexec_file_load"),
  ...always(MODULES, "init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms", "query_module"),
  ...always("opens files by handle, which reaches files outside the mount namespace", "open_by_handle_at"),
  ...always("makes the handles open_by_handle_at takes", "name_to_handle_at"),
  { syscall: "personality", errno: EPERM, reason: "execution domains other than the default can turn off protections such as address randomisation", cases: personalityCases() },
  { syscall: "ioctl", errno: EPERM, reason: "TIOCSTI types into the terminal, running commands outside the sandbox", cases: [ioctlRequest(TIOCSTI)] },
  { syscall: "ioctl", errno: EPERM, reason: "TIOCLINUX can paste into and read the Linux console", cases: [ioctlRequest(TIOCLINUX)] },
  ...always(MOUNTS, "mount", "umount2", "move_mount", "open_tree", "open_tree_attr", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "pivot_root"),
  ...always("makes new namespaces; a new user namespace gives back every capability", "unshare"),
  ...always("joins other namespaces", "setns"),
  { syscall: "clone", errno: EPERM, reason: "with a CLONE_NEW* flag it makes new namespaces", cases: CLONE_NEW_FLAGS.map((f) => [bitSet(0, f)]) },
  { syscall: "clone3", errno: ENOSYS, reason: CLONE3_REASON },
  ...always("turns process accounting on or off for the host", "acct"),
  ...always("changes the host's swap", "swapon", "swapoff"),
  ...always("reboots or halts the machine", "reboot"),
  ...always(CLOCK, "settimeofday", "clock_settime", "clock_adjtime", "adjtimex"),
  ...always("manages filesystem quotas", "quotactl", "quotactl_fd"),
  ...always("gives raw access to I/O ports", "iopl", "ioperm"),
  ...always("obsolete; not needed by a build", "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl"),
  ...always("profiling interface that reveals host paths", "lookup_dcookie"),
  ...always("compares kernel state of other processes", "kcmp"),
  ...always("reads and clears the kernel log", "syslog"),
  ...always("hangs up the terminal", "vhangup"),
  ...always("watches whole filesystems and mounts", "fanotify_init"),
];

function toRules(entries: readonly HardenEntry[]): SeccompRule[] {
  return entries.flatMap(({ syscall, errno, cases }) =>
    cases === undefined ? [{ syscall, errno }] : cases.map((c) => ({ syscall, errno, when: c.map((cond) => ({ ...cond })) })),
  );
}

/** The hardened mode's filter rules. */
export function hardenRules(): SeccompRule[] {
  return toRules(hardenTable());
}

/** --disable-userns on its own: no new user namespaces (bubblewrap's meaning). */
export const DISABLE_USERNS_RULES: readonly HardenEntry[] = [
  { syscall: "unshare", errno: EPERM, reason: "CLONE_NEWUSER makes a user namespace", cases: [[bitSet(0, CLONE.NEWUSER)]] },
  { syscall: "clone", errno: EPERM, reason: "CLONE_NEWUSER makes a user namespace", cases: [[bitSet(0, CLONE.NEWUSER)]] },
  { syscall: "clone3", errno: ENOSYS, reason: CLONE3_REASON },
];

export function disableUsernsRules(): SeccompRule[] {
  return toRules(DISABLE_USERNS_RULES);
}

/**
 * Where the plan made a place the command may write (Landlock grants every right beneath these
 * and only read and execute elsewhere): writable binds and placed files, directories it made,
 * tmpfs, /dev, /proc, mqueue, overlays with an upper layer, and the directory modes that write.
 */
export function writablePlaces(plan: Plan): string[] {
  const out: string[] = [];
  for (const op of plan.ops) {
    switch (op.kind) {
      case "bind":
      case "file":
        if (!op.readonly) out.push(op.dst);
        break;
      case "tmpfs":
        if (!op.readonly) out.push(op.dst);
        break;
      case "dir":
      case "dev":
      case "proc":
      case "mqueue":
        out.push(op.dst);
        break;
      case "overlay":
        if (op.upper !== null) out.push(op.dst);
        break;
      case "dirmodes":
        // Without a mode for "/", "/" is an overlay: writes land in the sandbox's tmpfs.
        if (!op.modes.some((m) => m.dir === "/")) out.push("/");
        for (const m of op.modes) if (m.mode !== "read-only") out.push(m.dir);
        // A procfs stays writable, and so do /dev/shm and /run/shm (see the directory modes).
        out.push("/proc", "/dev/shm", "/run/shm");
        break;
      default:
        break;
    }
  }
  return [...new Set(out)];
}
