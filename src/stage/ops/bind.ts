import { exists, fstat, lstat, readlink } from "../../sys/fs.ts";
import type { BindOp } from "../../plan/types.ts";
import { openInRoot, placeIn, stubNoter, targetAt, using, type StageContext } from "../context.ts";
import { openPlace, statPlace } from "../dest.ts";
import { bindTree, pathOf } from "../mounts.ts";
import { noteHostBind } from "../stubs.ts";

/** Notes the bind now at `dst` (its top mount) as a writable bind of the host's `src` (a workspace path). */
function noteBind(ctx: StageContext, dst: string, src: string): void {
  const host = src === ctx.oldroot ? "/" : src.startsWith(`${ctx.oldroot}/`) ? src.slice(ctx.oldroot.length) : null;
  const fd = host === null ? null : openInRoot(ctx.newroot, dst);
  if (fd !== null) using(fd, () => noteHostBind(host!, fd, ctx.procFd));
}

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
  const src = openInRoot(op.relative ? ctx.newroot : ctx.oldroot, op.src, !op.nofollow);
  if (src === null) {
    if (op.optional) return false;
    throw new Error(`source ${op.src} does not exist${op.relative ? " in the sandbox" : ""}; create it or use the -try variant`);
  }
  return using(src, () => {
    const st = fstat(src);
    const opts = { readonly: op.readonly, nofollow: op.nofollow, nodev: op.device === false, mountinfo: ctx.mountinfo, procFd: ctx.procFd, label: op.src };
    // A non-directory bound onto a symlink covers the symlink itself (its target stays
    // untouched); so does a nofollow bind of a symlink.
    const onCreate = stubNoter(ctx);
    const literal = placeIn(ctx, op.dst, { follow: false, create: 0o755, onCreate }, (p) => {
      const there = statPlace(p);
      if (there?.isSymbolicLink() && !st.isDirectory()) return openPlace(p);
      if (op.nofollow && st.isSymbolicLink()) return targetAt(ctx, p, false);
      return null;
    });
    const target = literal ?? placeIn(ctx, op.dst, { follow: true, create: 0o755, onCreate }, (p) => targetAt(ctx, p, st.isDirectory()));
    using(target, () => bindTree(src, target, opts));
    // A writable host directory: stubs made inside it later are the host's (see stubs.ts).
    if (!op.readonly && !op.relative && st.isDirectory()) noteBind(ctx, op.dst, readlink(pathOf(src, ctx.procFd)));
    return true;
  });
}
