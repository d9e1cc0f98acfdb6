import { readlink, symlink, unlink } from "../../sys/fs.ts";
import { SysError } from "../../sys/error.ts";
import { Errno } from "../../sys/errno.ts";
import type { SymlinkOp } from "../../plan/types.ts";
import { parentOf } from "../../plan/paths.ts";
import { inNewRootNoFollow, lstatOrNull, type StageContext } from "../context.ts";
import { bindTree } from "../mounts.ts";
import { makeDirs } from "../resolve.ts";

let counter = 0;

/** Early phase: a dereferenced symlink takes its target from the host link, read here. */
export function earlySymlink(op: SymlinkOp): SymlinkOp {
  if (!op.dereference) return op;
  try {
    return { kind: "symlink", target: readlink(op.target), dst: op.dst };
  } catch (e) {
    if (e instanceof SysError && e.errno === Errno.EINVAL) throw new Error(`${op.target} is not a symlink; give the path of a host symlink`, { cause: e });
    throw e;
  }
}

export function applySymlink(op: SymlinkOp, ctx: StageContext): void {
  const link = inNewRootNoFollow(ctx, op.dst);
  makeDirs(ctx.newroot, parentOf(link.slice(ctx.newroot.length) || "/"), 0o755);
  const existing = lstatOrNull(link);
  if (!existing) {
    symlink(op.target, link);
    return;
  }
  if (existing.isSymbolicLink() && readlink(link) === op.target) return;
  if (existing.isDirectory()) {
    throw new Error(`${op.dst} exists and is a directory; a symlink cannot replace it (remove it from the source, or pick another path)`);
  }
  // Cover the existing file or symlink with a bind of a new symlink made in the workspace.
  const tmp = `${ctx.scratch}/symlink-${counter++}`;
  symlink(op.target, tmp);
  try {
    bindTree(tmp, link, { nofollow: true, mountinfo: ctx.mountinfo });
  } finally {
    unlink(tmp);
  }
}
