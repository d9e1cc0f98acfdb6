import { writeFileSync } from "node:fs";
import type { WriteOp } from "../../plan/types.ts";
import { parentOf } from "../../plan/paths.ts";
import { inNewRoot, type StageContext } from "../context.ts";
import { asSysError, makeDirs } from "../resolve.ts";

export function applyWrite(op: WriteOp, ctx: StageContext): void {
  const dst = inNewRoot(ctx, op.dst);
  makeDirs(ctx.newroot, parentOf(dst.slice(ctx.newroot.length) || "/"), 0o755);
  try {
    writeFileSync(dst, op.data, { mode: 0o644 });
  } catch (e) {
    throw asSysError(e, "write", op.dst);
  }
}
