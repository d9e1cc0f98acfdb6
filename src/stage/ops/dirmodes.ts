// Directory modes, the kernel part. Before unshare (as the caller, on the host): read the host's
// mounts, resolve the modes, open the output directory. In the workspace: a tmpfs for overlay
// writes and hidden directories, a private recursive copy of the host's mounts as the new root,
// then one action per mount point, /dev/shm, and lxcfs over /proc.
import {
  access, createFile, lstat, lchown, mkdir, mkdirAt, openAt, R_OK, readdir, readdirFd, readText, stat, statAtFd, statOrThrow, X_OK, DT,
  type FileStat,
} from "../../sys/fs.ts";
import { closeQuiet, open } from "../../sys/fd.ts";
import { mount, statfsType, FS_MAGIC } from "../../sys/mount.ts";
import { MS, O } from "../../sys/flags.ts";
import { SysError } from "../../sys/error.ts";
import { Errno } from "../../sys/errno.ts";
import type { DirMode, DirModesOp } from "../../plan/types.ts";
import {
  Coverage, DIR_MODE_OPTIONS, dirModesTmpfsOptions, effectiveDirModes, planOverlaySplit, resolveDirModes,
  type DirModeAction, type HostMount,
} from "../../plan/ops/dirmodes.ts";
import { overlayOptions } from "../../plan/ops/overlay.ts";
import { isRelativeTo, joinPath, normalizeAbsolute, splitPath } from "../../plan/paths.ts";
import { parseMountinfo, bindTree, pathOf, remountReadOnly } from "../mounts.ts";
import { using, withRoot } from "../context.ts";
import { atPlace, openPlace } from "../dest.ts";
import { resolveInRoot } from "../resolve.ts";
import { SetupError } from "../errors.ts";
import type { StageContext } from "../context.ts";

/** Where lxcfs keeps its /proc files; BUN_SANDBOX_LXCFS_PROC overrides it (tests use fake files). */
export const LXCFS_PROC_DIR = "/var/lib/lxcfs/proc";

/** An overlay made by the directory modes: its mount point and its upper directory in the writes tmpfs. */
export interface DirModesOverlay {
  path: string;
  /** Relative to the writes tmpfs. */
  upper: string;
}

/** What the host-side phase found, and what the workspace phase made (read by the output copy). */
export interface PreparedDirModes {
  actions: DirModeAction[];
  shm: string[];
  /** Every mount point of the host (a user namespace cannot overlay a directory with one below). */
  mountPoints: string[];
  /** Debug lines from the host-side phase. */
  notes: string[];
  outputDir: string | null;
  /** fd of the output directory's deepest existing ancestor (opened on the host), or -1. */
  outFd: number;
  /** Components of the output directory below that ancestor, made once the command has ended. */
  outMissing: string[];
  /** Mode for those (0777 less the caller's umask). */
  outMode: number;
  lxcfs: { dir: string; files: string[] } | null;
  /** fd of the writes tmpfs (only kept when there is an output directory), or -1. */
  writesFd: number;
  overlays: DirModesOverlay[];
}

function hostMounts(): HostMount[] {
  let text: string;
  try {
    text = readText("/proc/self/mountinfo");
  } catch (e) {
    throw new SetupError("read the host's mounts", e instanceof SysError ? new SysError("open", e.errno, "/proc/self/mountinfo", undefined, "directory modes need /proc mounted on the host") : e);
  }
  return parseMountinfo(text).map((m) => ({ path: m.mountPoint, fstype: m.fstype, options: m.options }));
}

/** Whether `real` (symlinks resolved) is on the host; one the caller cannot reach counts (it is there). */
function presentOnHost(real: string): boolean {
  try {
    statOrThrow(real, false);
    return true;
  } catch (e) {
    return e instanceof SysError && e.errno === Errno.EACCES;
  }
}

/** Whether the host has the directory-mode DIR `dir` (the CLI's check, made before parsing ends). */
export const dirOnHost = (dir: string): boolean => presentOnHost(resolveInRoot("/", dir, "/proc/self/fd"));

/**
 * Early phase, before anything is made: a configured directory missing on the host fails here
 * unless it is optional (a mistyped one would silently leave the real one as its parent's mode).
 */
export function earlyDirModes(op: DirModesOp): DirModesOp {
  const missing = op.modes.find((m) => !m.optional && !dirOnHost(m.dir));
  if (missing) {
    const option = DIR_MODE_OPTIONS[missing.mode];
    throw new Error(`${option} ${missing.dir}: does not exist on the host; create it, or make it optional (${option}-try, dirMode(dir, mode, { optional: true }))`);
  }
  return op;
}

