// Mount building blocks the operations share: recursive binds that are read-only on every
// submount, and read-only remounts of a tree.
import { lstat, readText } from "../sys/fs.ts";
import { mount, mountSetattr, moveMountFd, openTree } from "../sys/mount.ts";
import { closeQuiet } from "../sys/fd.ts";
import { AT, MOUNT_ATTR, MS, OPEN_TREE } from "../sys/flags.ts";
import { SysError } from "../sys/error.ts";
import { Errno } from "../sys/errno.ts";

export interface BindOptions {
  readonly?: boolean;
  nodev?: boolean;
  /** Bind `src` itself when it is a symlink. */
  nofollow?: boolean;
  /** Where the mountinfo of this process can be read (for the old-API read-only walk). */
  mountinfo: string;
}

// Test and old-kernel switch: behave as if mount_setattr (kernel 5.12) did not exist.
const noMountSetattr = () => process.env.BUN_SANDBOX_NO_MOUNT_SETATTR === "1";

const isEnosys = (e: unknown) => e instanceof SysError && e.errno === Errno.ENOSYS;

/**
 * Recursive bind of `src` on `dst`. With the new mount API the attributes are applied to the
 * detached tree before it is attached (atomic, recursive). On kernels without mount_setattr
 * (before 5.12) the tree is attached first and each submount remounted one by one; without
 * open_tree (before 5.2) mount(2) does the bind.
 */
export function bindTree(src: string, dst: string, opts: BindOptions): void {
  const attrs = (opts.readonly ? MOUNT_ATTR.RDONLY : 0) | (opts.nodev ? MOUNT_ATTR.NODEV : 0);
  const legacyFlags = (opts.readonly ? MS.RDONLY : 0) | (opts.nodev ? MS.NODEV : 0);
  let fd = -1;
  try {
    fd = openTree(src, OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | AT.RECURSIVE | AT.NO_AUTOMOUNT | (opts.nofollow ? AT.SYMLINK_NOFOLLOW : 0));
  } catch (e) {
    if (!isEnosys(e)) throw e;
  }
  if (fd >= 0) {
    try {
      let applied = attrs === 0;
      if (!applied) {
        try {
          if (noMountSetattr()) throw new SysError("mount_setattr", Errno.ENOSYS, src);
          mountSetattr(fd, AT.RECURSIVE, { set: attrs }, src);
          applied = true;
        } catch (e) {
          if (!isEnosys(e)) throw e;
        }
      }
      moveMountFd(fd, dst, 0, AT.FDCWD, src);
      if (!applied) remountTree(dst, legacyFlags, opts.mountinfo);
    } finally {
      closeQuiet(fd);
    }
    return;
  }
  // mount(2) follows a symlink source, so binding a symlink itself needs open_tree.
  if (opts.nofollow) throw new SysError("open_tree (needed to bind a symlink itself)", Errno.ENOSYS, src);
  mount(src, dst, null, MS.BIND | MS.REC);
  if (legacyFlags) remountTree(dst, legacyFlags, opts.mountinfo);
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

/** Adds `flags` to `dst` and every mount below it with per-mount bind remounts (old API). */
export function remountTree(dst: string, flags: number, mountinfoPath: string): void {
  // mount(2) follows a symlink target; a bound symlink has no content to protect anyway.
  if (lstat(dst)?.isSymbolicLink()) return;
  const prefix = dst === "/" ? "/" : dst.replace(/\/+$/, "") + "/";
  const entries = parseMountinfo(readText(mountinfoPath));
  const targets = entries.filter((e) => e.mountPoint === dst || e.mountPoint.startsWith(prefix));
  // Only the topmost mount at each mount point is reachable by path.
  const seen = new Map<string, MountInfoEntry>();
  for (const e of targets) seen.set(e.mountPoint, e);
  const sorted = [...seen.values()].sort((a, b) => a.mountPoint.length - b.mountPoint.length);
  for (const e of sorted) {
    mount(null, e.mountPoint, null, MS.BIND | MS.REMOUNT | mountFlagsOf(e.options) | flags);
  }
}

/**
 * Makes the one mount at `target` read-only (not its submounts). mount_setattr changes only
 * that flag; the old API needs the mount's locked flags repeated (`options`, its mountinfo
 * options) or a user namespace gets EPERM.
 */
export function remountReadOnly(target: string, options: string): void {
  if (!noMountSetattr()) {
    try {
      mountSetattr(target, 0, { set: MOUNT_ATTR.RDONLY }, target);
      return;
    } catch (e) {
      if (!isEnosys(e)) throw e;
    }
  }
  mount(null, target, null, MS.BIND | MS.REMOUNT | MS.RDONLY | mountFlagsOf(options));
}
