// Mount building blocks the operations share: recursive binds that are read-only on every
// submount, and read-only remounts of a tree.
import { lstat, mountIdOf, readlink, readText } from "../sys/fs.ts";
import { mount, mountSetattr, moveMountFd, openTree } from "../sys/mount.ts";
import { closeQuiet } from "../sys/fd.ts";
import { AT, MOUNT_ATTR, MOVE_MOUNT, MS, OPEN_TREE } from "../sys/flags.ts";
import { ATIME_FLAGS, type RemountFlags } from "../plan/ops/remount.ts";
import { SysError } from "../sys/error.ts";
import { Errno } from "../sys/errno.ts";

export interface BindOptions {
  readonly?: boolean;
  nodev?: boolean;
  /** Bind `src` itself when it is a symlink. */
  nofollow?: boolean;
  /** Where the mountinfo of this process can be read (for the old-API read-only walk). */
  mountinfo: string;
  /** A /proc/self/fd directory: the old API names an fd through it (its magic links). */
  procFd?: string;
  /** What to call the source in errors (default: the path, or "fd N"). */
  label?: string;
}

/** A path, or an fd (O_PATH) of what to act on. */
export type Where = string | number;

// Test and old-kernel switch: behave as if mount_setattr (kernel 5.12) did not exist.
const noMountSetattr = () => process.env.BUN_SANDBOX_NO_MOUNT_SETATTR === "1";

const isEnosys = (e: unknown) => e instanceof SysError && e.errno === Errno.ENOSYS;

/** The path the old API takes for `w`: an fd through its /proc/self/fd magic link, which names exactly it. */
export function pathOf(w: Where, procFd: string | undefined): string {
  if (typeof w === "string") return w;
  if (!procFd) throw new SysError("mount", Errno.ENOSYS, `fd ${w}`, undefined, "no /proc to name an fd through");
  return `${procFd}/${w}`;
}

/** The path of `w` as this process sees it (the walk of mountinfo entries goes by it). */
function realPath(w: Where, procFd: string | undefined): string {
  return typeof w === "string" ? w : readlink(pathOf(w, procFd));
}

/**
 * Recursive bind of `src` on `dst` (each a path or an fd). With the new mount API the attributes
 * are applied to the detached tree before it is attached (atomic, recursive). On kernels without
 * mount_setattr (before 5.12) the tree is attached first and each submount remounted one by one;
 * without open_tree (before 5.2) mount(2) does the bind.
 */
export function bindTree(src: Where, dst: Where, opts: BindOptions): void {
  const attrs = (opts.readonly ? MOUNT_ATTR.RDONLY : 0) | (opts.nodev ? MOUNT_ATTR.NODEV : 0);
  const legacyFlags = (opts.readonly ? MS.RDONLY : 0) | (opts.nodev ? MS.NODEV : 0);
  const label = opts.label ?? (typeof src === "string" ? src : `fd ${src}`);
  let fd = -1;
  try {
    const flags = OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | AT.RECURSIVE | AT.NO_AUTOMOUNT | (opts.nofollow ? AT.SYMLINK_NOFOLLOW : 0);
    fd = typeof src === "number" ? openTree("", flags | AT.EMPTY_PATH, src) : openTree(src, flags);
  } catch (e) {
    if (!isEnosys(e)) throw e;
  }
  if (fd >= 0) {
    try {
      let applied = attrs === 0;
      if (!applied) {
        try {
          if (noMountSetattr()) throw new SysError("mount_setattr", Errno.ENOSYS, label);
          mountSetattr(fd, AT.RECURSIVE, { set: attrs }, label);
          applied = true;
        } catch (e) {
          if (!isEnosys(e)) throw e;
        }
      }
      if (typeof dst === "number") moveMountFd(fd, "", MOVE_MOUNT.T_EMPTY_PATH, dst, label);
      else moveMountFd(fd, dst, 0, AT.FDCWD, label);
      if (!applied) remountTree(realPath(dst, opts.procFd), legacyFlags, opts.mountinfo);
    } finally {
      closeQuiet(fd);
    }
    return;
  }
  // mount(2) follows a symlink source, so binding a symlink itself needs open_tree.
  if (opts.nofollow) throw new SysError("open_tree (needed to bind a symlink itself)", Errno.ENOSYS, label);
  mount(pathOf(src, opts.procFd), pathOf(dst, opts.procFd), null, MS.BIND | MS.REC);
  if (legacyFlags) remountTree(realPath(dst, opts.procFd), legacyFlags, opts.mountinfo);
}