/**
 * Host-side phase, before unshare, with the caller's own permissions: which mount point gets
 * which mode (configured directories are taken with symlinks resolved; missing optional and
 * default ones are dropped), whether the caller can enter the parents, the output directory
 * (created with the caller's umask), and lxcfs.
 */
export function prepareDirModes(op: DirModesOp, callerUmask: number): PreparedDirModes {
  const notes: string[] = [];
  const modes = new Map<string, DirMode>();
  const configured = new Set<string>();
  const explicit = new Set(op.modes.map((m) => normalizeAbsolute(m.dir)));
  for (const [dir, mode] of effectiveDirModes(op.modes)) {
    const real = resolveInRoot("/", dir, "/proc/self/fd");
    // One the caller cannot reach stays: its unenterable parent is hidden (resolveDirModes).
    if (!presentOnHost(real)) {
      notes.push(`dirmode ${dir}: does not exist on the host; ignored`);
      continue;
    }
    const before = modes.get(real);
    if (before !== undefined && before !== mode) {
      throw new SetupError("directory modes", `${dir} is ${real} (symlinks resolved), which already has mode ${before}; give one mode (${DIR_MODE_OPTIONS[mode]})`);
    }
    modes.set(real, mode);
    if (explicit.has(dir)) configured.add(real);
  }
  const mounts = hostMounts();
  const { actions, shm } = resolveDirModes({ mounts, modes, configured, canEnter: (d) => access(d, X_OK) });
  const prepared: PreparedDirModes = {
    actions, shm, mountPoints: [...new Set(mounts.map((m) => m.path))], notes, outputDir: op.outputDir ?? null, outFd: -1,
    outMissing: [], outMode: 0o777 & ~callerUmask, lxcfs: null, writesFd: -1, overlays: [],
  };
  if (op.outputDir !== undefined) {
    // Nothing is made on the host before the command has run: open what exists of the path.
    const parts = splitPath(op.outputDir);
    let have = parts.length;
    while (have > 0 && !lstat(joinPath("/", ...parts.slice(0, have)))) have--;
    try {
      prepared.outFd = open(joinPath("/", ...parts.slice(0, have)), O.RDONLY | O.DIRECTORY);
    } catch (e) {
      throw new SetupError(`output directory ${op.outputDir}`, e);
    }
    prepared.outMissing = parts.slice(have);
  }
  const lxcfs = process.env.BUN_SANDBOX_LXCFS_PROC || LXCFS_PROC_DIR;
  if (access(lxcfs, R_OK | X_OK)) {
    try {
      prepared.lxcfs = { dir: lxcfs, files: readdir(lxcfs).sort() };
    } catch {
      notes.push(`lxcfs: ${lxcfs} cannot be listed; not used`);
    }
  }
  return prepared;
}

function errCode(e: unknown): string {
  return e instanceof SysError ? e.code : e instanceof Error ? e.message : String(e);
}

/** The machine's NUMA nodes with memory (for the --tmpfs-numa error), read under the old root. */
function memoryNodes(oldroot: string): string | null {
  try {
    return readText(joinPath(oldroot, "/sys/devices/system/node/has_memory")).trim();
  } catch {
    return null;
  }
}

