// A plan is plain JSON data: everything the stage needs to build one sandbox and exec one
// command in it. Front doors (CLI, library) produce plans; the stage consumes them.

import { noLimits, type Limits } from "./limits.ts";

/** Bind a host path (or, with `relative`, a path of the new root) to `dst`. */
export interface BindOp {
  kind: "bind";
  src: string;
  dst: string;
  readonly: boolean;
  /** Skip silently when the source is missing (`--bind-try`). */
  optional: boolean;
  /** `+SRC`: the source is resolved inside the new root; applied after all other operations. */
  relative: boolean;
  /** Bind a symlink source itself instead of what it points to. */
  nofollow: boolean;
  /** false mounts it nodev; undefined keeps device nodes usable (mkosi-sandbox semantics). */
  device?: boolean;
}

export interface TmpfsOp {
  kind: "tmpfs";
  dst: string;
  /** Size in bytes; undefined leaves the kernel default (half of RAM). */
  size?: number;
  /** Mode of the root directory; default 0755, or 01777 under /tmp and /var/tmp. */
  mode?: number;
  /** Remount read-only after creation (an empty read-only tmpfs). */
  readonly?: boolean;
}

export interface DevOp {
  kind: "dev";
  dst: string;
  /** Host terminal to bind as /dev/console (when stderr was a terminal), else null. */
  console?: string | null;
  /** Mount a private mqueue on dst/mqueue (needs an IPC namespace). */
  mqueue?: boolean;
}

export interface ProcOp {
  kind: "proc";
  dst: string;
}

export interface DirOp {
  kind: "dir";
  dst: string;
  /** Mode for created directories; default 0755, or 01777 for the last component under /tmp, /var/tmp. */
  mode?: number;
}

export interface SymlinkOp {
  kind: "symlink";
  /** What the link points to; with `dereference`, an absolute host path of a symlink whose target is used. */
  target: string;
  dst: string;
  /** Read the target from the host symlink `target` in the early (host-side) phase. */
  dereference?: boolean;
}

export interface WriteOp {
  kind: "write";
  data: string;
  dst: string;
}

export interface OverlayOp {
  kind: "overlay";
  /** Lower layers, bottom first, as given on the command line. */
  lower: string[];
  /** Upper directory, "tmpfs" for a fresh tmpfs upper, or null for a read-only overlay. */
  upper: string | null;
  work: string | null;
  dst: string;
}

/** A private mqueue filesystem on dst (needs an IPC namespace). */
export interface MqueueOp {
  kind: "mqueue";
  dst: string;
}

/**
 * Changes the per-mount flags of the mount at dst (a mount point in the sandbox), after every
 * mount operation. `options` is a mount option string ("ro,nosuid,nodev"); "rec" applies it to
 * every mount below dst too. Flags not named are kept.
 */
export interface RemountOp {
  kind: "remount";
  dst: string;
  options: string;
}

/** A file with the given bytes, bound on dst (read-only unless `readonly` is false). */
export interface FileOp {
  kind: "file";
  dst: string;
  /** The file's contents, base64-encoded (plans are JSON). */
  base64: string;
  readonly: boolean;
  /** Mode of the file; default 0444 read-only, 0644 writable. */
  mode?: number;
}

/** chmod of a path in the sandbox, after every mount operation. */
export interface ChmodOp {
  kind: "chmod";
  dst: string;
  mode: number;
}

/** How a directory of the host appears in a sandbox built by directory modes (BenchExec's container mode). */
export type DirMode = "hidden" | "read-only" | "overlay" | "full-access";

export interface DirModeEntry {
  /** Absolute host path (the same path inside the sandbox). */
  dir: string;
  mode: DirMode;
  /** Skipped when missing on the host (the -try forms); otherwise a missing one is an error. */
  optional?: boolean;
}

/**
 * Directory modes: the new root starts as a private recursive copy of the host's mounts and
 * every mount point takes the mode of its nearest configured ancestor (see
 * src/plan/ops/dirmodes.ts). Applied before every other operation.
 */
export interface DirModesOp {
  kind: "dirmodes";
  /** Modes as configured; without one for "/", "/" is overlay and /run, /tmp are hidden. */
  modes: DirModeEntry[];
  /** tmpfs `size=` of the tmpfs that holds overlay writes and hidden directories (default "100%"). */
  tmpfsSize?: string;
  /** NUMA nodes for that tmpfs (`mpol=bind:NODES`), e.g. "0" or "0-1,3". */
  tmpfsNuma?: string;
  /** Host directory that receives the files written to overlay directories once the command has ended. */
  outputDir?: string;
}

export type Operation =
  | BindOp | TmpfsOp | DevOp | ProcOp | DirOp | SymlinkOp | WriteOp | OverlayOp
  | MqueueOp | RemountOp | FileOp | ChmodOp | DirModesOp;
export type OperationKind = Operation["kind"];

export interface Plan {
  /** The command and its arguments; argv[0] is searched in the sandbox's PATH. */
  argv: string[];
  /** The complete environment of the command. */
  env: Record<string, string>;
  /** Working directory inside the sandbox. */
  cwd: string;
  ops: Operation[];
  becomeRoot: boolean;
  mapSubids: boolean;
  unshareNet: boolean;
  unshareIpc: boolean;
  unsharePid: boolean;
  unshareUts: boolean;
  unshareCgroup: boolean;
  hostname: string | null;
  suppressChown: boolean;
  suppressSync: boolean;
  newSessionKeyring: boolean;
  newSession: boolean;
  dieWithParent: boolean;
  packFds: boolean;
  suspend: boolean;
  debug: boolean;
  /** fds above stderr passed to the command (numbers as the stage process sees them). */
  fds: number[];
  /**
   * Seal the sandbox (see src/stage/seal.ts): the command cannot change or remove the mounts it
   * was given. null: sealed when a user namespace is made (the CLI's default).
   */
  seal: boolean | null;
  /** For untrusted code: no capabilities, no_new_privs, the seccomp filter of src/plan/harden.ts, Landlock. */
  harden: boolean;
  /** No new user namespaces for the command (bubblewrap's --disable-userns). */
  disableUserns: boolean;
  /** --cap-add / --cap-drop in the order given (see src/plan/caps.ts). */
  capChanges: CapChange[];
  /**
   * What confines the command: "namespaces" (the default), "landlock" (no namespaces: Landlock,
   * seccomp and no_new_privs, see src/plan/landlock.ts) or "auto" (namespaces where they work).
   */
  confinement: "namespaces" | "landlock" | "auto";
  /** Memory, CPU time, wall time, processes and rlimits (see src/plan/limits.ts). */
  limits: Limits;
  /** --allow-host patterns: only these are reachable, through proxies of ours (needs unshareNet). */
  allowHosts: string[];
}

/** One --cap-add or --cap-drop: a capability's name ("sys_admin") or "all". */
export interface CapChange {
  add: boolean;
  cap: string;
}

export function emptyPlan(): Plan {
  return {
    argv: [], env: {}, cwd: "/", ops: [],
    becomeRoot: false, mapSubids: false, unshareNet: false, unshareIpc: false, unsharePid: false,
    unshareUts: false, unshareCgroup: false, hostname: null, suppressChown: false,
    suppressSync: false, newSessionKeyring: false, newSession: false, dieWithParent: false,
    packFds: false, suspend: false, debug: false, fds: [], seal: null, harden: false, disableUserns: false, capChanges: [], confinement: "namespaces",
    limits: noLimits(), allowHosts: [],
  };
}
