import { mkdir } from "../../sys/fs.ts";
import type { DirOp } from "../../plan/types.ts";
import { dirMode } from "../../plan/ops/dir.ts";
import { parentOf } from "../../plan/paths.ts";
import { inNewRoot, lstatOrNull, type StageContext } from "../context.ts";
import { makeDirs } from "../resolve.ts";

export function applyDir(op: DirOp, ctx: StageContext): void {
  const dst = inNewRoot(ctx, op.dst);
  const inside = dst.slice(ctx.newroot.length) || "/";
  makeDirs(ctx.newroot, parentOf(inside), 0o755);
  if (lstatOrNull(dst)) return; // existing directories are left as they are
  mkdir(dst, dirMode(op));
}