export function applyDirModes(op: DirModesOp, ctx: StageContext): void {
  const dm = ctx.dirModes;
  if (!dm) throw new Error("internal error: directory modes were not prepared before unshare");
  for (const n of dm.notes) ctx.debug(n);
  const host = (p: string) => joinPath(ctx.oldroot, p);

  // 1. The sandbox's own tmpfs: overlay upper and work directories, hidden directories, shm.
  const w = `${ctx.scratch}/dirmodes`;
  mkdir(w, 0o755);
  const tmpfsOpts = dirModesTmpfsOptions(op);
  try {
    mount("tmpfs", w, "tmpfs", 0, `mode=0755,${tmpfsOpts}`);
  } catch (e) {
    if (e instanceof SysError && e.errno === Errno.EINVAL && op.tmpfsNuma !== undefined) {
      const nodes = memoryNodes(ctx.oldroot);
      const hint = nodes === null
        ? `this kernel shows no NUMA nodes (no /sys/devices/system/node/has_memory); drop --tmpfs-numa`
        : `the kernel refused mpol=bind:${op.tmpfsNuma}: this machine has memory on NUMA node(s) ${nodes || "(none listed)"} only`;
      throw new SetupError(`tmpfs ${tmpfsOpts}`, new SysError("mount", e.errno, "tmpfs", undefined, hint));
    }
    throw new SetupError(`tmpfs ${tmpfsOpts}`, e);
  }
  for (const d of ["upper", "work", "hidden", "shm"]) mkdir(`${w}/${d}`, 0o755);
  if (dm.outFd >= 0) dm.writesFd = open(w, O.RDONLY | O.DIRECTORY);
  let counter = 0;

  // 2. The new root: a private recursive copy of the host's mounts (later host mounts stay out).
  bindTree(ctx.oldroot, ctx.newroot, { mountinfo: ctx.mountinfo });
  mount(null, ctx.newroot, null, MS.PRIVATE | MS.REC);

  const coverage = new Coverage();
  const handled = new Set(dm.actions.map((a) => a.path));

  /** The owner of a directory we make for `st` (as real root; a user namespace keeps its own). */
  const copyOwner = (path: string, st: FileStat) => {
    try {
      lchown(path, st.uid, st.gid);
    } catch {
      // EPERM/EINVAL in a user namespace: the id is not mapped
    }
  };

  /**
   * An fd of the mount point `path` in the new root; with `st`, made like it when missing (inside a
   * hidden directory). A mount point's path has no symlink: one found there (swapped in
   * meanwhile, in a full-access directory say) fails the setup instead of redirecting it.
   */
  const target = (path: string, st?: FileStat): number =>
    withRoot(ctx.newroot, (root) => atPlace(root, path, { follow: false, create: st ? 0o755 : null, noSymlinks: true }, (p) => {
      const fd = openPlace(p);
      if (fd !== null) return fd;
      if (!st) throw new SysError("open", Errno.ENOENT, path);
      if (st.isDirectory()) mkdirAt(p.dir, p.name, st.mode & 0o7777);
      else closeQuiet(openAt(p.dir, p.name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, st.mode & 0o777));
      return openPlace(p)!;
    }));
  const opts = { mountinfo: ctx.mountinfo, procFd: ctx.procFd };

  const bindAgain = (path: string, st: FileStat) => using(target(path, st), (t) => bindTree(host(path), t, opts));

  const readOnly = (a: DirModeAction, st: FileStat, reachable: boolean) => {
    if (!reachable) bindAgain(a.path, st);
    using(target(a.path), (t) => remountReadOnly(t, a.options, ctx.procFd));
  };

  /** An overlay on `path` with the host's directory as the lower layer; throws what mount(2) says. */
  const overlay = (path: string, st: FileStat) => {
    const n = counter++;
    const upper = `${w}/upper/${n}`;
    const work = `${w}/work/${n}`;
    mkdir(upper, st.mode & 0o7777);
    copyOwner(upper, st);
    mkdir(work, 0o700);
    using(target(path), (t) => mount("overlay", pathOf(t, ctx.procFd), "overlay", 0, overlayOptions([host(path)], upper, work)));
    dm.overlays.push({ path, upper: `upper/${n}` });
  };

  const listDirs = (d: string): string[] | null => {
    let fd = -1;
    try {
      fd = open(host(d), O.RDONLY | O.DIRECTORY);
      return readdirFd(fd, host(d))
        .filter((e) => e.utf8 && (e.type === DT.DIR || (e.type === DT.UNKNOWN && lstat(`${host(d)}/${e.name}`)?.isDirectory())))
        .map((e) => e.name);
    } catch {
      return null;
    } finally {
      if (fd >= 0) closeQuiet(fd);
    }
  };

  // 3. One action per mount point, parents first.
  for (const a of dm.actions) {
    const st = stat(host(a.path));
    if (!st) {
      ctx.debug(`dirmode ${a.path}: not reachable on the host; skipped`);
      continue;
    }
    const reachable = a.mountPoint && coverage.reachable(a.path);
    const why = a.reason ? ` (${a.reason})` : "";
    try {
      switch (a.mode) {
        case "hidden": {
          const src = `${w}/hidden/${counter++}`;
          if (st.isDirectory()) mkdir(src, st.mode & 0o7777);
          else createFile(src, st.mode & 0o777);
          copyOwner(src, st);
          using(target(a.path, st), (t) => mount(src, pathOf(t, ctx.procFd), null, MS.BIND));
          coverage.record(a.path, true);
          ctx.debug(`dirmode ${a.path}: hidden${why}`);
          break;
        }
        case "read-only":
          readOnly(a, st, reachable);
          coverage.record(a.path, false);
          ctx.debug(`dirmode ${a.path}: read-only${why}`);
          break;
        case "full-access":
          if (!reachable) bindAgain(a.path, st);
          coverage.record(a.path, false);
          ctx.debug(`dirmode ${a.path}: full-access${why}`);
          break;
        case "overlay": {
          if (!st.isDirectory()) {
            readOnly(a, st, reachable);
            coverage.record(a.path, false);
            ctx.debug(`dirmode ${a.path}: read-only (overlay impossible for a file)`);
            break;
          }
          if (!reachable) closeQuiet(target(a.path, st));
          try {
            overlay(a.path, st);
            coverage.record(a.path, true);
            ctx.debug(`dirmode ${a.path}: overlay`);
            break;
          } catch (e) {
            if (!(e instanceof SysError)) throw e;
            const below = dm.mountPoints.some((m) => m !== a.path && isRelativeTo(m, a.path));
            readOnly(a, st, reachable);
            coverage.record(a.path, false);
            if (!below) {
              ctx.debug(`dirmode ${a.path}: read-only (the kernel refused an overlay: ${e.code})`);
              break;
            }
            // A user namespace cannot overlay a directory with (locked) host mounts below it:
            // keep it read-only and overlay each subdirectory without mounts below it.
            ctx.debug(`dirmode ${a.path}: read-only, its subdirectories overlaid one by one (the kernel refused an overlay with host mounts below: ${e.code})`);
            for (const c of planOverlaySplit(a.path, dm.mountPoints, handled, listDirs)) {
              const cst = stat(host(c));
              if (!cst?.isDirectory()) continue;
              try {
                overlay(c, cst);
                ctx.debug(`dirmode ${c}: overlay`);
              } catch (e2) {
                ctx.debug(`dirmode ${c}: read-only (the kernel refused an overlay: ${errCode(e2)})`);
              }
            }
          }
          break;
        }
      }
    } catch (e) {
      throw new SetupError(`${a.path} ${a.mode}`, e);
    }
  }

  // 4. POSIX shared memory stays writable: a tmpfs directory of its own, unless configured.
  for (const p of dm.shm) {
    const dir = plainDir(ctx, p);
    if (dir === null) continue;
    const src = `${w}/shm/${counter++}`;
    mkdir(src, 0o1777);
    try {
      using(dir, () => mount(src, pathOf(dir, ctx.procFd), null, MS.BIND));
    } catch (e) {
      throw new SetupError(`${p} writable tmpfs`, e);
    }
    ctx.debug(`dirmode ${p}: writable tmpfs`);
  }

  // 5. lxcfs: its container-aware files over /proc, and a clean procfs at /proc/1/ns for
  // nested sandboxes (the kernel mounts a new procfs only where one is fully visible).
  if (dm.lxcfs) bindLxcfs(dm.lxcfs, ctx);
}