export interface MountInfoEntry {
  id: number;
  parent: number;
  mountPoint: string;
  options: string;
  fstype: string;
  source: string;
  superOptions: string;
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const f = line.split(" ");
    const sep = f.indexOf("-", 6);
    if (sep < 0) continue;
    out.push({
      id: Number(f[0]), parent: Number(f[1]), mountPoint: unescapeMountinfo(f[4]!), options: f[5]!,
      fstype: f[sep + 1]!, source: unescapeMountinfo(f[sep + 2]!), superOptions: f[sep + 3] ?? "",
    });
  }
  return out;
}

// Per-mount flags that a user namespace cannot clear on a mount it did not create; a remount
// must repeat them or it fails with EPERM.
const LOCKED: [string, number][] = [
  ["nosuid", MS.NOSUID], ["nodev", MS.NODEV], ["noexec", MS.NOEXEC], ["noatime", MS.NOATIME],
  ["nodiratime", MS.NODIRATIME], ["relatime", MS.RELATIME], ["ro", MS.RDONLY],
];

export function mountFlagsOf(options: string): number {
  const words = new Set(options.split(","));
  return LOCKED.reduce((f, [w, bit]) => (words.has(w) ? f | bit : f), 0);
}

/**
 * mount(2) flags for a bind remount of a mount whose mountinfo options are `current`: every
 * per-mount flag it has (so flags a user namespace cannot clear, and nosymfollow, are kept),
 * minus `clear`, plus `set`; an access-time word in `set` replaces the current one.
 */
export function remountedFlags(current: string, set: number, clear: number): number {
  let flags = mountFlagsOf(current) | (current.split(",").includes("nosymfollow") ? MS.NOSYMFOLLOW : 0);
  if (set & ATIME_FLAGS) flags &= ~ATIME_FLAGS;
  return (flags & ~clear) | set;
}

const ATTR_OF: [number, number][] = [
  [MS.RDONLY, MOUNT_ATTR.RDONLY], [MS.NOSUID, MOUNT_ATTR.NOSUID], [MS.NODEV, MOUNT_ATTR.NODEV],
  [MS.NOEXEC, MOUNT_ATTR.NOEXEC], [MS.NODIRATIME, MOUNT_ATTR.NODIRATIME], [MS.NOSYMFOLLOW, MOUNT_ATTR.NOSYMFOLLOW],
];

/** The same change as mount_setattr's attr_set/attr_clr (which leaves every other flag alone). */
export function mountAttrChange(set: number, clear: number): { set: number; clear: number } {
  let aset = 0;
  let aclr = 0;
  for (const [ms, attr] of ATTR_OF) {
    if (set & ms) aset |= attr;
    if (clear & ms) aclr |= attr;
  }
  if (set & ATIME_FLAGS) {
    aclr |= MOUNT_ATTR._ATIME;
    aset |= set & MS.NOATIME ? MOUNT_ATTR.NOATIME : set & MS.STRICTATIME ? MOUNT_ATTR.STRICTATIME : MOUNT_ATTR.RELATIME;
  }
  return { set: aset, clear: aclr };
}

/**
 * The mounts a remount of `dst` reaches by path: the topmost mount at `dst` and, with
 * `recursive`, the mounts of its subtree (children by parent id, as AT_RECURSIVE walks it)
 * that are reachable by path, parents first. `mountIdAt` (statx's mount id of a path, -1 for
 * a path that cannot be reached) says which mount a path reaches; where it cannot tell (null),
 * the last mount listed at a mount point is taken as the topmost one (mountinfo lists older
 * mounts first).
 */
