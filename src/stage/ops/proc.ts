import type { ProcOp } from "../../plan/types.ts";
import { joinPath } from "../../plan/paths.ts";
import { mount } from "../../sys/mount.ts";
import { MS } from "../../sys/flags.ts";
import { inNewRoot, type StageContext } from "../context.ts";
import { bindTree } from "../mounts.ts";
import { makeDirs } from "../resolve.ts";

export function applyProc(op: ProcOp, ctx: StageContext): void {
  const dst = inNewRoot(ctx, op.dst);
  makeDirs(ctx.newroot, dst.slice(ctx.newroot.length), 0o755);
  // A fresh procfs shows only the sandbox's processes, which needs a PID namespace; without
  // one the host's /proc (with its submounts) is the right view.
  if (ctx.pidns) mount("proc", dst, "proc", MS.NOSUID | MS.NODEV | MS.NOEXEC);
  else bindTree(joinPath(ctx.oldroot, "proc"), dst, { mountinfo: ctx.mountinfo });
}
