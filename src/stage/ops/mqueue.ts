import type { MqueueOp } from "../../plan/types.ts";
import { mount } from "../../sys/mount.ts";
import { MS } from "../../sys/flags.ts";
import { dirIn, using, type StageContext } from "../context.ts";
import { pathOf } from "../mounts.ts";

export function applyMqueue(op: MqueueOp, ctx: StageContext): void {
  // The mqueue filesystem shows the queues of the mounting process's IPC namespace: without a
  // private one it would show (and let the command create) the host's queues.
  if (!ctx.ipcns) throw new Error("a private mqueue needs an IPC namespace; add --unshare-ipc");
  using(dirIn(ctx, op.dst), (dir) => mount("mqueue", pathOf(dir, ctx.procFd), "mqueue", MS.NOSUID | MS.NODEV | MS.NOEXEC));
}
