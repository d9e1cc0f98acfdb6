import type { ProcOp } from "../../plan/types.ts";
import { joinPath } from "../../plan/paths.ts";
import { mount } from "../../sys/mount.ts";
import { MS } from "../../sys/flags.ts";
import { dirIn, using, type StageContext } from "../context.ts";
import { bindTree, pathOf } from "../mounts.ts";

export function applyProc(op: ProcOp, ctx: StageContext): void {
  using(dirIn(ctx, op.dst), (dir) => {
    // A fresh procfs shows only the sandbox's processes, which needs a PID namespace; without
    // one the host's /proc (with its submounts) is the right view.
    if (ctx.pidns) mount("proc", pathOf(dir, ctx.procFd), "proc", MS.NOSUID | MS.NODEV | MS.NOEXEC);
    else bindTree(joinPath(ctx.oldroot, "proc"), dir, { mountinfo: ctx.mountinfo, procFd: ctx.procFd });
  });
}
