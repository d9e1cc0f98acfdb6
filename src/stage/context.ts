// What operations need while the new root is being built, and how they reach paths in it: by
// fds (see dest.ts), so a concurrent rename or symlink swap cannot redirect them.
import { closeQuiet, open } from "../sys/fd.ts";
import { O } from "../sys/flags.ts";
import { mkdirAt, openAt } from "../sys/fs.ts";
import type { PreparedDirModes } from "./ops/dirmodes.ts";
import { makeDirsAt, openIn, openPlace, walk, type Place, type WalkOptions } from "./dest.ts";
import { SysError } from "../sys/error.ts";
import { noteStub } from "./stubs.ts";
import { Errno } from "../sys/errno.ts";

export interface StageContext {
  /** The host's root as seen from the workspace (source of binds). */
  readonly oldroot: string;
  /** The new root being built. */
  readonly newroot: string;
  /** A /proc/self/fd directory reachable from the workspace. */
  readonly procFd: string;
  /** /proc/self/mountinfo reachable from the workspace. */
  readonly mountinfo: string;
  /** The sandbox has its own PID namespace (a fresh procfs can be mounted). */
  readonly pidns: boolean;
  /** The sandbox has its own IPC namespace (a private mqueue can be mounted). */
  readonly ipcns: boolean;
  /** Scratch directory in the workspace for temporary files (never visible in the sandbox). */
  readonly scratch: string;
  /** What the host-side phase of the directory modes found (null without directory modes). */
  readonly dirModes: PreparedDirModes | null;
  debug(line: string): void;
  /** In a namespace worker: refuse what could block (the request then goes to a forked stage). */
  readonly neverBlock?: boolean;
}

/**
 * Runs `fn` with an fd of `root` as it is now: a mount on "/" of the new root changes what the
 * directory is, so it is opened afresh (the workspace is ours alone: nobody can swap it).
 */
export function withRoot<T>(root: string, fn: (rootFd: number) => T): T {
  const fd = open(root, O.PATH | O.DIRECTORY);
  try {
    return fn(fd);
  } finally {
    closeQuiet(fd);
  }
}

/** Runs `fn` with the place of `path` in the new root (see dest.ts walk), its directory closed afterwards. */
export function placeIn<T>(ctx: StageContext, path: string, opts: WalkOptions, fn: (p: Place) => T): T {
  return withRoot(ctx.newroot, (root) => {
    const p = walk(root, path, opts);
    if (!p) throw new SysError("resolve", Errno.ENOENT, path);
    try {
      return fn(p);
    } finally {
      closeQuiet(p.dir);
    }
  });
}

/** Tells stubs.ts of each directory or file made as (or on the way to) a mount point. */
export const stubNoter = (ctx: StageContext) => (dir: number, name: string): void => noteStub(dir, name, ctx.procFd);

/** mkdir -p of a mount point `path` in the new root; returns the directory's fd (the caller closes it). */
export function dirIn(ctx: StageContext, path: string, mode = 0o755): number {
  return withRoot(ctx.newroot, (root) => makeDirsAt(root, path, mode, stubNoter(ctx)));
}

/** An O_PATH fd of `path` in `root` (symlinks followed unless `follow` is false for the last one); null when missing. */
export function openInRoot(root: string, path: string, follow = true): number | null {
  return withRoot(root, (r) => openIn(r, path, follow));
}

/**
 * The O_PATH fd of what `p` names, creating it when missing: a directory (mode 0755) or an empty
 * file (0644), the mount point of a bind or a placed file.
 */
export function targetAt(ctx: StageContext, p: Place, dir: boolean): number {
  const fd = openPlace(p);
  if (fd !== null) return fd;
  if (dir) mkdirAt(p.dir, p.name, 0o755);
  else closeQuiet(openAt(p.dir, p.name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o644));
  noteStub(p.dir, p.name, ctx.procFd);
  return openPlace(p)!;
}

/** Runs `fn` with an fd, closing it afterwards. */
export function using<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeQuiet(fd);
  }
}