/** An fd of the directory `path` in the new root when every component of it is a directory (no symlink), else null. */
function plainDir(ctx: StageContext, path: string): number | null {
  try {
    return withRoot(ctx.newroot, (root) => atPlace(root, path, { follow: false, create: null, noSymlinks: true }, (p) => openPlace(p, O.DIRECTORY)));
  } catch {
    return null;
  }
}

function bindLxcfs(lxcfs: { dir: string; files: string[] }, ctx: StageContext): void {
  const proc = plainDir(ctx, "/proc");
  if (proc === null) return;
  using(proc, () => bindLxcfsAt(lxcfs, ctx, proc));
}

function bindLxcfsAt(lxcfs: { dir: string; files: string[] }, ctx: StageContext, proc: number): void {
  try {
    if (statfsType(pathOf(proc, ctx.procFd)) !== FS_MAGIC.PROC) return;
  } catch {
    return;
  }
  const srcDir = joinPath(ctx.oldroot, resolveInRoot(ctx.oldroot, lxcfs.dir, ctx.procFd));
  const bound: string[] = [];
  for (const f of lxcfs.files) {
    const src = `${srcDir}/${f}`;
    const s = stat(src);
    const d = statAtFd(proc, f, false);
    if (!s || !d || d.isSymbolicLink() || s.isDirectory() !== d.isDirectory()) continue;
    try {
      using(openAt(proc, f, O.PATH | O.NOFOLLOW), (dst) => bindTree(src, dst, { readonly: true, mountinfo: ctx.mountinfo, procFd: ctx.procFd }));
    } catch (e) {
      throw new SetupError(`lxcfs ${lxcfs.dir}/${f} -> /proc/${f}`, e);
    }
    bound.push(f);
  }
  if (bound.length === 0) return;
  try {
    using(openAt(proc, "1/ns", O.PATH | O.DIRECTORY | O.NOFOLLOW), (clean) =>
      bindTree(joinPath(ctx.oldroot, "/proc"), clean, { mountinfo: ctx.mountinfo, procFd: ctx.procFd }));
  } catch (e) {
    throw new SetupError("lxcfs: a clean procfs at /proc/1/ns", e);
  }
  ctx.debug(`lxcfs: ${bound.join(" ")} from ${lxcfs.dir} bound over /proc; a clean procfs at /proc/1/ns`);
}
