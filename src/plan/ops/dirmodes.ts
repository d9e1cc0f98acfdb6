// Directory modes (after BenchExec's container mode), the pure part: validation, the default
// modes, tmpfs options, and which mode each mount point of the host gets.
//
// The stage copies the host's whole mount tree (privately) into the new root, then walks the
// mount points parents first and gives each the mode of its nearest configured ancestor:
//   hidden       an empty directory over it (from the sandbox's own tmpfs)
//   read-only    remounted read-only
//   overlay      an overlay whose writes land in the sandbox's tmpfs
//   full-access  left as it is: writes reach the host
import type { DirMode, DirModeEntry, DirModesOp } from "../types.ts";
import { PlanError, requireAbsolute, requireBool } from "../errors.ts";
import { isRelativeTo, normalizeAbsolute, parentOf, splitPath } from "../paths.ts";

export const DIR_MODES: readonly DirMode[] = ["hidden", "read-only", "overlay", "full-access"];

/** The CLI option of each mode. */
export const DIR_MODE_OPTIONS: Readonly<Record<DirMode, string>> = {
  hidden: "--hidden-dir", "read-only": "--read-only-dir", overlay: "--overlay-dir", "full-access": "--full-access-dir",
};

/** Directories that get a writable tmpfs of their own (POSIX shared memory) unless configured. */
export const SHM_DIRS: readonly string[] = ["/dev/shm", "/run/shm"];

/** Default size of the tmpfs holding overlay writes: all of memory, like BenchExec. */
export const DEFAULT_TMPFS_SIZE = "100%";

// tmpfs's own syntax: bytes with an optional binary suffix, or a percentage of memory.
const SIZE_RE = /^(?:[1-9][0-9]*[kKmMgGtTpPeE]?|[1-9][0-9]*%)$/;
// The kernel's node list syntax: "0", "0-3", "0,2-3".
const NODES_RE = /^[0-9]+(?:-[0-9]+)?(?:,[0-9]+(?:-[0-9]+)?)*$/;

/** Why `size` is not a tmpfs size, or null when it is one. */
export function checkTmpfsSize(size: unknown): string | null {
  if (typeof size !== "string" || !SIZE_RE.test(size)) {
    return `invalid size ${JSON.stringify(size)}; give bytes with an optional k, m, g suffix (e.g. 512m) or a percentage of memory (e.g. 50%)`;
  }
  return null;
}

/** Why `nodes` is not a NUMA node list, or null when it is one. */
export function checkNumaNodes(nodes: unknown): string | null {
  const bad = `invalid NUMA node list ${JSON.stringify(nodes)}; give node numbers and ranges like 0, 0-1 or 0,2-3`;
  if (typeof nodes !== "string" || !NODES_RE.test(nodes)) return bad;
  for (const part of nodes.split(",")) {
    const [a, b] = part.split("-").map(Number);
    if (b !== undefined && b < a!) return `${bad} (range ${part} runs backwards)`;
  }
  return null;
}

/** Options of the tmpfs that holds overlay writes, hidden directories and /dev/shm. */
export function dirModesTmpfsOptions(op: Pick<DirModesOp, "tmpfsSize" | "tmpfsNuma">): string {
  return [`size=${op.tmpfsSize ?? DEFAULT_TMPFS_SIZE}`, op.tmpfsNuma !== undefined ? `mpol=bind:${op.tmpfsNuma}` : ""].filter(Boolean).join(",");
}

export function validateDirModes(op: DirModesOp, field: string): void {
  if (!Array.isArray(op.modes) || op.modes.length === 0) {
    throw new PlanError(`${field}.modes`, "directory modes need at least one directory (e.g. --overlay-dir / or dirMode(\"/\", \"overlay\"))");
  }
  const seen = new Map<string, DirMode>();
  op.modes.forEach((m, i) => {
    const f = `${field}.modes[${i}]`;
    if (typeof m !== "object" || m === null) throw new PlanError(f, "must be an object { dir, mode }");
    requireAbsolute(`${f}.dir`, m.dir);
    if (!DIR_MODES.includes(m.mode)) throw new PlanError(`${f}.mode`, `unknown directory mode ${JSON.stringify(m.mode)} (known: ${DIR_MODES.join(", ")})`);
    if (m.optional !== undefined) requireBool(`${f}.optional`, m.optional);
    const dir = normalizeAbsolute(m.dir);
    const before = seen.get(dir);
    if (before !== undefined && before !== m.mode) throw new PlanError(`${f}.mode`, `${dir} is given two modes (${before} and ${m.mode}); give one`);
    seen.set(dir, m.mode);
  });
  if (op.tmpfsSize !== undefined) {
    const why = checkTmpfsSize(op.tmpfsSize);
    if (why) throw new PlanError(`${field}.tmpfsSize`, why);
  }
  if (op.tmpfsNuma !== undefined) {
    const why = checkNumaNodes(op.tmpfsNuma);
    if (why) throw new PlanError(`${field}.tmpfsNuma`, why);
  }
  if (op.outputDir !== undefined) requireAbsolute(`${field}.outputDir`, op.outputDir);
}

