// How a plan translates under `--confinement landlock`: no namespaces, no mounts; Landlock rules,
// a seccomp filter and no_new_privs instead. Pure: the stage (src/stage/landlock.ts) resolves the
// paths, lists the directories a rule must be spread over, and restricts itself.
//
// Landlock only ever adds rights (a rule grants them to everything beneath its path), while a
// plan takes them away beneath a place (a --tmpfs under a --ro-bind). So where a place holds less
// than its parent, the parent's rights are given to each of its other entries instead of to the
// parent itself: see spreadRules().
import type { Operation, Plan } from "./types.ts";
import { effectiveDirModes, SHM_DIRS } from "./ops/dirmodes.ts";
import { normalizeAbsolute } from "./paths.ts";
import {
  describeMissing, LANDLOCK_ACCESS_FS, LANDLOCK_ACCESS_NET, LANDLOCK_ALL, LANDLOCK_SCOPE, type LandlockStatus, type LandlockWanted,
} from "../sys/landlock.ts";
import type { SeccompRule } from "../sys/seccomp.ts";
import type { SyscallName } from "../sys/numbers.ts";
import { Errno } from "../sys/errno.ts";
import { landlockNetRules } from "./landlock-net.ts";

export type Confinement = Plan["confinement"];
export const CONFINEMENTS: readonly Confinement[] = ["namespaces", "landlock", "auto"];

const FS = LANDLOCK_ACCESS_FS;
export const READ = FS.READ_FILE | FS.READ_DIR | FS.EXECUTE;
export const ALL = LANDLOCK_ALL.fs;
/** A device node of --dev: open, read, write, truncate (`> /dev/null`), ioctl. */
export const DEVICE = FS.READ_FILE | FS.WRITE_FILE | FS.TRUNCATE | FS.IOCTL_DEV;
/** The nodes --dev gives under landlock (beneath /dev). pts is a directory. */
export const STANDARD_DEVICES = ["null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts"] as const;
/** Device nodes left usable in a read-only place, as on a read-only mount (writes to devices pass there). */
export const READ_ONLY_DEVICES = ["null", "zero", "full", "random", "urandom", "tty"] as const;

/** What docs/landlock.md's table says, row by row (a test checks that the file has these rows). */
export const LANDLOCK_TABLE: readonly (readonly [string, string])[] = [
  ["`--ro-bind X X`", "read and execute beneath X"],
  ["`--bind X X`", "read and write"],
  ["`-try` forms", "skipped when X is missing"],
  ["`--tmpfs D`, `--hidden-dir D`", "no access beneath D (EACCES, not an empty directory); for `/tmp` or `/var/tmp`, `TMPDIR` points at a fresh private directory, removed afterwards"],
  ["`--dev /dev`", "the standard nodes only (null zero full random urandom tty, ptmx and pts), with `IOCTL_DEV` where ABI 5 has it"],
  ["`--proc /proc`", "read"],
  ["`--unshare-net`", "TCP bind/connect denied (ABI 4); seccomp refuses `socket()` of the IP, packet, VSOCK, SMC, RDS, TIPC and XDP families, and io_uring; abstract unix sockets scoped (ABI 6)"],
  ["`--allow-host P`", "the proxies listen on the host's `127.0.0.1` on two random ports, served from outside the Landlock domain; TCP connect allowed to those ports only, bind denied (ABI 4); seccomp refuses every other IP socket (UDP, SCTP, MPTCP, raw), TCP Fast Open and io_uring; abstract unix sockets scoped (ABI 6)"],
  ["`--unshare-ipc`", "abstract unix sockets scoped (ABI 6); SysV IPC and POSIX message queues refused by seccomp"],
  ["directory modes", "read-only → read; hidden → none; full-access → all; overlay → refused (with `auto`: read-only, with a `--debug` line)"],
  ["`--setenv`, `--unsetenv`, `--chdir`, `--same-dir`, `--suppress-*`, `--new-session-keyring`, `--pack-fds`, `--harden`, `--cap-*`, `--disable-userns`", "as with namespaces"],
  ["other binds, `--symlink`, `--write`, overlays, placed files, `--dir` of a missing directory, `--mqueue`, `--remount`, `--chmod`, `--become-root`, `--map-subids`, PID/UTS/cgroup namespaces", "refused: they need namespaces"],
];

