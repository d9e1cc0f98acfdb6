import type { RemountOp } from "../../plan/types.ts";
import { parseRemountOptions } from "../../plan/ops/remount.ts";
import { inNewRoot, type StageContext } from "../context.ts";
import { remountMount } from "../mounts.ts";

export function applyRemount(op: RemountOp, ctx: StageContext): void {
  remountMount(inNewRoot(ctx, op.dst), op.dst, parseRemountOptions(op.options), ctx.mountinfo);
}