/** The configured modes by normalised directory, with the defaults when "/" has none. */
export function effectiveDirModes(modes: readonly DirModeEntry[]): Map<string, DirMode> {
  const out = new Map<string, DirMode>();
  for (const m of modes) out.set(normalizeAbsolute(m.dir), m.mode);
  if (!out.has("/")) {
    out.set("/", "overlay");
    if (!out.has("/run")) out.set("/run", "hidden");
    if (!out.has("/tmp")) out.set("/tmp", "hidden");
  }
  return out;
}

export function describeDirModes(op: DirModesOp): string {
  const modes = [...effectiveDirModes(op.modes)].sort((a, b) => comparePaths(a[0], b[0])).map(([d, m]) => `${d} ${m}`);
  const extra = [`tmpfs ${dirModesTmpfsOptions(op)}`, op.outputDir !== undefined ? `output to ${op.outputDir}` : ""].filter(Boolean);
  return `dirmodes ${modes.join(", ")} (${extra.join("; ")})`;
}

/** Parents before children: by path components. */
export function comparePaths(a: string, b: string): number {
  const x = splitPath(a);
  const y = splitPath(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

// ---- which mode each mount point gets -----------------------------------------------------

/** A mount point of the host, from its mountinfo. */
export interface HostMount {
  path: string;
  fstype: string;
  /** Per-mount options (mountinfo field 6), repeated when remounting in a user namespace. */
  options: string;
}

export interface DirModeAction {
  path: string;
  mode: DirMode;
  /** A host mount point; false for a configured directory (or a hidden unenterable one) inside a mount. */
  mountPoint: boolean;
  /** Filesystem type of the mount that holds `path`. */
  fstype: string;
  /** Options of that mount. */
  options: string;
  /** Set when the mode is not the configured one: why. */
  reason?: string;
}

export interface DirModesResolution {
  /** Parents first. */
  actions: DirModeAction[];
  /** SHM_DIRS that are not configured: each gets a writable tmpfs when it is a directory in the sandbox. */
  shm: string[];
}

// Filesystems an overlay cannot use as its lower layer (or makes no sense on): read-only instead.
const NO_OVERLAY_FS = new Set(["sysfs", "cgroup", "cgroup2", "autofs", "vfat", "msdos", "exfat", "ntfs", "ntfs3", "fuse", "fuseblk"]);
// Trees where an overlay makes no sense (device nodes, kernel objects): read-only instead.
const NO_OVERLAY_TREES = ["/dev", "/sys"];

export interface Downgrade {
  mode: DirMode;
  reason: string;
}

/** What an overlay becomes on this mount when it is impossible there, or null. */
export function overlayDowngrade(path: string, fstype: string): Downgrade | null {
  for (const t of NO_OVERLAY_TREES) if (isRelativeTo(path, t)) return { mode: "read-only", reason: `overlay impossible under ${t}` };
  // A procfs stays writable (like --proc binds it): /proc/self/uid_map, oom_score_adj, ... must
  // work, e.g. for a nested sandbox; a read-only procfs protects nothing from a root command.
  if (fstype === "proc") return { mode: "full-access", reason: "overlay impossible on proc; the host's procfs as --proc binds it" };
  if (NO_OVERLAY_FS.has(fstype) || fstype.startsWith("fuse.")) return { mode: "read-only", reason: `overlay impossible on ${fstype}` };
  return null;
}

export interface ResolveInput {
  /** The host's mount points in mountinfo order (a later entry at the same path is on top). */
  mounts: readonly HostMount[];
  /** Directory -> mode, defaults included (effectiveDirModes), only directories that exist. */
  modes: ReadonlyMap<string, DirMode>;
  /** The explicitly configured directories (for the /dev/shm rule). */
  configured: ReadonlySet<string>;
  /** Whether the caller may enter (search) this directory; default: always. */
  canEnter?: (dir: string) => boolean;
}

/** The mount that holds `path` (the deepest mount point at or above it). */
function holder(mounts: ReadonlyMap<string, HostMount>, path: string): HostMount | undefined {
  for (let p = path; ; p = parentOf(p)) {
    const m = mounts.get(p);
    if (m || p === "/") return m;
  }
}

/** Nearest configured ancestor (or the path itself). */
function nearestMode(modes: ReadonlyMap<string, DirMode>, path: string): DirMode | undefined {
  for (let p = path; ; p = parentOf(p)) {
    const m = modes.get(p);
    if (m !== undefined || p === "/") return m;
  }
}

/**
 * The mode of every mount point of the host and of every configured directory, parents first:
 *  - nearest configured ancestor wins;
 *  - overlay is impossible under /dev and /sys and on sysfs, cgroup, autofs, vfat, ntfs and fuse
 *    filesystems: read-only instead; on a procfs: full-access (with the reason);
 *  - mount points below /proc come with /proc and are not touched;
 *  - a mount point whose parent the caller cannot enter makes the topmost such directory hidden;
 *  - a hidden entry inside a hidden directory is skipped (it is hidden already).
 */
export function resolveDirModes(input: ResolveInput): DirModesResolution {
  const canEnter = input.canEnter ?? (() => true);
  const mounts = new Map<string, HostMount>();
  for (const m of input.mounts) mounts.set(normalizeAbsolute(m.path), m);
  const paths = new Set<string>([...mounts.keys(), ...input.modes.keys()]);
  // Entries below /proc belong to the procfs they sit on.
  for (const p of paths) if (p !== "/proc" && isRelativeTo(p, "/proc")) paths.delete(p);

  // A mount point in a directory the caller cannot enter: hide the topmost such directory.
  const forced = new Map<string, string>();
  for (const p of [...paths]) {
    if (p === "/" || canEnter(parentOf(p))) continue;
    let d = parentOf(p);
    while (d !== "/" && !canEnter(parentOf(d))) d = parentOf(d);
    paths.delete(p);
    if (d === "/") continue;
    if (!forced.has(d)) forced.set(d, `the caller cannot enter ${d}`);
    paths.add(d);
  }

  const sorted = [...paths].sort(comparePaths);
  const emitted: DirModeAction[] = [];
  const byPath = new Map<string, DirModeAction>();
  for (const path of sorted) {
    // Below a forced-hidden directory nothing else is reachable.
    if (!forced.has(path) && [...forced.keys()].some((d) => d !== path && isRelativeTo(path, d))) continue;
    const m = mounts.get(path);
    const hold = m ?? holder(mounts, path);
    const fstype = hold?.fstype ?? "";
    const options = hold?.options ?? "";
    let mode = nearestMode(input.modes, path) ?? "overlay";
    let reason: string | undefined = forced.get(path);
    if (reason) mode = "hidden";
    if (mode === "overlay") {
      const d = overlayDowngrade(path, fstype);
      if (d) {
        mode = d.mode;
        reason = d.reason;
      }
    }
    // Skip what is hidden already: the nearest emitted ancestor is hidden and so is this.
    let above: DirModeAction | undefined;
    for (let p = path; p !== "/"; ) {
      p = parentOf(p);
      above = byPath.get(p);
      if (above) break;
    }
    if (mode === "hidden" && above?.mode === "hidden") continue;
    const action: DirModeAction = { path, mode, mountPoint: m !== undefined, fstype, options };
    if (reason) action.reason = reason;
    emitted.push(action);
    byPath.set(path, action);
  }
  const shm = SHM_DIRS.filter((d) => !input.configured.has(d));
  return { actions: emitted, shm };
}

/**
 * While the stage applies the actions: which host mounts of the copy are still reachable. An
 * overlay or a hidden directory covers the copied mounts below it; those are bound again.
 */
export class Coverage {
  private readonly covered = new Map<string, boolean>();

  record(path: string, covers: boolean): void {
    this.covered.set(path, covers);
  }

  /** Whether the copy of the host mount at `path` is still visible (no covering action above it). */
  reachable(path: string): boolean {
    for (let p = path; p !== "/"; ) {
      p = parentOf(p);
      const c = this.covered.get(p);
      if (c !== undefined) return !c;
    }
    return true;
  }
}

/**
 * An overlay of `dir` failed because host mounts below it are locked (a user namespace cannot
 * overlay them): the subdirectories to overlay one by one instead. Subdirectories holding mount
 * points are descended into; `handled` (mount points, configured directories) are left to their
 * own actions. `listDirs` returns the names of the subdirectories (not symlinks), or null when
 * the directory cannot be read.
 */
export function planOverlaySplit(dir: string, mountPoints: readonly string[], handled: ReadonlySet<string>, listDirs: (dir: string) => string[] | null): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    const names = listDirs(d);
    if (names === null) return;
    for (const name of [...names].sort()) {
      const c = d === "/" ? `/${name}` : `${d}/${name}`;
      if (handled.has(c) || mountPoints.includes(c)) continue;
      if (mountPoints.some((m) => m !== c && isRelativeTo(m, c))) walk(c);
      else out.push(c);
    }
  };
  walk(dir);
  return out;
}
