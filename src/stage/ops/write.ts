import { writeFile } from "../../sys/fs.ts";
import type { WriteOp } from "../../plan/types.ts";
import { parentOf } from "../../plan/paths.ts";
import { inNewRoot, type StageContext } from "../context.ts";
import { makeDirs } from "../resolve.ts";

export function applyWrite(op: WriteOp, ctx: StageContext): void {
  const dst = inNewRoot(ctx, op.dst);
  makeDirs(ctx.newroot, parentOf(dst.slice(ctx.newroot.length) || "/"), 0o755);
  writeFile(dst, op.data, { mode: 0o644 });
}
