// Destinations in the new root, as file descriptors. A path is walked one component at a time
// from an fd of the root, each step relative to the fd of the step before: symlinks are read
// and followed by us, clamped to the root (as openat2's RESOLVE_IN_ROOT does), and ".." never
// climbs above it. What an operation then creates, mounts, writes or changes is named by an fd
// or by one component relative to one, never by a path walked again: a process renaming or
// swapping a directory for a symlink meanwhile (in a writable bind, say) cannot redirect it to
// the host, which is still reachable under /oldroot while the root is built.
import { closeQuiet } from "../sys/fd.ts";
import { fstat, mkdirAt, openAt, readlinkAt, statAtFd, tryOpenAt, type FileStat } from "../sys/fs.ts";
import { O } from "../sys/flags.ts";
import { SysError } from "../sys/error.ts";
import { Errno } from "../sys/errno.ts";

const MAX_SYMLINKS = 40;
const DIR_FLAGS = O.PATH | O.DIRECTORY | O.NOFOLLOW;

/** A directory (fd, the caller closes it) and one name in it: where an operation acts. */
export interface Place {
  dir: number;
  /** "" when the path is the root itself. */
  name: string;
}

export interface WalkOptions {
  /** Follow a final symlink (to where it points, inside the root). */
  follow: boolean;
  /** Create missing directories on the way with this mode; null: a missing one ends the walk with null. */
  create: number | null;
  /** Refuse any symlink on the way (ELOOP): for paths that name mount points, which have none. */
  noSymlinks?: boolean;
  /** Told of each directory the walk creates (in `dir`, named `name`). */
  onCreate?: (dir: number, name: string) => void;
}

/**
 * Walks `path` from `rootFd` (which stays the caller's). Returns the directory holding the final
 * component and its name, the final component not created; null when a directory on the way is
 * missing and `create` is null.
 */
export function walk(rootFd: number, path: string, opts: WalkOptions): Place | null {
  const stack: number[] = [rootFd];
  const top = () => stack[stack.length - 1]!;
  const todo = path.split("/").reverse();
  let links = 0;
  try {
    while (todo.length > 0) {
      const c = todo.pop()!;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        if (stack.length > 1) closeQuiet(stack.pop()!);
        continue;
      }
      const last = !todo.some((t) => t !== "" && t !== ".");
      const st = statAtFd(top(), c, false);
      if (st?.isSymbolicLink() && (!last || opts.follow)) {
        if (opts.noSymlinks || ++links > MAX_SYMLINKS) throw new SysError("resolve", Errno.ELOOP, path);
        const target = readlinkAt(top(), c);
        if (target.startsWith("/")) while (stack.length > 1) closeQuiet(stack.pop()!);
        todo.push(...target.split("/").reverse());
        continue;
      }
      if (st?.isSymbolicLink() && opts.noSymlinks) throw new SysError("resolve", Errno.ELOOP, path);
      if (last) return take(stack, c);
      if (!st) {
        if (opts.create === null) return null;
        if (mkdirAt(top(), c, opts.create)) opts.onCreate?.(top(), c);
      }
      // O_NOFOLLOW with O_DIRECTORY: what was swapped for a symlink meanwhile fails here (ENOTDIR).
      stack.push(openAt(top(), c, DIR_FLAGS));
    }
    return take(stack, "");
  } catch (e) {
    while (stack.length > 1) closeQuiet(stack.pop()!);
    throw e;
  }
}

/** The top of the stack becomes the result (a dup of the root when nothing was opened). */
function take(stack: number[], name: string): Place {
  const dir = stack.length > 1 ? stack.pop()! : openAt(stack[0]!, ".", O.PATH | O.DIRECTORY);
  while (stack.length > 1) closeQuiet(stack.pop()!);
  return { dir, name };
}

/** What is at `place` (not followed), or null. */
export function statPlace(p: Place): FileStat | null {
  return p.name === "" ? fstat(p.dir) : statAtFd(p.dir, p.name, false);
}

/** An O_PATH fd of what `place` names (never following a symlink there); null when missing. */
export function openPlace(p: Place, extra = 0): number | null {
  const fd = tryOpenAt(p.dir, p.name === "" ? "." : p.name, O.PATH | O.NOFOLLOW | extra);
  if (fd >= 0) return fd;
  if (fd === -Errno.ENOENT) return null;
  throw new SysError("openat", -fd, p.name);
}

/** Runs `fn` with the place of `path`, closing its directory afterwards. */
export function atPlace<T>(rootFd: number, path: string, opts: WalkOptions, fn: (p: Place) => T): T {
  const p = walk(rootFd, path, opts);
  if (!p) throw new SysError("resolve", Errno.ENOENT, path);
  try {
    return fn(p);
  } finally {
    closeQuiet(p.dir);
  }
}

/**
 * mkdir -p of `path` (symlinks followed): missing parents get 0755, the directory itself `mode`;
 * returns its fd (O_PATH). An existing non-directory at the end fails with ENOTDIR. `onCreate`
 * is told of each directory made.
 */
export function makeDirsAt(rootFd: number, path: string, mode = 0o755, onCreate?: (dir: number, name: string) => void): number {
  return atPlace(rootFd, path, { follow: true, create: 0o755, onCreate }, (p) => {
    if (p.name === "") return openAt(p.dir, ".", O.PATH | O.DIRECTORY);
    if (mkdirAt(p.dir, p.name, mode)) onCreate?.(p.dir, p.name);
    return openAt(p.dir, p.name, DIR_FLAGS);
  });
}

/** An O_PATH fd of `path` (symlinks followed unless `follow` is false for the last one); null when missing. */
export function openIn(rootFd: number, path: string, follow = true): number | null {
  const p = walk(rootFd, path, { follow, create: null });
  if (!p) return null;
  try {
    return openPlace(p);
  } finally {
    closeQuiet(p.dir);
  }
}
