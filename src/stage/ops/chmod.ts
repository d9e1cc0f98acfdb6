import { chmod } from "../../sys/fs.ts";
import type { ChmodOp } from "../../plan/types.ts";
import { SysError } from "../../sys/error.ts";
import { inNewRoot, lstatOrNull, type StageContext } from "../context.ts";

export function applyChmod(op: ChmodOp, ctx: StageContext): void {
  const path = inNewRoot(ctx, op.dst);
  if (!lstatOrNull(path)) throw new Error(`${op.dst} does not exist in the sandbox`);
  try {
    chmod(path, op.mode);
  } catch (e) {
    // Name the path as the sandbox sees it, not the workspace's view of it.
    if (e instanceof SysError) throw new SysError(e.syscall, e.errno, op.dst);
    throw e;
  }
}
