import { readlink, readlinkAt, symlink, symlinkAt, unlink } from "../../sys/fs.ts";
import { SysError } from "../../sys/error.ts";
import { Errno } from "../../sys/errno.ts";
import type { SymlinkOp } from "../../plan/types.ts";
import { placeIn, using, type StageContext } from "../context.ts";
import { openPlace, statPlace } from "../dest.ts";
import { bindTree } from "../mounts.ts";

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
  placeIn(ctx, op.dst, { follow: false, create: 0o755 }, (p) => {
    const existing = statPlace(p);
    if (!existing) return symlinkAt(op.target, p.dir, p.name);
    if (existing.isSymbolicLink() && readlinkAt(p.dir, p.name) === op.target) return;
    if (existing.isDirectory()) {
      throw new Error(`${op.dst} exists and is a directory; a symlink cannot replace it (remove it from the source, or pick another path)`);
    }
    // Cover the existing file or symlink with a bind of a new symlink made in the workspace.
    const tmp = `${ctx.scratch}/symlink-${counter++}`;
    symlink(op.target, tmp);
    try {
      using(openPlace(p)!, (target) => bindTree(tmp, target, { nofollow: true, mountinfo: ctx.mountinfo, procFd: ctx.procFd }));
    } finally {
      unlink(tmp);
    }
  });
}
