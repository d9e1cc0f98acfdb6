import type { TmpfsOp } from "../../plan/types.ts";
import { tmpfsMode } from "../../plan/ops/tmpfs.ts";
import { mount } from "../../sys/mount.ts";
import { MS } from "../../sys/flags.ts";
import { dirIn, using, type StageContext } from "../context.ts";
import { pathOf } from "../mounts.ts";

export function tmpfsData(mode: number, size?: number): string {
  return [`mode=${mode.toString(8).padStart(4, "0")}`, size ? `size=${size}` : ""].filter(Boolean).join(",");
}

export function applyTmpfs(op: TmpfsOp, ctx: StageContext): void {
  using(dirIn(ctx, op.dst), (dir) => {
    // The mount lands on the directory the fd names (through its /proc magic link), not on a path walked again.
    mount("tmpfs", pathOf(dir, ctx.procFd), "tmpfs", 0, tmpfsData(tmpfsMode(op), op.size));
  });
  if (op.readonly) using(dirIn(ctx, op.dst), (top) => mount(null, pathOf(top, ctx.procFd), null, MS.REMOUNT | MS.BIND | MS.RDONLY));
}