/** Joins a directory and an entry name. */
const join = (dir: string, name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);
/** Whether `path` lies strictly beneath `dir`. */
const beneath = (path: string, dir: string) => dir === "/" ? path !== "/" : path.startsWith(`${dir}/`);

/** Rights on one path (canonical, absolute); later places replace what earlier ones gave beneath them. */
export interface Place {
  path: string;
  rights: bigint;
}

/** A Landlock feature the plan needs, and who asks for it. */
export interface Need {
  by: string;
  wanted: LandlockWanted;
}

export interface LandlockPlan {
  places: Place[];
  /** Where TMPDIR is made ("/tmp" or "/var/tmp") when one of them is hidden; null: no TMPDIR. */
  tmpdirIn: string | null;
  /** `--dir` destinations: they must exist already (nothing is created on the host). */
  dirs: string[];
  /** `-nofollow` bind sources: they must not be symlinks (a rule cannot be put on a link). */
  nofollow: string[];
  handledNet: bigint;
  /** --allow-host: the stage starts the proxies on the host's loopback and allows connect to their ports only. */
  proxied: boolean;
  /** Scopes the plan needs (their ABI is checked). */
  scoped: bigint;
  needs: Need[];
  /** Seccomp rules beyond the ones of --harden, --disable-userns and --suppress-*. */
  rules: SeccompRule[];
  /** For --debug: what was downgraded. */
  notes: string[];
}

/** A plan part with no Landlock form: the message names it; the stage adds why namespaces are out. */
export class NeedsNamespaces extends Error {
  constructor(readonly what: string) {
    super(`${what} needs namespaces`);
    this.name = "NeedsNamespaces";
  }
}

/** Every handled right but device ioctls needs ABI 3 (truncate) and 2 (rename across directories). */
export const BASE_NEED: Need = { by: "--confinement landlock", wanted: { fs: ALL & ~FS.IOCTL_DEV } };

const refuse = (what: string): never => {
  throw new NeedsNamespaces(what);
};

function bindName(op: Extract<Operation, { kind: "bind" }>): string {
  return `--${op.readonly ? "ro-" : ""}bind${op.optional ? "-try" : op.nofollow ? "-nofollow" : ""} ${op.relative ? "+" : ""}${op.src} ${op.dst}`;
}

const HIDDEN_TMP = ["/tmp", "/var/tmp"];

/** Rights of one operation at its destination (pushed to `lp`), or a refusal. */
function translateOperation(op: Operation, lp: LandlockPlan, auto: boolean): void {
  const place = (path: string, rights: bigint): void => {
    lp.places.push({ path: normalizeAbsolute(path), rights });
  };
  const hide = (path: string) => {
    place(path, 0n);
    if (HIDDEN_TMP.includes(normalizeAbsolute(path))) lp.tmpdirIn ??= normalizeAbsolute(path);
  };
  switch (op.kind) {
    case "bind":
      if (op.relative || normalizeAbsolute(op.src) !== normalizeAbsolute(op.dst)) refuse(`${bindName(op)} (a source other than its destination)`);
      if (op.device === false) refuse(`${bindName(op)} with device nodes off (nodev)`);
      if (op.nofollow) lp.nofollow.push(op.src);
      return place(op.dst, op.readonly ? READ : ALL);
    case "tmpfs":
      return hide(op.dst);
    case "dev":
      if (normalizeAbsolute(op.dst) !== "/dev") refuse(`--dev ${op.dst} (the host's devices are at /dev)`);
      if (op.mqueue) refuse(`dev(${op.dst}, { mqueue: true })`);
      place("/dev", 0n);
      for (const d of STANDARD_DEVICES) place(`/dev/${d}`, d === "pts" ? DEVICE | FS.READ_DIR : DEVICE);
      return;
    case "proc":
      if (normalizeAbsolute(op.dst) !== "/proc") refuse(`--proc ${op.dst} (the host's procfs is at /proc)`);
      return place("/proc", READ);
    case "dir":
      lp.dirs.push(op.dst);
      return;
    case "dirmodes":
      return translateDirModes(op, lp, auto, place, hide);
    case "symlink": return refuse(`--symlink ${op.target} ${op.dst}`);
    case "write": return refuse(`--write ... ${op.dst}`);
    case "overlay": return refuse(`--overlay ${op.dst}`);
    case "file": return refuse(`${op.readonly ? "--ro-bind-data" : "--bind-data"} ... ${op.dst} (a placed file)`);
    case "mqueue": return refuse(`--mqueue ${op.dst}`);
    case "remount": return refuse(`--remount ${op.options} ${op.dst}`);
    case "chmod": return refuse(`--chmod ${op.mode.toString(8)} ${op.dst}`);
  }
}

