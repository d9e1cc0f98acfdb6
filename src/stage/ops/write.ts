import { stat, writeFile } from "../../sys/fs.ts";
import type { WriteOp } from "../../plan/types.ts";
import { parentOf } from "../../plan/paths.ts";
import { inNewRoot, type StageContext } from "../context.ts";
import { makeDirs } from "../resolve.ts";

export function applyWrite(op: WriteOp, ctx: StageContext): void {
  const dst = inNewRoot(ctx, op.dst);
  makeDirs(ctx.newroot, parentOf(dst.slice(ctx.newroot.length) || "/"), 0o755);
  // Opening a FIFO (or a device) for writing can wait forever; a namespace worker must not.
  const existing = ctx.neverBlock ? stat(dst) : null;
  if (existing && !existing.isFile()) throw new Error(`${op.dst}: not a regular file (left to a forked stage)`);
  writeFile(dst, op.data, { mode: 0o644 });
}
