import type { TmpfsOp } from "../../plan/types.ts";
import { tmpfsMode } from "../../plan/ops/tmpfs.ts";
import { mount } from "../../sys/mount.ts";
import { MS } from "../../sys/flags.ts";
import { inNewRoot, type StageContext } from "../context.ts";
import { makeDirs } from "../resolve.ts";

export function tmpfsData(mode: number, size?: number): string {
  return [`mode=${mode.toString(8).padStart(4, "0")}`, size ? `size=${size}` : ""].filter(Boolean).join(",");
}

export function applyTmpfs(op: TmpfsOp, ctx: StageContext): void {
  const dst = inNewRoot(ctx, op.dst);
  makeDirs(ctx.newroot, dst.slice(ctx.newroot.length), 0o755);
  mount("tmpfs", dst, "tmpfs", 0, tmpfsData(tmpfsMode(op), op.size));
  if (op.readonly) mount(null, dst, null, MS.REMOUNT | MS.BIND | MS.RDONLY);
}