function translateDirModes(
  op: Extract<Operation, { kind: "dirmodes" }>, lp: LandlockPlan, auto: boolean,
  place: (path: string, rights: bigint) => void, hide: (path: string) => void,
): void {
  if (op.outputDir !== undefined) refuse(`--output-dir ${op.outputDir} (it copies overlay writes)`);
  const modes = [...effectiveDirModes(op.modes)].sort((a, b) => a[0].split("/").length - b[0].split("/").length);
  for (const [dir, mode] of modes) {
    if (mode === "overlay") {
      if (!auto) refuse(`--overlay-dir ${dir}`);
      lp.notes.push(`--overlay-dir ${dir}: read-only under landlock (an overlay needs a mount)`);
      place(dir, READ);
    } else if (mode === "hidden") hide(dir);
    else place(dir, mode === "read-only" ? READ : ALL);
  }
  // Directory modes give the sandbox its own /dev/shm; the host's is not shared.
  for (const d of SHM_DIRS) place(d, 0n);
}

const EPERM = Errno.EPERM;

/** --unshare-ipc: SysV IPC objects and POSIX message queues are shared with the host without an IPC namespace. */
export const IPC_SYSCALLS: readonly SyscallName[] = [
  "shmget", "shmat", "shmctl", "semget", "semop", "semtimedop", "semctl", "msgget", "msgsnd", "msgrcv", "msgctl",
  "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
];

/** The namespace-only flags of a plan, each refused by name. */
function refuseNamespaceFlags(plan: Plan): void {
  if (plan.mapSubids) refuse("--map-subids");
  if (plan.becomeRoot) refuse("--become-root");
  if (plan.unsharePid) refuse("a PID namespace (unsharePid())");
  if (plan.unshareUts || plan.hostname !== null) refuse("a UTS namespace (unshareUts(), hostname())");
  if (plan.unshareCgroup) refuse("a cgroup namespace (unshareCgroup())");
}

/**
 * The Landlock form of `plan` whose operations `ops` have been through the optimiser and the
 * early phase (missing -try sources dropped). `auto`: downgrade what can be (overlay
 * directories to read-only) instead of refusing. Throws NeedsNamespaces.
 */
export function translateForLandlock(plan: Plan, ops: readonly Operation[], auto: boolean): LandlockPlan {
  refuseNamespaceFlags(plan);
  const lp: LandlockPlan = { places: [], tmpdirIn: null, dirs: [], nofollow: [], handledNet: 0n, proxied: false, scoped: 0n, needs: [BASE_NEED], rules: [], notes: [] };
  for (const op of ops) translateOperation(op, lp, auto);
  if (plan.unshareNet) {
    lp.proxied = plan.allowHosts.length > 0;
    lp.handledNet = LANDLOCK_ACCESS_NET.BIND_TCP | LANDLOCK_ACCESS_NET.CONNECT_TCP;
    lp.scoped |= LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET;
    lp.needs.push({ by: lp.proxied ? "--allow-host" : "--unshare-net", wanted: { net: lp.handledNet, scoped: LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET } });
    lp.rules.push(...landlockNetRules(lp.proxied ? "proxy" : "none"));
  }
  if (plan.unshareIpc) {
    lp.scoped |= LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET;
    lp.needs.push({ by: "--unshare-ipc", wanted: { scoped: LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET } });
    lp.rules.push(...IPC_SYSCALLS.map((syscall) => ({ syscall, errno: EPERM })));
  }
  keepDevicesWritable(lp);
  return lp;
}