export function mountsUnder(entries: readonly MountInfoEntry[], dst: string, recursive: boolean, mountIdAt: (path: string) => number | null = () => null): MountInfoEntry[] {
  const lastAt = new Map<string, MountInfoEntry>();
  for (const e of entries) lastAt.set(e.mountPoint, e);
  const reachable = (e: MountInfoEntry) => {
    const id = mountIdAt(e.mountPoint);
    return id === null ? lastAt.get(e.mountPoint) === e : id === e.id;
  };
  const top = entries.find((e) => e.mountPoint === dst && reachable(e));
  if (!top) return [];
  if (!recursive) return [top];
  const ids = new Set([top.id]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const e of entries) {
      if (!ids.has(e.id) && ids.has(e.parent)) {
        ids.add(e.id);
        grew = true;
      }
    }
  }
  return entries.filter((e) => ids.has(e.id) && reachable(e)).sort((a, b) => a.mountPoint.length - b.mountPoint.length);
}

export const notMountPoint = (label: string): string =>
  `${label} is not a mount point in the sandbox; a remount changes the flags of a mount (bind or mount something on ${label} first)`;

function explainRemountError(e: unknown, f: RemountFlags): unknown {
  if (e instanceof SysError && e.errno === Errno.EPERM && (f.clear || f.set & ATIME_FLAGS)) {
    return new SysError(e.syscall, e.errno, e.path, e.dest, "a flag set by the host on this mount (ro, nosuid, nodev, noexec or its access-time mode) is locked in a user namespace and cannot be cleared or changed");
  }
  return e;
}

/**
 * Changes the flags of the mount at `dst` (and every mount below it with "rec"), keeping the
 * flags it was not asked to change. `dst.fd` is what mount_setattr changes; `dst.path` (the
 * workspace's path of it) finds it in mountinfo, and the old API's remounts go by that path.
 * `label` is the path as the sandbox sees it.
 */
export function remountMount(dst: { fd: number; path: string }, label: string, f: RemountFlags, mountinfoPath: string): void {
  const entries = parseMountinfo(readText(mountinfoPath));
  if (mountsUnder(entries, dst.path, false, mountIdOf).length === 0) throw new Error(notMountPoint(label));
  if (!noMountSetattr()) {
    try {
      mountSetattr(dst.fd, (f.recursive ? AT.RECURSIVE : 0) | AT.NO_AUTOMOUNT, mountAttrChange(f.set, f.clear), label);
      return;
    } catch (e) {
      if (!isEnosys(e)) throw explainRemountError(e, f);
    }
  }
  for (const e of mountsUnder(entries, dst.path, f.recursive, mountIdOf)) {
    try {
      mount(null, e.mountPoint, null, MS.BIND | MS.REMOUNT | remountedFlags(e.options, f.set, f.clear));
    } catch (err) {
      throw explainRemountError(err, f);
    }
  }
}

/** Adds `flags` to `dst` and every mount below it with per-mount bind remounts (old API). */
export function remountTree(dst: string, flags: number, mountinfoPath: string): void {
  // mount(2) follows a symlink target; a bound symlink has no content to protect anyway.
  if (lstat(dst)?.isSymbolicLink()) return;
  // Only the topmost mount at each mount point is reachable by path.
  for (const e of mountsUnder(parseMountinfo(readText(mountinfoPath)), dst, true, mountIdOf)) {
    mount(null, e.mountPoint, null, MS.BIND | MS.REMOUNT | remountedFlags(e.options, flags, 0));
  }
}

/**
 * Makes the one mount at `target` (a path or an fd) read-only (not its submounts).
 * mount_setattr changes only that flag; the old API needs the mount's locked flags repeated
 * (`options`, its mountinfo options) or a user namespace gets EPERM.
 */
export function remountReadOnly(target: Where, options: string, procFd?: string): void {
  if (!noMountSetattr()) {
    try {
      mountSetattr(target, 0, { set: MOUNT_ATTR.RDONLY }, String(target));
      return;
    } catch (e) {
      if (!isEnosys(e)) throw e;
    }
  }
  mount(null, pathOf(target, procFd), null, MS.BIND | MS.REMOUNT | MS.RDONLY | mountFlagsOf(options));
}
