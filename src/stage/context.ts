// What operations need while the new root is being built.
import { lstat, stat, type FileStat } from "../sys/fs.ts";
import { joinPath, parentOf, baseName } from "../plan/paths.ts";
import { resolveInRoot } from "./resolve.ts";
import type { PreparedDirModes } from "./ops/dirmodes.ts";

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

/** Host-visible path of `path` inside the new root, symlinks resolved without leaving it. */
export function inNewRoot(ctx: StageContext, path: string): string {
  return joinPath(ctx.newroot, resolveInRoot(ctx.newroot, path, ctx.procFd));
}

/** Host-visible path of `path` inside the new root with only the parent resolved (the last component is not followed). */
export function inNewRootNoFollow(ctx: StageContext, path: string): string {
  return joinPath(ctx.newroot, resolveInRoot(ctx.newroot, parentOf(path), ctx.procFd), baseName(path));
}

/** Host path of `path` inside `root` (old or new), resolving symlinks unless `nofollow`. */
export function inRoot(ctx: StageContext, root: string, path: string, nofollow = false): string {
  if (nofollow) return joinPath(root, resolveInRoot(root, parentOf(path), ctx.procFd), baseName(path));
  return joinPath(root, resolveInRoot(root, path, ctx.procFd));
}

export const lstatOrNull = (p: string): FileStat | null => lstat(p);
export const statOrNull = (p: string): FileStat | null => stat(p);