/** The rights the last place at or above `path` gives it (names only: before paths are resolved). */
function rightsAt(places: readonly Place[], path: string): bigint {
  for (let i = places.length - 1; i >= 0; i--) {
    const p = places[i]!;
    if (p.path === path || beneath(path, p.path)) return p.rights;
  }
  return 0n;
}

/** Writing to a device node passes on a read-only mount, and tools write to /dev/null: so here too. */
function keepDevicesWritable(lp: LandlockPlan): void {
  for (const d of READ_ONLY_DEVICES) {
    const path = `/dev/${d}`;
    const r = rightsAt(lp.places, path);
    if (r & FS.READ_FILE && !(r & FS.WRITE_FILE)) lp.places.push({ path, rights: r | DEVICE });
  }
}

/**
 * What this kernel lacks for the plan, one line each naming who needs it ("--unshare-net: TCP
 * connect control needs Landlock ABI 4 (Linux 6.7); this kernel has ABI 3"); empty when it can
 * be enforced in full.
 */
export function landlockShortfall(needs: readonly Need[], status: LandlockStatus): string[] {
  if (status.abi < 1) return describeMissing(status, { fs: FS.READ_FILE });
  return needs.flatMap((n) => describeMissing(status, n.wanted).map((line) => `${n.by}: ${line}`));
}

/** Scopes applied where the kernel has them, needed or not: no signals to processes outside. */
export const ALWAYS_SCOPED = LANDLOCK_SCOPE.SIGNAL;


/** A path rule to add. */
export interface PathRule {
  path: string;
  rights: bigint;
  /** An entry found by listing a directory (open it without following a symlink). */
  listed: boolean;
}

/**
 * The rules that give each place exactly its rights (canonical paths, in plan order). `list`
 * names the entries of a directory that a rule may go on (no symlinks: a lookup follows them
 * to where their target is checked), or null when it cannot be listed. A place with rights
 * below its parent's makes the parent's rights go to each of the parent's other entries; the
 * parent itself keeps only what every place beneath it has (so `ls /` fails when /tmp is hidden).
 */
export function spreadRules(places: readonly Place[], list: (dir: string) => string[] | null): PathRule[] {
  const final = new Map<string, bigint>();
  for (const p of places) {
    for (const k of [...final.keys()]) if (beneath(k, p.path)) final.delete(k);
    final.set(p.path, p.rights);
  }
  if (!final.has("/")) final.set("/", 0n);
  const out: PathRule[] = [];
  const emit = (path: string, want: bigint, granted: bigint, listed: boolean): void => {
    const below = [...final.entries()].filter(([k]) => beneath(k, path));
    const need = want & ~granted;
    const allowed = below.reduce((m, [, r]) => m & r, need);
    if (allowed) out.push({ path, rights: allowed, listed });
    const have = granted | allowed;
    if (below.length === 0) return;
    const top = below.filter(([k]) => !below.some(([o]) => beneath(k, o)));
    if ((want & ~have) === 0n) {
      for (const [k, r] of top) emit(k, r, have, false);
      return;
    }
    for (const name of list(path) ?? []) {
      const entry = join(path, name);
      const holds = top.some(([k]) => k === entry || beneath(k, entry));
      if (holds) emit(entry, final.get(entry) ?? want, have, !final.has(entry));
      else if (want & ~have) out.push({ path: entry, rights: want & ~have, listed: true });
    }
  };
  emit("/", final.get("/")!, 0n, false);
  return out;
}
