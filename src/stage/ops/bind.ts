import { createFile, exists, lstat, mkdir } from "../../sys/fs.ts";
import type { BindOp } from "../../plan/types.ts";
import { parentOf } from "../../plan/paths.ts";
import { inNewRoot, inNewRootNoFollow, inRoot, lstatOrNull, statOrNull, type StageContext } from "../context.ts";
import { bindTree } from "../mounts.ts";
import { makeDirs } from "../resolve.ts";

/**
 * Early phase, in the host's root before anything is created: a missing source fails here, or
 * is dropped (null) when optional. Relative (+SRC) sources are only known inside.
 */
export function earlyBind(op: BindOp): BindOp | null {
  if (op.relative) return op;
  if (op.nofollow ? lstat(op.src) !== null : exists(op.src)) return op;
  if (op.optional) return null;
  throw new Error(`source ${op.src} does not exist; create it or use the -try variant`);
}

/** Returns false when an optional source was missing and nothing was done. */
export function applyBind(op: BindOp, ctx: StageContext): boolean {
  const root = op.relative ? ctx.newroot : ctx.oldroot;
  const src = inRoot(ctx, root, op.src, op.nofollow);
  const st = op.nofollow ? lstatOrNull(src) : statOrNull(src);
  if (!st) {
    if (op.optional) return false;
    throw new Error(`source ${op.src} does not exist${op.relative ? " in the sandbox" : ""}; create it or use the -try variant`);
  }
  const opts = { readonly: op.readonly, nofollow: op.nofollow, nodev: op.device === false, mountinfo: ctx.mountinfo };
  // A non-directory bound onto a symlink covers the symlink itself (its target stays untouched).
  const literal = inNewRootNoFollow(ctx, op.dst);
  if (!st.isDirectory() && lstatOrNull(literal)?.isSymbolicLink()) {
    bindTree(src, literal, opts);
    return true;
  }
  const dst = op.nofollow && st.isSymbolicLink() ? literal : inNewRoot(ctx, op.dst);
  if (!lstatOrNull(dst)) {
    makeDirs(ctx.newroot, parentOf(dst.slice(ctx.newroot.length) || "/"), 0o755);
    if (st.isDirectory()) mkdir(dst, 0o755);
    else createFile(dst, 0o644);
  }
  bindTree(src, dst, opts);
  return true;
}
